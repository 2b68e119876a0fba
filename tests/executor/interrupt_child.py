"""Child process for Ctrl-C tests: a worker runs one queued run whose async tool spins or sleeps.

Usage: python -m tests.executor.interrupt_child DB_URL DATA_DIR READY_FILE MODE

The tool writes READY_FILE once it runs, then spins in Python code (``spin``: the
signal lands inside the tool's own frame) or awaits a long sleep (``sleep``:
it lands in the event loop); the parent then sends SIGINT.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from executor.ledger import Ledger
from executor.store.db import make_engine
from tests.executor.runsupport import make_runner
from tools import ToolRegistry


def main(argv: list[str]) -> int:
    """Run the queued run as a worker; a Ctrl-C must stop this process."""
    db_url, data_dir, ready_file, mode = argv
    registry = ToolRegistry()

    @registry.tool("x.busy", timeout_s=60)
    async def busy() -> int:
        """Spin or sleep until interrupted."""
        Path(ready_file).write_text("ready")
        if mode == "sleep":
            await asyncio.sleep(60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pass
        return 0

    engine = make_engine(db_url)
    runner = make_runner(engine, registry, Path(data_dir), ledger=Ledger(engine))
    runner.worker(once=True)
    print("worker returned", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
