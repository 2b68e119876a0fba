"""Plan listings for people: each plan's latest version, and what waits for approval.

An approved version whose approvals lapsed (expired, or the approver lost the role) cannot
run until approved again, though its stored status stays ``approved``: every listing marks
it (``approval_lapsed``), and what waits for approval includes it unless it has a run that
succeeded. Approvals always expire (``approval_ttl_s``), so without that every version ever
run would come back; one that ran to success did its job, and is approved again only by
whoever wants it run once more (its page offers Approve). One whose runs failed, were
cancelled or have not ended waits: a resume, like a new run, needs the gate. The web queue,
``baton plans list`` and ``GET /api/v1/plans`` all read through here, so they agree.

Whether an approval lapsed is judged at the database's time, read once per listing
(``executor.store.clock``), as the run's start judges it: a server whose clock runs ahead
or behind lists what waits for approval as every other does.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from executor.store.clock import database_now
from planner.versions import StoredVersion, VersionStatus

from ..services import Services
from .approval_records import approval_ttl, current_role_holders
from .gates import gate_views
from .lapses import APPROVAL_LAPSED_FIELD
from .plans import list_plans, shown_version

__all__ = ["ListedPlan", "listed_plans", "waiting_versions"]


class ListedPlan(BaseModel):
    """One plan's latest version in a listing, marked when its approvals lapsed."""

    model_config = ConfigDict(frozen=True)

    version: StoredVersion = Field(description="The latest version, as shown.")
    approval_lapsed: str | None = Field(default=None, description=APPROVAL_LAPSED_FIELD)


def waiting_versions(services: Services, limit: int, *,
                     now: datetime | None = None) -> list[StoredVersion]:
    """The latest versions that may wait for approval, newest plan first, as shown: those
    pending approval, and approved ones with an approval that no longer counts and no run
    that succeeded.

    One query, bounded by ``limit``, after one read of the database's clock (unless ``now``
    is given); the gate (:func:`baton.usecases.gates.gate_views`) says which approved ones
    lack approvals now: others may still have enough besides.
    """
    found = services.plan_store.list_waiting(
        now=now or database_now(services.engine), ttl=approval_ttl(services),
        role_holders=current_role_holders(services), limit=limit)
    return [shown_version(services, stored) for stored in found]


def listed_plans(services: Services, status: VersionStatus | str | None = None,
                 limit: int = 50, *, now: datetime | None = None) -> list[ListedPlan]:
    """The latest version of each plan, newest plan first, as shown, each approved one
    marked when its approvals lapsed; only those in ``status`` when given.

    ``pending_approval`` lists what waits for approval: the versions pending it, and the
    approved ones whose approvals lapsed (stored ``approved``, marked why) that never ran
    to success. Any other ``status``, or none, marks every approved one whose approvals
    lapsed, whether it ran or not.
    """
    status = VersionStatus(status) if status else None
    waiting = status is VersionStatus.PENDING_APPROVAL
    if waiting:  # one instant for the query and the gate (gate_views reads it otherwise)
        now = now or database_now(services.engine)
    versions = (waiting_versions(services, limit, now=now) if waiting
                else list_plans(services, status, limit))
    approved = [v for v in versions if v.status is VersionStatus.APPROVED]
    authors = services.plan_store.authors_of([v.plan_id for v in approved])
    views = gate_views(services, approved, authors, now=now)
    lapsed = {key: view.approval_lapsed for key, view in views.items()}
    listed = [ListedPlan(version=v, approval_lapsed=lapsed.get((v.plan_id, v.version)))
              for v in versions]
    if waiting:  # an approved version read as waiting whose approvals still suffice does not wait
        listed = [entry for entry in listed
                  if entry.version.status is not VersionStatus.APPROVED or entry.approval_lapsed]
    return listed
