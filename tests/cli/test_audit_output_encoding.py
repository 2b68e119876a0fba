"""What the CLI writes does not depend on the locale's encoding.

``baton audit export`` to stdout is always UTF-8 JSON lines (an export in Latin-1 is not JSON,
one cut short by an ASCII stdout is not the ledger), and the rich consoles every command
prints through replace what a narrow stdout cannot show instead of crashing.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from executor.ledger import Ledger
from executor.store.db import make_engine
from executor.store.migrate import upgrade

TEXT = "café … ✓ 日本"


@pytest.fixture
def db(tmp_path) -> str:
    """A SQLite URL whose ledger holds three events with non-ASCII text in every field shown."""
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    engine = make_engine(url)
    upgrade(engine)
    ledger = Ledger(engine)
    for i in range(3):
        ledger.append("goal", f"p-{TEXT}", f"actor {TEXT}", {"i": i, "goal": TEXT})
    engine.dispose()
    return url


def baton_bytes(args: list[str], db: str, cwd: Path,
                encoding: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "BATON_DATABASE_URL": db, "PYTHONIOENCODING": encoding}
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "utf-8"])
@pytest.mark.parametrize("fmt", ["jsonl", "cloudevents"])
def test_export_to_stdout_is_utf8_json_lines_whatever_the_locale(db, tmp_path, encoding, fmt):
    done = baton_bytes(["audit", "export", "--format", fmt], db, tmp_path, encoding)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"\r" not in done.stdout
    lines = done.stdout.decode("utf-8").splitlines()  # strict: any other encoding fails here
    assert len(lines) == 3
    for line in lines:
        record = json.loads(line)
        payload = record["payload"] if fmt == "jsonl" else record["data"]["payload"]
        assert payload["goal"] == TEXT
    assert b"exported 3 events" in done.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_show_on_a_narrow_stdout_prints_what_it_can_instead_of_crashing(db, tmp_path, encoding):
    done = baton_bytes(["audit", "show", "--limit", "2"], db, tmp_path, encoding)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in done.stderr
    shown = done.stdout.decode(encoding)
    assert "2 events" in shown and "p-caf" in shown


def test_the_shared_consoles_replace_what_the_stream_cannot_encode(monkeypatch):
    from baton.cli.common import console, err_console

    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="ascii")
    err = io.TextIOWrapper(err_bytes, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    console.print(f"goal: {TEXT}", soft_wrap=True)
    err_console.print(f"error: {TEXT}", soft_wrap=True)
    out.flush()
    err.flush()
    assert out_bytes.getvalue().decode("ascii").startswith("goal: caf")
    assert err_bytes.getvalue().decode("ascii").startswith("error: caf")
