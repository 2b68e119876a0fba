"""The document the policies judge a stored version on, and its hash.

Built for a decision and built again, as of that decision's time, whenever the decision is
checked (``deciding.decide_again``, ``deciding.stale_decision``): a decision rests on the
policy bundle and on this input alone, compared by :func:`input_hash`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from planner.plan import canonical_json
from planner.versions import StoredVersion
from policies.contracts import PolicyContext, Requester, TemplateCheck
from policies.inputs import build_policy_input
from tools import BatonError
from tools.redaction import redact

from ..services import Services
from .permissions import ROLE_ACTIONS


def requester_of(services: Services, user_id: str) -> Requester:
    """The requester with roles from settings; an undeclared user has no roles (policy denies)."""
    user = services.settings.users.get(user_id)
    return Requester(id=user_id, roles=user.roles if user else ())


def template_check(services: Services, version: StoredVersion) -> TemplateCheck | None:
    """Whether a template-made version is a standard change: pre-approved as the ledger
    records it (saved so by ``templates add``, its file unchanged since) by someone who may
    still pre-approve, in bounds, unaltered.

    The file's own ``approved_by`` is never passed on: the check names whoever the ledger says
    saved it pre-approved, and says in ``pre_approval_problems`` why a pre-approval the file
    claims does not count (``templates.pre_approval_standing``). So editing the file changes
    the check, and a decision taken on it is decided again (``deciding.decide_again``).
    """
    if version.origin is None:
        return None
    from planner.templates import TemplateError, bounds_check, instantiate

    from .templates import pre_approval_standing

    origin = version.origin
    library = services.template_library  # once: each use stats the templates directory
    try:
        template = library.get(origin.name, origin.version)
    except TemplateError as exc:
        return TemplateCheck(pre_approved=False, within_bounds=False, bound_problems=(exc.message,))
    problems = list(bounds_check(template, dict(origin.params)))
    if not problems:
        try:
            expected = instantiate(template, dict(origin.params), goal=version.plan.goal)
            if expected.to_wire()["steps"] != version.plan.to_wire()["steps"]:
                problems.append("the plan's steps differ from what the template makes")
        except TemplateError as exc:
            problems.append(exc.message)
    standing = pre_approval_standing(services, library, template)
    return TemplateCheck(pre_approved=template.pre_approved, approved_by=standing.approved_by,
                         within_bounds=not problems, bound_problems=tuple(problems),
                         pre_approval_problems=standing.problems)


def pre_approval_problems(services: Services, approved_by: str | None) -> tuple[str, ...]:
    """Why a pre-approval by ``approved_by`` no longer counts (empty: it does, or there is none).

    It counts only while its giver could give it now (the rule ``templates add --pre-approved``
    enforces): a declared user holding a role that may pre-approve, by settings now. Like an
    approval whose approver lost the role, it stops counting (fail closed); part of the
    template check, so a decision taken on it is decided again (``deciding.decide_again``).
    """
    if not approved_by:
        return ()
    from .templates import PRE_APPROVING_ROLES  # as planner.templates above: when needed

    needed = " or ".join(r for r in ROLE_ACTIONS if r in PRE_APPROVING_ROLES)
    user = services.settings.users.get(approved_by)
    if user is None:
        return (f"{approved_by} is no longer a declared user (pre-approving needs role "
                f"{needed})",)
    if not PRE_APPROVING_ROLES & set(user.roles):
        return (f"{approved_by} no longer has role {needed}",)
    return ()


def template_check_hash(check: TemplateCheck | None) -> str | None:
    """SHA-256 (hex) of a template check's canonical JSON; None for a version made otherwise.

    Shown in DECISION events beside the check; what a decision rests on is compared by
    :func:`input_hash`, which covers the check with the rest of the policy input.
    """
    if check is None:
        return None
    return hashlib.sha256(canonical_json(check.model_dump(mode="json")).encode("utf-8")).hexdigest()


def added_tools(services: Services, version: StoredVersion) -> list[str]:
    """The tools the role rule judges the version's author for when someone other than the
    requester: those it calls that the requester's latest valid version before it does not,
    all of them when there is none."""
    # The baseline may hold only tools someone chose for a reason that still holds, and must
    # not move once the version is decided (deciding.decide_again rebuilds this input and
    # compares its hash). The requester's own versions qualify, denied or not: the run acts
    # for them and the rule judges them for every tool of every version against their roles
    # now. Another author's version never does: with the version just before as baseline, a
    # reviser repeating their denied addition added nothing, and one revising an invalid
    # version (never judged) took over its tools. Whether another author's addition was
    # allowed is a decision, which may be taken again or rest on roles since lost, so each
    # reviser is judged for every tool the requester did not choose, even one an earlier
    # reviser could add; it is the requester's once they write a version with it. INVALID
    # versions are passed over. A version's author, number and validity never change, so
    # neither does its baseline.
    if version.created_by == version.requester:
        return []
    tools = {s.tool for s in version.plan.steps}
    baseline = services.plan_store.latest_valid_by(version.plan_id, version.requester,
                                                   before=version.version)
    if baseline is None:
        return sorted(tools)
    return sorted(tools - {s.tool for s in baseline.plan.steps})


def policy_input(services: Services, version: StoredVersion, now: datetime,
                  template: TemplateCheck | None) -> dict:
    """The document the policies judge ``version`` on at ``now``, given its template check
    (:func:`template_check`, made by the caller): the plan, the tools' specs, the requester's
    and author's roles from settings, the template check."""
    return build_policy_input(
        version.plan, services.registry, requester=requester_of(services, version.requester),
        author=requester_of(services, version.created_by),
        added_tools=added_tools(services, version),
        context=PolicyContext(now=now), origin=version.origin,
        template=template,
    )


def input_hash(policy_input: Mapping) -> str:
    """SHA-256 (hex) of a policy input's canonical JSON.

    Stored with each decision, of the input built as of the decision's stored time: the
    bundle hash and this hash are all a decision rests on, so a version whose input,
    rebuilt as of that time, hashes the same under the same bundle would be decided alike.
    """
    return hashlib.sha256(canonical_json(policy_input).encode("utf-8")).hexdigest()


def stamped_hash(services: Services, version: StoredVersion, template: TemplateCheck | None
                  ) -> tuple[datetime, str]:
    """A time to store a decision with (the clock: the newest decision is the one the gate
    reads) and the hash of the input rebuilt as of it, which a decision taken again compares
    (``deciding.decide_again``)."""
    stamp = datetime.now(UTC)
    return stamp, input_hash(policy_input(services, version, stamp, template))


@dataclass(frozen=True)
class StoredVersionInput:
    """The policy input of a stored version, as :func:`stored_version_input` shows it."""

    version: int
    """The version's number."""
    document: dict
    """The input, configured secrets masked (a version stored before its secret was
    configured still holds the value): never decide on it, the store's version is judged."""
    as_of: datetime
    """``context.now``: the latest decision's time, or the clock's for an undecided version."""
    decided: bool
    """Whether the version has a decision (``as_of`` is its time)."""
    hash_matches: bool | None
    """Whether the input, rebuilt now, hashes as the one the decision was taken on (False:
    roles, tools' specs or the template check changed since); None: no decision, or one
    stored before input hashes were."""


def stored_version_input(services: Services, plan_id: str, version: int | None = None
                         ) -> StoredVersionInput:
    """The input the policies judge a stored version on (latest when ``version`` is None),
    built as for its latest decision and as of that decision's time, as
    ``deciding.decide_again`` rebuilds it: the requester and author as stored, the tools a
    reviser added (``added_tools``), the template check. Reads only; asks the engine nothing."""
    stored = services.plan_store.get(plan_id, version)
    if stored.problems:  # no decision is ever taken on it: an input would only mislead
        raise BatonError(f"plan {stored.plan_id} v{stored.version} is invalid, so the policies "
                         f"never judge it ({len(stored.problems)} problem(s); `baton plans show "
                         f"{stored.plan_id} --version {stored.version}` lists them)")
    decided = services.approval_store.latest_decision(stored.plan_id, stored.version)
    as_of = decided.decided_at if decided is not None else datetime.now(UTC)
    document = policy_input(services, stored, as_of, template_check(services, stored))
    matches = (None if decided is None or decided.input_hash is None
               else input_hash(document) == decided.input_hash)
    return StoredVersionInput(version=stored.version, document=redact(document, services.recognisable_secrets),
                              as_of=as_of, decided=decided is not None, hash_matches=matches)
