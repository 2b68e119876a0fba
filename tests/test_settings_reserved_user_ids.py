"""No user may take the id Baton records its own ledger events under ('policy', 'executor'...).

``[users.policy] roles = ["approver"]`` was accepted: the ledger then showed ``approval actor =
policy`` beside the engine's ``decision actor = policy``, and an auditor could not tell the
person from the engine. Such ids, and their case and letter-form variants, are refused by the
settings and by ``baton token`` (exit 2), naming the id and why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli import app
from baton.settings import ConfigError, User, load_settings, user_toml
from executor.ledger import SystemActor

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("uid", ["policy", "executor", "gate", "planner", "Policy", "GATE",
                                 "\uff50\uff4f\uff4c\uff49\uff43\uff59"])  # fullwidth
def test_a_system_actor_name_is_refused_as_a_user_id_naming_it_and_why(tmp_path, uid):
    path = tmp_path / "baton.toml"
    path.write_text(user_toml("alice", ["analyst"], []) + user_toml(uid, ["approver"], []),
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = " ".join(caught.value.message.split())
    assert f"the user id {uid!r}" in message and "ledger" in message, message
    assert "another id" in message, message
    with pytest.raises(ValueError, match="user_id"):  # settings made in code too
        User(id=uid, roles=("approver",))


def test_ids_that_only_contain_a_system_actor_name_are_allowed(tmp_path):
    path = tmp_path / "baton.toml"
    uids = ["policy-team", "gatekeeper", "executor2", "planner.bob"]
    path.write_text("".join(user_toml(uid, ["approver"], []) for uid in uids), encoding="utf-8")
    assert list(load_settings(path, environ={}).users) == uids


@pytest.mark.parametrize("uid", ["policy", "Executor"])
def test_token_refuses_a_system_actor_name(data_dir, uid):
    result = CliRunner().invoke(app, ["token", uid, "--role", "approver", "--json"])
    assert result.exit_code == 2 and "token_sha256" not in result.output, result.output
    assert f"the user id {uid!r}" in " ".join(result.output.split()), result.output


def _recorded_actor_literals() -> set[str]:
    """Every string the code hands the ledger as an actor: the third argument of a ledger
    append or hot-path event, an ``actor`` parameter's default, a ``*ACTOR`` constant."""
    found: set[str] = set()
    for source in [*ROOT.glob("baton/**/*.py"), *ROOT.glob("executor/**/*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("append", "event", "link") and len(node.args) >= 3:
                found.update(_text(node.args[2]))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                named = [*args.args[len(args.args) - len(args.defaults):], *args.kwonlyargs]
                defaults = [*args.defaults, *args.kw_defaults]
                found.update(text for arg, default in zip(named, defaults)
                             if arg.arg == "actor" and default is not None
                             for text in _text(default))
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id.endswith("ACTOR") for t in node.targets):
                found.update(_text(node.value))
    return found


def _text(node: ast.AST) -> list[str]:
    """The actor ``node`` writes: a string literal, or ``SystemActor.NAME.value``."""
    if isinstance(node, ast.Attribute) and node.attr == "value" \
            and isinstance(node.value, ast.Attribute) \
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "SystemActor":
        return [SystemActor[node.value.attr].value]
    return [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else []


def test_every_actor_the_code_records_itself_is_reserved():
    recorded = _recorded_actor_literals()
    assert {"policy", "executor", "gate"} <= recorded, recorded  # the scan finds them
    assert recorded <= {actor.value for actor in SystemActor}, recorded
