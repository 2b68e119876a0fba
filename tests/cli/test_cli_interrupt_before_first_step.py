"""Ctrl-C after ``baton run`` recorded the run but before any step began names that run.

The message said only "interrupted before the run started a step; `baton runs list` shows
whether it was created": a run held up before its first step (its first runtime check
waiting on a slow policy engine, say) left the user to find its id in a list.
"""

from __future__ import annotations

import json

from executor.runner import Runner


def test_ctrl_c_before_the_first_step_names_the_recorded_run(cli, plan_id, monkeypatch):
    approved = cli("--as", "bob", "approve", plan_id)
    assert approved.returncode == 0, approved.stderr

    def interrupted(self, run_id, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "run_sync", interrupted)
    ran = cli("--as", "alice", "run", plan_id)
    [run] = json.loads(cli("--as", "alice", "runs", "list", "--json").stdout)
    assert ran.returncode == 130, ran.stderr
    assert ran.stderr.strip().splitlines()[-1] == (
        f"interrupted: run {run['id']} left as it was; finish it with `baton resume {run['id']}`")
    # No step began: every step is as the run was recorded, for ``baton resume`` (once this
    # process, the run's owner, is gone) to start.
    shown = json.loads(cli("--as", "alice", "runs", "show", run["id"], "--json").stdout)
    assert [step["attempts"] for step in shown["steps"]] == [0, 0]


def test_ctrl_c_while_the_run_is_recorded_says_it_may_not_exist(cli, plan_id, monkeypatch):
    cli("--as", "bob", "approve", plan_id)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "create_run", interrupted)
    ran = cli("--as", "alice", "run", plan_id)
    assert ran.returncode == 130
    assert "interrupted before the run was recorded; `baton runs list` shows" in ran.stderr
