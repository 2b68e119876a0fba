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
    hash_token,
    known_roles,
    load_settings,
    policy_data_in_force,
    role_problem,
    user_toml,
)
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
    problem = user_id_problem(user_id)
    if problem:
        fail(problem, EXIT_USAGE)
    chosen = list(roles or ["analyst"])
    known = _known_roles(ctx)
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


def _known_roles(ctx: typer.Context) -> list[str]:
    """The roles the settings would accept; the built-in ones when the settings do not load."""
    try:
        settings = load_settings(state(ctx).config_path)
    except ConfigError:  # a token may be what mends them (a raw token pasted as its hash)
        return known_roles({})
    return known_roles(policy_data_in_force(settings))
