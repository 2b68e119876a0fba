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

The store reads as candidates the approved versions with an approval that no longer counts;
the gate then drops those whose other approvals still suffice. A page of what waits is
filled from batches of candidates, each read after the last plan of the one before, until it
holds ``limit`` versions that wait and one more is known to, or no candidate is left: a
dropped candidate takes no place, and no more candidates are read than that needs.
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

__all__ = ["ListedPlan", "WaitingPage", "listed_plans", "waiting_page"]

WAITING_BATCH = 50  # candidates read at a time, at the least, while a page of what waits fills


class ListedPlan(BaseModel):
    """One plan's latest version in a listing, marked when its approvals lapsed."""

    model_config = ConfigDict(frozen=True)

    version: StoredVersion = Field(description="The latest version, as shown.")
    approval_lapsed: str | None = Field(default=None, description=APPROVAL_LAPSED_FIELD)


class WaitingPage(BaseModel):
    """What waits for approval, newest plan first, up to a limit; and whether more wait."""

    model_config = ConfigDict(frozen=True)

    listed: tuple[ListedPlan, ...] = Field(
        description="Up to the limit, every one waiting; fewer only when no more wait.")
    more: bool = Field(description="Whether more versions wait past these.")


def waiting_page(services: Services, limit: int, *, now: datetime | None = None) -> WaitingPage:
    """The latest versions that wait for approval, newest plan first, as shown, at most
    ``limit``: those pending approval, and approved ones whose approvals no longer suffice
    (marked why) and that never ran to success; ``more`` when others wait past them.

    Candidates are read in batches of at least ``limit + 1`` (``list_waiting``, each batch
    after the last plan of the one before), judged at one instant (the database's clock,
    read once unless ``now`` is given), until ``limit + 1`` wait or none are left: an
    approved candidate whose other approvals still suffice does not wait, and takes no place.
    """
    now = now or database_now(services.engine)
    ttl, holders = approval_ttl(services), current_role_holders(services)
    batch = max(limit + 1, WAITING_BATCH)
    found: list[ListedPlan] = []
    after: str | None = None
    while True:
        read = services.plan_store.list_waiting(now=now, ttl=ttl, role_holders=holders,
                                                limit=batch, after=after)
        marked = _marked(services, [shown_version(services, stored) for stored in read], now)
        # An approved candidate whose approvals still suffice (the gate marks no lapse) waits
        # for nobody.
        found += [entry for entry in marked
                  if entry.version.status is not VersionStatus.APPROVED or entry.approval_lapsed]
        if len(found) > limit or len(read) < batch:
            return WaitingPage(listed=tuple(found[:limit]), more=len(found) > limit)
        after = read[-1].plan_id


def listed_plans(services: Services, status: VersionStatus | str | None = None,
                 limit: int = 50, *, now: datetime | None = None) -> list[ListedPlan]:
    """The latest version of each plan, newest plan first, as shown, each approved one
    marked when its approvals lapsed; only those in ``status`` when given.

    ``pending_approval`` lists what waits for approval (:func:`waiting_page`): the versions
    pending it, and the approved ones whose approvals lapsed (stored ``approved``, marked
    why) that never ran to success, ``limit`` of them when that many wait. Any other
    ``status``, or none, marks every approved one whose approvals lapsed, whether it ran or
    not.
    """
    status = VersionStatus(status) if status else None
    if status is VersionStatus.PENDING_APPROVAL:
        return list(waiting_page(services, limit, now=now).listed)
    return _marked(services, list_plans(services, status, limit), now)


def _marked(services: Services, versions: list[StoredVersion],
            now: datetime | None) -> list[ListedPlan]:
    """``versions`` listed, each approved one marked when the gate finds its approvals lapsed
    at ``now`` (the database's time when None); a few queries for them all."""
    approved = [v for v in versions if v.status is VersionStatus.APPROVED]
    authors = services.plan_store.authors_of([v.plan_id for v in approved])
    views = gate_views(services, approved, authors, now=now)
    lapsed = {key: view.approval_lapsed for key, view in views.items()}
    return [ListedPlan(version=v, approval_lapsed=lapsed.get((v.plan_id, v.version)))
            for v in versions]
