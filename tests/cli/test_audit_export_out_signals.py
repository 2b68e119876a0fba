"""SIGTERM or SIGHUP during ``baton audit export --out FILE`` ends it as Ctrl-C does.

Found by review: a SIGTERM mid-export left the partial export (a hidden ``.FILE.XXXX.tmp``, 41
MB for a 200k-event ledger) beside FILE, since nothing ran the cleanup Ctrl-C runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

# The real command, whose export stops once the ledger is written into the temporary file,
# says so on stdout and waits there: the signal comes mid-export, whatever the machine's speed.
STALLED_EXPORT = """
import os, signal, sys, time
import baton.usecases.ledger as ledger
from baton.cli.main import main

if os.environ.get("IGNORE_SIGHUP"):  # as under nohup
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
written = ledger.export_events

def stalled(services, handle, *args, **kwargs):
    count = written(services, handle, *args, **kwargs)
    handle.flush()
    print("staged", flush=True)
    time.sleep(60)
    return count

ledger.export_events = stalled
sys.exit(main(sys.argv[1:]))
"""


def _staged_files() -> list[str]:
    return [name for name in os.listdir(".") if name.startswith(".audit.jsonl.")]


def _stalled_export(**env: str) -> subprocess.Popen[str]:
    """The export, stopped with its temporary file written."""
    child = subprocess.Popen([sys.executable, "-c", STALLED_EXPORT, "audit", "export",
                              "--out", "audit.jsonl"], text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, **env})
    assert child.stdout is not None
    assert child.stdout.readline() == "staged\n", child.communicate(timeout=60)
    [staged] = _staged_files()
    assert os.path.getsize(staged) > 0
    return child


@pytest.fixture
def previous(cli, plan_id) -> str:
    """A previous export in audit.jsonl."""
    done = cli("audit", "export", "--out", "audit.jsonl")
    assert done.returncode == 0, done.stderr
    return open("audit.jsonl", encoding="utf-8").read()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_the_signal_removes_the_temporary_file_and_keeps_the_previous_export(previous, signum):
    child = _stalled_export()
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signum, (child.returncode, err)
    assert "Traceback" not in err and "exported" not in err, err
    assert _staged_files() == []
    assert open("audit.jsonl", encoding="utf-8").read() == previous


def test_a_hangup_ignored_as_under_nohup_stays_ignored(previous):
    child = _stalled_export(IGNORE_SIGHUP="1")
    child.send_signal(signal.SIGHUP)  # discarded: had it been handled, the exit would be 129
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, (child.returncode, err)
    assert _staged_files() == []


def test_the_handlers_are_the_export_s_own_and_put_back_after(cli, plan_id, monkeypatch):
    import baton.usecases.ledger as ledger

    written, during = ledger.export_events, []

    def noting(*args, **kwargs):
        during.append(signal.getsignal(signal.SIGTERM))
        return written(*args, **kwargs)

    monkeypatch.setattr(ledger, "export_events", noting)
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as in `baton` started by a shell
    try:
        done = cli("audit", "export", "--out", "audit.jsonl")
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, before)
    assert done.returncode == 0, done.stderr
    assert during and during[0] not in (signal.SIG_DFL, signal.SIG_IGN, None)


# The same command where no file may be created beside audit.jsonl, so that the finished export
# is copied over it in place; SIGTERM comes (sent by the command to itself) half-way through.
SIGNALLED_COPY = """
import os, shutil, signal, sys, tempfile
from baton.cli.main import main

here, mkstemp, copyfileobj = os.getcwd(), tempfile.mkstemp, shutil.copyfileobj

def refused_here(*args, dir=None, **kwargs):
    if dir is not None and os.path.realpath(dir) == here:
        raise PermissionError(13, "Permission denied", str(dir))
    return mkstemp(*args, dir=dir, **kwargs)

def signalled_half_way(source, target, *args):
    target.write(source.read(100))
    os.kill(os.getpid(), signal.SIGTERM)
    copyfileobj(source, target, *args)

tempfile.mkstemp, shutil.copyfileobj = refused_here, signalled_half_way
sys.exit(main(sys.argv[1:]))
"""


def test_a_signal_during_the_copy_in_place_waits_for_the_copy_to_end(previous):
    inode = os.stat("audit.jsonl").st_ino
    with open("audit.jsonl", "a", encoding="utf-8") as old:
        old.write("stale\n")
    done = subprocess.run([sys.executable, "-c", SIGNALLED_COPY, "audit", "export", "--out",
                           "audit.jsonl"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 128 + signal.SIGTERM, (done.returncode, done.stderr)
    assert open("audit.jsonl", encoding="utf-8").read() == previous  # whole, not cut short
    assert os.stat("audit.jsonl").st_ino == inode
