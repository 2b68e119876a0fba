"""Approval records as people may see them, and what approvals are judged against now.

An approval's comment and a rejection's reason are stored with configured secret values
masked, as the ledger records them; every record read back for people passes through
:func:`shown_record`, since one stored before its secret was configured still holds it.

Whether an approval counts is judged by the approval TTL and users' roles as settings give
them now (:func:`approval_ttl`, :func:`current_roles`), and against the plan's other authors
(an approver who revised it): :mod:`.deciding`, :mod:`.approving` and :mod:`.gates` all
read them here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from planner.versions import StoredVersion
from policies.approval import ApprovalRecord
from tools.redaction import redact

from ..services import Services

__all__ = ["approval_history", "approval_ttl", "current_role_holders", "current_roles",
           "other_authors", "other_authors_of", "shown_record", "shown_records"]


def shown_record(services: Services, record: ApprovalRecord) -> ApprovalRecord:
    """``record`` as people may see it: configured secret values in its comment masked."""
    comment = redact(record.comment, services.secret_values)
    return record if comment == record.comment else record.model_copy(update={"comment": comment})


def shown_records(services: Services, plan_id: str, version: int) -> list[ApprovalRecord]:
    """The approvals and rejections of a version, as shown (the gate's reasons quote them)."""
    return [shown_record(services, r) for r in services.approval_store.records(plan_id, version)]


def approval_history(services: Services, plan_id: str) -> list[ApprovalRecord]:
    """Every approval and rejection of every version of a plan, oldest first, as shown."""
    latest = services.plan_store.get(plan_id).version
    found = services.approval_store.records_of([(plan_id, v) for v in range(1, latest + 1)])
    return sorted((shown_record(services, r) for records in found.values() for r in records),
                  key=lambda r: r.decided_at)


def approval_ttl(services: Services) -> timedelta:
    """How long an approval counts, as set now (``approval_ttl_s``)."""
    return timedelta(seconds=services.settings.approval_ttl_s)


def current_roles(services: Services) -> dict[str, tuple[str, ...]]:
    """Every declared user's roles as settings give them now (approvals are re-checked against these)."""
    return {uid: tuple(user.roles) for uid, user in services.settings.users.items()}


def current_role_holders(services: Services) -> dict[str, frozenset[str]]:
    """Each role and the declared users holding it now: whose approvals still count."""
    holders: dict[str, set[str]] = {}
    for uid, roles in current_roles(services).items():
        for role in roles:
            holders.setdefault(role, set()).add(uid)
    return {role: frozenset(users) for role, users in holders.items()}


def other_authors_of(services: Services, stored: StoredVersion) -> tuple[str, ...]:
    """Everyone who wrote a version of the plan, the requester aside (an approver who revised it)."""
    return other_authors(services.plan_store.authors(stored.plan_id), stored.requester)


def other_authors(authors: Collection[str], requester: str) -> tuple[str, ...]:
    """``authors`` but the requester, sorted."""
    return tuple(sorted(set(authors) - {requester}))
