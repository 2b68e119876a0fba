"""``baton run`` and ``baton resume`` draw the step table only for a run that was accepted."""

from __future__ import annotations

import json


def test_a_refused_run_prints_its_error_and_no_step_table(cli, plan_id):
    for argv in (["run", "p-00000000"], ["run", plan_id], ["resume", "r-000000000000"]):
        done = cli("--as", "alice", *argv)
        assert done.returncode == 1, (argv, done.stderr)
        assert done.stdout == "", (argv, done.stdout)
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


def test_an_accepted_run_shows_its_steps_and_a_finished_one_is_not_resumed_on_screen(cli, plan_id):
    assert cli("--as", "bob", "approve", plan_id).returncode == 0
    ran = cli("--as", "alice", "run", plan_id)
    assert ran.returncode == 0, ran.stderr
    table = ran.stdout[:ran.stdout.index("run r-")]
    assert "steps" in table and "load" in table and "save" in table and "succeeded" in table
    run_id = json.loads(cli("runs", "list", "--json").stdout)[0]["id"]
    again = cli("--as", "alice", "resume", run_id)
    assert again.returncode == 1 and again.stdout == ""
    assert "nothing to resume" in again.stderr
