"""A plan file larger than the API takes in a request is refused by every command that reads
one (``plan --file``, ``validate``, ``policy eval``, ``policy input``): exit 2, one line naming
its size and the limit, nothing stored.

``baton plan --file`` validated and stored a 60 MB plan file (30 s, 1.4 GB of memory) that the
API, which refuses bodies over ``BODY_MAX_BYTES``, would never have taken. The size is read
before the file is (the message names the whole file's size), and at most one byte past the
limit is ever read.
"""

from __future__ import annotations

import json
import os

import pytest

from baton.limits import BODY_MAX_BYTES
from planner.loading import PlanFileError, read_plan_file

COMMANDS = [("--as", "alice", "plan", "--file"), ("validate",), ("--as", "alice", "policy", "eval"),
            ("--as", "alice", "policy", "input")]


def _plan_text(size: int) -> str:
    """A valid plan document of exactly ``size`` bytes (its goal pads it)."""
    shell = {"goal": "", "steps": [{"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}
    pad = size - len(json.dumps(shell))
    return json.dumps({**shell, "goal": "g" * pad})


def _one_usage_error(done) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout[:300], done.stderr[:300])
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[2:] or c))
def test_a_plan_file_one_byte_over_the_limit_is_refused_naming_both_sizes(cli, plan_id, data_dir,
                                                                         command):
    (data_dir / "big.json").write_text(_plan_text(BODY_MAX_BYTES + 1))
    before = cli("plans", "list", "--json").stdout
    line = _one_usage_error(cli(*command, "big.json"))
    assert "'big.json'" in line and f"{BODY_MAX_BYTES + 1:,} bytes" in line, line
    assert f"{BODY_MAX_BYTES:,} bytes (1 MiB)" in line, line
    assert cli("plans", "list", "--json").stdout == before  # nothing stored


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[2:] or c))
def test_a_plan_file_at_the_limit_is_read(cli, data_dir, command):
    (data_dir / "full.json").write_text(_plan_text(BODY_MAX_BYTES))
    done = cli(*command, "full.json")
    assert done.returncode in (0, 1), done.stderr[:300]  # read and judged; never a usage error
    assert "bytes (1 MiB)" not in done.stderr


def test_the_size_named_is_the_files_own_read_before_the_file(cli, data_dir):
    huge = 60 * 2**20
    with open(data_dir / "sparse.json", "wb") as sparse:  # 60 MiB, no disk or time spent
        sparse.truncate(huge)
    line = _one_usage_error(cli("--as", "alice", "plan", "--file", "sparse.json"))
    assert f"is {huge:,} bytes" in line, line


def test_the_reader_reads_any_size_unless_given_a_limit(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("goal: g\nsteps: []\n")
    size = os.path.getsize(path)
    assert read_plan_file(path) == ({"goal": "g", "steps": []}, [])
    assert read_plan_file(path, max_bytes=size)[0] == {"goal": "g", "steps": []}
    with pytest.raises(PlanFileError, match=f"is {size} bytes.*larger than {size - 1} bytes"):
        read_plan_file(path, max_bytes=size - 1)
