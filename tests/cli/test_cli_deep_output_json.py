"""``baton run --json`` and ``runs show --json`` print a run whose step output nests as deeply
as the executor stores (254 levels): they failed with "Maximum serialization depth exceeded",
pydantic counting its own wrappers (the run, the step) among the levels."""

from __future__ import annotations

import json

from tests.api.test_deep_output_served import DEEP_PLAN, DEEPEST


def test_a_run_with_the_deepest_output_prints_as_json(cli, data_dir):
    (data_dir / "deep.json").write_text(json.dumps(DEEP_PLAN))
    planned = cli("--as", "alice", "plan", "--file", "deep.json", "--json")
    assert planned.returncode == 0, planned.stderr
    body = json.loads(planned.stdout)
    if body["status"] != "approved":
        assert cli("--as", "bob", "approve", body["plan_id"]).returncode == 0
    ran = cli("--as", "alice", "run", body["plan_id"], "--json")
    assert ran.returncode == 0, ran.stderr
    run = json.loads(ran.stdout)
    assert run["steps"][-1]["output"] == DEEPEST
    shown = cli("--as", "alice", "runs", "show", run["id"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == run
