"""A closed stderr (``baton runs list 2>&-``) leaves the command to run as it would.

Started with descriptor 2 closed, Python's ``sys.stderr`` is None: configuring the logs
read its ``isatty`` and every command exited 1, printing and doing nothing. What would go
to stderr (a warning, an error line) is skipped; the output and the exit code are not.
A stderr that cannot be written (a full disk) is skipped the same way.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from baton.cli.main import main


def _baton(args: list[str], cwd: Path, redirect: str = "2>&-") -> subprocess.CompletedProcess:
    """``baton ARGS 2>&-`` (or another redirection of stderr)."""
    return subprocess.run(["sh", "-c", f'exec "$@" {redirect}', "sh", sys.executable, "-m",
                           "baton", *args], cwd=cwd, stdout=subprocess.PIPE, text=True,
                          timeout=120)


@pytest.fixture
def workspace(cli, plan_id, data_dir) -> Path:
    """A directory whose settings and database hold one plan waiting for approval."""
    return data_dir


def test_runs_list_with_stderr_closed_prints_its_table(workspace):
    done = _baton(["runs", "list"], workspace)
    assert done.returncode == 0
    assert "status" in done.stdout and "plan" in done.stdout


def test_plans_list_json_with_stderr_closed_prints_the_plans(workspace, plan_id):
    done = _baton(["plans", "list", "--json"], workspace)
    assert done.returncode == 0
    assert [entry["plan_id"] for entry in json.loads(done.stdout)] == [plan_id]


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full"], ids=["closed", "full"])
def test_an_error_with_stderr_unwritable_keeps_its_exit_code(workspace, redirect):
    if redirect.endswith("/dev/full") and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    done = _baton(["--as", "nobody", "plans", "list"], workspace, redirect)
    assert done.returncode == 2
    assert done.stdout == ""


def test_worker_once_with_stderr_closed_runs_the_queued_run(cli, workspace, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    queued = cli("--as", "alice", "run", plan_id, "--detach", "--json")
    assert queued.returncode == 0, queued.stderr
    run_id = json.loads(queued.stdout)["id"]
    done = _baton(["worker", "--once"], workspace)
    assert done.returncode == 0
    assert "worker ran 1 run(s)" in done.stdout
    shown = cli("runs", "show", run_id, "--json")
    assert json.loads(shown.stdout)["status"] == "succeeded"


def test_in_process_a_none_stderr_runs_the_command_and_is_put_back(workspace, capsys,
                                                                   monkeypatch):
    capsys.readouterr()
    monkeypatch.setattr(sys, "stderr", None)
    assert main(["runs", "list"]) == 0
    assert sys.stderr is None
    assert "status" in capsys.readouterr().out


def test_logging_configured_and_written_with_no_stderr_skips_the_entry(monkeypatch,
                                                                     restore_logging):
    import structlog

    from baton.logging import configure_logging

    monkeypatch.setattr(sys, "stderr", None)
    configure_logging("warning")  # read stderr's isatty: AttributeError on None
    structlog.get_logger("baton").warning("nowhere to go")
    logging.getLogger("baton.test").warning("nor this")
