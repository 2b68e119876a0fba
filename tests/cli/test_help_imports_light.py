"""``baton --help`` imports none of the heavy layers: no database, engine, model client or server.

Deriving the settings error from the executor's errors once made every ``baton --help`` (and
every command's start) import the whole executor package and SQLAlchemy with it, 0.8 s more.
Counted by the modules imported, not timed.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("executor", "sqlalchemy", "sqlmodel", "alembic", "openai", "regopy", "fastapi",
         "starlette", "uvicorn", "httpx", "structlog", "jsonschema")


def test_help_imports_no_heavy_package():
    shown = subprocess.run(
        [sys.executable, "-c", "import sys, runpy\n"
         "sys.argv = ['baton', '--help']\n"
         "try:\n    runpy.run_module('baton', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"],
        capture_output=True, text=True, timeout=120, env={"COLUMNS": "100", "PATH": "/usr/bin"})
    assert "Usage" in shown.stdout, shown.stderr
    imported = {name.split(".")[0] for name in shown.stderr.split()}
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
