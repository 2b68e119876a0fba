"""``baton token``: a new sign-in token for the API and web page, and the lines declaring it.

Only the token's SHA-256 goes into ``baton.toml``; the token itself is shown
once and handed to its owner.
"""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from ..settings import (
    ConfigError,
    Settings,
    hash_token,
    known_roles,
    load_settings,
    policy_data_in_force,
    role_problem,
    user_toml,
)
from ..settings_user_lookalikes import lookalike_groups, lookalike_words
from ..settings_users import user_id_problem
from .common import EXIT_USAGE, console, fail, print_json, safe_markup, state
from .main import app


@app.command("token")
def token(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="USER", help="Who the token is for.")],
    roles: Annotated[list[str] | None, typer.Option(
        "--role", help="A role: analyst, approver, auditor, admin, or one the policy data "
                       "names (approval.roles, role_tools); repeat for several. An unknown "
                       "role is refused, naming the roles known.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Make a new sign-in token for USER and print the baton.toml lines that declare it."""
    settings = _settings_if_they_load(ctx)
    problem = user_id_problem(user_id) or _lookalike_of_declared(user_id, settings)
    if problem:
        fail(problem, EXIT_USAGE)
    chosen = list(roles or ["analyst"])
    known = known_roles(policy_data_in_force(settings) if settings is not None else {})
    for role in chosen:
        problem = role_problem(role, known)
        if problem:
            fail(f"--role: {problem}", EXIT_USAGE)
    issued = secrets.token_urlsafe(24)
    digest = hash_token(issued)
    table = user_toml(user_id, chosen, [digest])
    if as_json:
        print_json({"user": user_id, "roles": chosen, "token": issued,
                    "token_sha256": digest, "toml": table})
        return
    console.print(f"token for {safe_markup(user_id)} (shown once; hand it over privately):")
    console.print(f"  {issued}", soft_wrap=True)
    console.print("add to baton.toml (for an existing user, add the hash to its token_sha256 list):")
    console.print(table, markup=False, soft_wrap=True, end="")


def _settings_if_they_load(ctx: typer.Context) -> Settings | None:
    """The settings, whose roles and users the new one's must fit; None when they do not load
    (the built-in roles are known then)."""
    try:
        return load_settings(state(ctx).config_path)
    except ConfigError:  # a token may be what mends them (a raw token pasted as its hash)
        return None


def _lookalike_of_declared(user_id: str, settings: Settings | None) -> str | None:
    """Why ``user_id`` would be refused beside a user the settings declare, if it would: the
    two differ only in case or in forms of the same letters."""
    declared = [] if settings is None else [uid for uid in settings.users if uid != user_id]
    for group in lookalike_groups([*declared, user_id]):
        return lookalike_words(group)
    return None
