"""``python -m bench.bench_policy`` prints JSON on stdout: its log lines go to stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The real main, with the figures cut down to one decision on the OPA backend, which logs
# "policy.opa_loaded" when it pushes the bundle (the line that used to open stdout).
SCRIPT = """
import sys
from datetime import UTC, datetime

import bench.bench_policy as bp
from evals.policies import policy_registry
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext
from policies.inputs import build_policy_input
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa


def one_decision(repeat):
    with FakeOpa() as server:
        engine = OpaEngine(PolicyBundle.load(), server.url, timeout_s=30.0)
        doc = build_policy_input(bp.make_plan(3), policy_registry(), requester=bp.REQUESTER,
                                 context=PolicyContext(now=datetime.now(UTC)))
        return {"repeat": repeat, "allow": engine.decide(doc).allow}


bp.run = one_decision
sys.exit(bp.main(["--repeat", "1"]))
"""


def test_stdout_is_only_the_json_and_the_log_line_is_on_stderr():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["repeat"] == 1
    assert "policy.opa_loaded" in done.stderr
