"""Help texts that say who may use an option, or how a command exits, say it as the CLI does."""

from __future__ import annotations

from typing import Any

import typer.main

from baton.cli.main import app


def _command(*path: str) -> Any:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return command


def test_pre_approved_help_does_not_offer_it_to_approvers_who_may_not_add_templates():
    # template.add is the analyst's and admin's: an approver alone is refused, an admin is not.
    option = next(p for p in _command("templates", "add").params if p.name == "pre_approved")
    assert "approvers only" not in option.help
    assert "admin" in option.help and "template.add" in option.help


def test_policy_eval_help_says_a_denied_plan_exits_1():
    assert "deny exits 1" in " ".join(_command("policy", "eval").help.split())
