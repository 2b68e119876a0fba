"""Child process for takeover tests: runs a queued run and SIGKILLs itself as soon as a retry
starts waiting out its backoff (the retry is journalled, its call not made).

Usage: python -m tests.executor.backoff_kill_child DB_URL DATA_DIR ALLOWED_URL_PREFIX RUN_ID
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from executor.ledger import Ledger
from executor.store.db import make_engine
from tests.executor.runsupport import HostCheck, make_runner
from tools import ToolRegistry
from tools.builtin.http import register_http_request


async def die_in_backoff(_delay: float) -> None:
    """The runner's backoff sleep: the owner dies here, as a worker killed during the wait."""
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    """Run the queued run until a retry begins its backoff."""
    db_url, data_dir, allowed, run_id = argv
    engine = make_engine(db_url)
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    runner = make_runner(engine, registry, Path(data_dir), ledger=Ledger(engine),
                         runtime_check=HostCheck(allowed), sleep=die_in_backoff)
    runner.resume_sync(run_id)
    return 3  # the backoff was never reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
