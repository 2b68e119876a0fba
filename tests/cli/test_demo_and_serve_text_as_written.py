"""``baton demo`` and ``baton serve`` print paths, ids, names and the host as written.

Put into rich markup as they were, a workspace ``--dir /tmp/a[b]c`` printed as ``/tmp/ac``
(``[b]`` read as bold) and ``/tmp/x[/y]`` stopped the demo with a MarkupError traceback
after the workspace was made; ``serve --host fd00::5`` announced ``http://:8080/`` (the
bracketed IPv6 address read as a style).
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
import uvicorn

from baton.cli import common, serve_cmd
from baton.cli.demo_cmd import ConsoleReporter
from baton.settings import User
from executor.ledger import LedgerEvent, VerifyResult
from tests.support.cli_in_process import in_process_baton

@pytest.fixture
def baton(data_dir, capsys, monkeypatch):
    # Wide enough that no line folds: where a fold fell (at the space before "(settings")
    # depended on the length of pytest's temporary path. The console is made at import (an
    # earlier test's), so COLUMNS would come too late: its width is set as rich keeps it.
    monkeypatch.setattr(common.console, "_width", 1000)
    with in_process_baton(capsys) as run:
        yield run


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_demo_prints_a_bracketed_workspace_path_as_written(baton, data_dir):
    root = data_dir / "w[b]x[/y]"
    done = baton("demo", "--dir", str(root))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert f"Baton demo in {root} (settings: baton.toml;" in out
    assert f"cd {root}\n" in out
    assert f"baton --config {root / 'baton.toml'} serve" in out
    assert "Demo complete. Plan p-" in _flat(out)


def test_the_demo_ledger_table_and_actor_lines_print_bracketed_text_as_written(capsys):
    event = LedgerEvent(seq=1, at=datetime.now(UTC), kind="k[b]x", subject="s[/y]",
                        actor="ops[eu]", payload={}, prev_hash="0" * 64, hash="a" * 64)
    reporter = ConsoleReporter()
    reporter.ledger([event], VerifyResult(ok=True, events=1))
    reporter.say(User(id="al[/i]", roles=("analyst[eu]",)), "plans")
    out = capsys.readouterr().out
    for text in ("k[b]x", "s[/y]", "ops[eu]", "al[/i] (analyst[eu]) plans"):
        assert text in out, out


def test_serve_announces_a_host_that_reads_like_markup_as_written(data_dir, capsys,
                                                                  monkeypatch):
    (data_dir / "baton.toml").write_text('[users.alice]\nroles = ["analyst"]\n')
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    monkeypatch.setattr(serve_cmd, "listening_sockets", lambda host, port: [listener])
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    try:
        with in_process_baton(capsys) as run:
            done = run("serve", "--host", "fd00::5", "--port", "0")
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr
    assert "Baton on http://[fd00::5]:" in done.stdout, done.stdout
