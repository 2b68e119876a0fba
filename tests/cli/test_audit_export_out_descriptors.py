"""``baton audit export --out /dev/stdout`` writes the descriptor it names, as it is.

Found by review: the target was judged by the file it resolved to, so ``--out /dev/stdout
>> app.log`` replaced app.log (its earlier lines gone) through a temporary file, and
``--out /dev/stdout | wc -l`` failed: "cannot write /dev/stdout: No such file or directory".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.gate_services import database_url

EARLIER = "earlier log line\n"
DATABASE = ".baton/baton.db"


def _baton(*args: str, **streams) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", *args], text=True, timeout=120,
                          **streams)


def _exported_seqs(text: str) -> list[int]:
    return [json.loads(line)["seq"] for line in text.splitlines()]


def _events(cli) -> int:
    verified = cli("audit", "verify", "--json")
    assert verified.returncode == 0, verified.stderr
    return json.loads(verified.stdout)["events"]


@pytest.mark.parametrize("named", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "link"])
def test_stdout_appended_to_keeps_what_the_file_held(cli, plan_id, named):
    os.symlink("/dev/stdout", "link")
    with open("app.log", "w", encoding="utf-8") as log:
        log.write(EARLIER)
    with open("app.log", "a", encoding="utf-8") as log:  # as the shell opens `>> app.log`
        done = _baton("audit", "export", "--out", named, stdout=log, stderr=subprocess.PIPE)
    assert done.returncode == 0, done.stderr
    text = open("app.log", encoding="utf-8").read()
    assert text.startswith(EARLIER), text[:200]
    seqs = _exported_seqs(text.removeprefix(EARLIER))
    assert seqs == list(range(1, _events(cli) + 1))
    assert f"exported {len(seqs)} events" in done.stderr


def test_a_descriptor_other_than_stdout_is_written_as_it_is(cli, plan_id):
    with open("app.log", "w", encoding="utf-8") as log:
        log.write(EARLIER)
    with open("app.log", "a", encoding="utf-8") as log:
        done = _baton("audit", "export", "--out", f"/dev/fd/{log.fileno()}",
                      pass_fds=(log.fileno(),), capture_output=True)
    assert done.returncode == 0, done.stderr
    text = open("app.log", encoding="utf-8").read()
    assert text.startswith(EARLIER) and _exported_seqs(text.removeprefix(EARLIER))
    assert done.stdout == ""


def test_another_process_s_descriptor_is_appended_to(cli, plan_id):
    with open("app.log", "w", encoding="utf-8") as log:
        log.write(EARLIER)
    with open("app.log", "a", encoding="utf-8") as log:  # this test's, not the command's
        done = _baton("audit", "export", "--out", f"/proc/{os.getpid()}/fd/{log.fileno()}",
                      capture_output=True)
    assert done.returncode == 0, done.stderr
    text = open("app.log", encoding="utf-8").read()
    assert text.startswith(EARLIER) and _exported_seqs(text.removeprefix(EARLIER))


@pytest.mark.parametrize("named", ["/dev/stdout", "/proc/self/fd/1"])
def test_stdout_that_is_a_pipe_is_written(cli, plan_id, named):
    done = _baton("audit", "export", "--out", named, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert _exported_seqs(done.stdout) == list(range(1, _events(cli) + 1))


def test_stderr_gets_the_export_then_the_count(cli, plan_id):
    done = _baton("audit", "export", "--out", "/dev/stderr", capture_output=True)
    assert done.returncode == 0, done.stderr
    *lines, count = done.stderr.splitlines()
    assert _exported_seqs("\n".join(lines)) == list(range(1, _events(cli) + 1))
    assert count == f"exported {len(lines)} events (jsonl)"


def test_stdout_that_is_the_database_is_still_refused(cli, plan_id):
    before = _events(cli)
    size = os.path.getsize(DATABASE)
    with open(DATABASE, "a", encoding="utf-8") as database:
        done = _baton("audit", "export", "--out", "/dev/stdout", stdout=database,
                      stderr=subprocess.PIPE)
    assert done.returncode == 2 and "database" in done.stderr, done.stderr
    assert os.path.getsize(DATABASE) == size
    assert _events(cli) == before


def test_a_regular_file_is_still_replaced_whole_not_written_in_place(cli, plan_id):
    with open("audit.jsonl", "w", encoding="utf-8") as old:
        old.write("stale\n")
    with open("audit.jsonl", encoding="utf-8") as reader:  # a reader of the previous export
        done = cli("audit", "export", "--out", "audit.jsonl")
        assert done.returncode == 0, done.stderr
        assert reader.read() == "stale\n"  # it keeps reading the file that was replaced
    assert _exported_seqs(open("audit.jsonl", encoding="utf-8").read())


@pytest.mark.postgres
def test_a_descriptor_baton_was_not_given_is_refused(cli, plan_id, tmp_path):
    # Baton's own descriptors (a PostgreSQL connection's socket) are not an export's target:
    # written, the export went into the database connection, and was reported done.
    with database_url("postgres", tmp_path) as url:
        env = {**os.environ, "BATON_DATABASE_URL": url}
        assert _baton("--as", "alice", "plan", "--file", "write.json", env=env,
                      capture_output=True).returncode == 0  # a ledger to export
        done = _baton("audit", "export", "--out", "/dev/fd/3", capture_output=True, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "names descriptor 3, which baton was not given" in done.stderr
    assert done.stdout == ""
