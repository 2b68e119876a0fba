"""Child process for crash tests: claims a queued run and runs it (BATON_CRASH_AT kills it midway).

Usage: python -m tests.executor.crash_child DB_URL DATA_DIR ALLOWED_URL_PREFIX RUN_ID
"""

from __future__ import annotations

import sys
from pathlib import Path

from executor.ledger import Ledger
from executor.store.db import make_engine
from tests.executor.runsupport import HostCheck, make_runner
from tools import ToolRegistry
from tools.builtin.http import register_http_request


def main(argv: list[str]) -> int:
    """Run one queued run; exit 0 when it succeeded."""
    db_url, data_dir, allowed, run_id = argv
    engine = make_engine(db_url)
    registry = ToolRegistry()
    register_http_request(registry, max_response_bytes=1 << 20)
    runner = make_runner(engine, registry, Path(data_dir), ledger=Ledger(engine),
                         runtime_check=HostCheck(allowed))
    record = runner.resume_sync(run_id)
    return 0 if record.status.value == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
