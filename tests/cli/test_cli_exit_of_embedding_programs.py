"""A program that imports Baton's ``main`` and calls it keeps its own threads and exit code.

The exit's watchdog was armed after every command whenever any thread ran: a script calling
``main(["runs", "list"])`` while its own export thread ran had that thread cut short after a
second and its ``sys.exit(7)`` replaced by the command's code. Now only the commands that run
tools arm it, and threads running before ``main`` was first called are the program's own,
waited for in full. Real processes, each given a deadline far below the tool threads' ten
minutes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli.test_cli_exit_paths_with_tool_threads import TOOL, left_running, spawn
from tests.cli.test_cli_lingering_tool_threads import approved_plan
from tests.tools.test_registry import make_distribution

# Run as __main__ (as the reviewer's wrapper was): Baton's main is __main__.main here.
EMBEDDING = '''
import sys, threading, time
from baton.cli import main

returned = threading.Event()

def export():  # the program's own non-daemon work, lasting past the exit's grace
    returned.wait()
    time.sleep(2.5)
    open("export.done", "w").write("ok")

threading.Thread(target=export, name="my-export").start()
code = main({argv!r})
returned.set()
print("baton said", code, file=sys.stderr)
sys.exit(7)
'''


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site directory holding an installed package shipping the tools of the exit tests."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    module = make_distribution(root, "crm", TOOL)
    yield root
    sys.modules.pop(module, None)


def embed(data_dir: Path, site: Path, *argv: str) -> tuple[int, str]:
    (data_dir / "program.py").write_text(EMBEDDING.format(argv=["--as", "alice", *argv]))
    code, _, err = spawn(data_dir, site, "program.py")
    return code, err


def test_a_program_keeps_its_thread_and_exit_code_after_a_command_that_runs_no_tool(
        cli, data_dir, site):
    # Exit 1, its export killed a second after main returned.
    assert cli("--as", "alice", "plan", "--file", "write.json").returncode == 0
    code, err = embed(data_dir, site, "runs", "list", "--json")

    assert code == 7, err
    assert "baton said 0" in err, err
    assert (data_dir / "export.done").read_text() == "ok"
    assert left_running(err) == [], err


def test_a_program_keeps_its_thread_and_exit_code_after_a_run_whose_tools_left_none(
        cli, data_dir, site):
    plan_id = approved_plan(cli, data_dir, [
        {"id": "one", "tool": "files.list", "args": {"path": "."}}])

    code, err = embed(data_dir, site, "run", plan_id, "--json")

    assert code == 7, err
    assert "baton said 0" in err, err
    assert (data_dir / "export.done").read_text() == "ok"
    assert left_running(err) == [], err


def test_a_programs_own_thread_ends_before_a_tools_thread_is_cut_short(cli, data_dir, site):
    plan_id = approved_plan(cli, data_dir, [{"id": "one", "tool": "crm.poll", "args": {}}])

    code, err = embed(data_dir, site, "run", plan_id, "--json")

    assert code == 0, err  # the run's: the program's code cannot be read by the watchdog
    assert (data_dir / "export.done").read_text() == "ok"
    assert left_running(err) == ["'crm-poller: 1'"], err
