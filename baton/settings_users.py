"""The users table of the settings: how a user and its tokens are declared, and the checks
of that table.

``load_settings`` refuses a ``[users.ID]`` entry that is not a table, gives an ``id`` of
its own or has an ID too long to record (before the environment merges in), a
``token_sha256`` entry that is not a SHA-256, a role no one defines, a token hash two
users share and ids that could pass for each other or for Baton's own ledger actors
('policy', 'executor'...: ``settings_user_lookalikes``).
``baton token`` writes the lines these read (:func:`user_toml`).
:func:`role_table_in_force` is the role → action table those roles act by: the built-in
one, with the roles the policy data in force adds.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tools.value_kinds import kind_in_words

from .settings_sections import first_control_character
from .settings_user_lookalikes import lookalike_groups, lookalike_problem, lookalike_words

if TYPE_CHECKING:
    from .settings import Settings
    from .usecases.permissions import RoleTable


#: The longest user id, in characters: the width of the database columns that record who
#: acted (``plans.requester``, ``ledger.actor``... in ``executor/store/schema.py``).
MAX_USER_ID_CHARS = 200


def token_hash_problem(digest: str) -> str | None:
    """Why ``digest`` is not a token's SHA-256 as ``token_sha256`` holds it, if it is not."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        return None
    if re.fullmatch(r"[0-9a-fA-F]{64}", digest.strip()):
        return "remove the spaces around the hash"
    if re.fullmatch(r"[0-9a-fA-F]+", digest):
        return f"{len(digest)} hex digits; a SHA-256 has 64"
    return ("not a SHA-256 (64 hex digits); this looks like a raw token: put its SHA-256 "
            "here, `baton token` prints it")


def hash_token(token: str) -> str:
    """How API tokens are stored: SHA-256 hex of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_toml(user_id: str, roles: Iterable[str], token_sha256s: Iterable[str]) -> str:
    """The ``[users.ID]`` table of ``baton.toml`` declaring a user, its roles and token hashes."""
    return (f"[users.{toml_key(user_id)}]\nroles = {json.dumps(list(roles))}\n"
            f"token_sha256 = {json.dumps(list(token_sha256s))}\n")


def toml_key(key: str) -> str:
    """``key`` as written in TOML: bare when it can be, else quoted."""
    # JSON strings of plain text are valid TOML basic strings.
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def user_id_problem(uid: str) -> str | None:
    """Why ``uid`` cannot be a user id, if it cannot: empty (no one can act as it: ``--as ""``
    is no user), blank or holding a control character (the file would hide it: most likely a
    line break pasted with the name), longer than ``MAX_USER_ID_CHARS``, or reading as
    another id (a space at an end, a letter of another script) or as one of Baton's own ledger
    actors ('policy', 'Gate': ``settings_user_lookalikes``)."""
    if not uid:
        return "the user id is empty; give the name the person acts as (--as USER)"
    if not uid.strip():
        return ("the user id is blank; give the name the person acts as (--as USER), not "
                "spaces no one would see in baton.toml")
    control = first_control_character(uid)
    if control is not None:
        return (f"the user id {uid!r} holds a control character (U+{ord(control):04X}); "
                "give the name without it")
    if len(uid) > MAX_USER_ID_CHARS:
        # Else it is accepted here and every command that records as it fails (PostgreSQL).
        return (f"a user id may be at most {MAX_USER_ID_CHARS} characters, the most the "
                f"database records of who acted; this one has {len(uid)}: shorten it")
    return lookalike_problem(uid)


def user_layout_problem(uid: str, spec: Any) -> tuple[str, str] | None:
    """Why the ``[users.UID]`` entry cannot declare user ``uid``, if it cannot."""
    if problem := user_id_problem(uid):
        # Named by its start: the whole id would swamp the message.
        return f"users.{toml_key(uid[:40])}…", problem
    table = f"[users.{toml_key(uid)}]"
    if not isinstance(spec, dict):
        words = [spec] if isinstance(spec, str) else spec
        if isinstance(words, list) and all(isinstance(word, str) for word in words):
            roles = json.dumps(words)  # what a value beside the name most likely meant
        else:
            roles = '["analyst"]'
        return (f"users.{uid}", f"must be a table, not {kind_in_words(spec)}; write {table} with "
                                f"roles = {roles}")
    if "id" in spec:
        return (f"users.{uid}", f"a user's id is the name of its table ({table}); remove "
                                f"id = {spec['id']!r}")
    return None


def user_problems(settings: Settings, policy_data: Mapping[str, Any] | None = None,
                  ) -> list[tuple[str, str]]:
    """(setting, problem) for each role no one defines, each token hash two users share and
    each set of users whose ids differ only in case or in forms of the same letters
    (``policy_data``: the data in force, when the caller has worked it out already)."""
    known = known_roles(policy_data_in_force(settings) if policy_data is None else policy_data)
    problems: list[tuple[str, str]] = []
    holders: dict[str, list[str]] = {}
    for uid, user in settings.users.items():
        problems.extend((f"users.{uid}.roles", problem)
                        for role in user.roles if (problem := role_problem(role, known)))
        for digest in dict.fromkeys(user.token_sha256):
            holders.setdefault(digest, []).append(uid)
    for uids in holders.values():
        if len(uids) > 1:  # the token would act as whichever user is declared first
            problems.append((", ".join(f"users.{uid}.token_sha256" for uid in uids),
                             f"one token hash is declared for {' and '.join(uids)}; give each "
                             "person their own token (`baton token USER`)"))
    problems.extend((", ".join(f"users.{toml_key(uid)}" for uid in group), lookalike_words(group))
                    for group in lookalike_groups(settings.users))
    return problems


def role_problem(role: str, known: list[str]) -> str | None:
    """Why ``role`` is not one of the ``known`` roles, if it is not."""
    if role in known:
        return None
    near = difflib.get_close_matches(role, known, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown role {role!r} ({hint}known roles: {', '.join(known)})"


def known_roles(policy_data: Mapping[str, Any]) -> list[str]:
    """The roles a user may hold, sorted: those of the role → action table, and any role the
    policy data gives tools (``role_tools``) or approval rights (``approval.roles``)."""
    from .usecases.permissions import role_table  # it imports baton.settings

    return role_table(policy_data).roles


def builtin_role_warnings(policy_data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(role, why) for each built-in role that cannot approve named in ``approval.roles``.

    The built-in roles keep their row of the role table whatever the data says (by design:
    the shipped data gives the approver tools), so such a role is asked for by the policy
    decision and refused ``plan.approve`` by the table: plans wait at the gate for it.
    Not an error: a user holding another approving role may still approve.
    """
    from .usecases.permissions import ROLE_ACTIONS, Action

    approval = policy_data.get("approval")
    named = approval.get("roles") if isinstance(approval, Mapping) else None
    if not isinstance(named, list):
        return []
    return [(role, f"approval.roles names the built-in role {role!r}, which cannot approve: "
                   "a built-in role's actions are fixed, whatever the policy data says; give "
                   "its approvers the approver role or a role of their own named in "
                   "approval.roles")
            for role in dict.fromkeys(named)
            if isinstance(role, str) and role in ROLE_ACTIONS
            and Action.PLAN_APPROVE not in ROLE_ACTIONS[role]]


def role_table_in_force(settings: Settings) -> RoleTable:
    """The role → action table of ``settings``: the built-in roles and those the policy data
    in force names. It may read a ``policies_dir``'s data file: work it out once per settings
    loaded, not per request."""
    from .usecases.permissions import role_table

    return role_table(policy_data_in_force(settings))


def policy_data_in_force(settings: Settings) -> Mapping[str, Any]:
    """The policy data the engine will read, as far as it names roles.

    The shipped data names only built-in roles, so only a ``policies_dir`` of one's own has
    its data file read here.
    """
    if settings.policies_dir is None:
        return settings.policy_data
    from policies.bundle import PolicyBundle, PolicyBundleError

    try:
        return PolicyBundle.load(settings.policies_dir, overrides=settings.policy_data).data
    except PolicyBundleError:  # reported by check_settings, or when the engine loads it
        return settings.policy_data
