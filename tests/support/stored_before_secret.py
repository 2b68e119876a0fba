"""Records stored before a value was configured as a secret: the setup several surfaces' tests share.

Each helper writes through services that know no secret yet (so nothing is masked or refused)
and disposes of them; the test then opens services with the secret configured over the same
store and checks what its surface shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baton.services import Services
from baton.usecases.approving import approve, reject
from baton.usecases.plans import plan_from_document
from executor.store.plans import NewVersion
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import StoredVersion, VersionStatus
from tests.api.live import make_settings


def before_secret(tmp_path: Path, database_url: str | None = None) -> Services:
    """Services over the test store with no secret configured."""
    extra = {"database_url": database_url} if database_url else {}
    return Services(make_settings(tmp_path, **extra))


def approved_and_revised(before: Services, document: dict[str, Any],
                         moved_text: str) -> tuple[StoredVersion, str]:
    """``document`` stored and approved by bob; and a second plan of it revised into a version
    whose first step writes ``moved_text`` to b.txt. Returns the approved version and the
    revised plan's id."""
    alice = before.settings.users["alice"]
    approved = plan_from_document(before, document, alice)
    approve(before, approved.plan_id, before.settings.users["bob"])
    revised = plan_from_document(before, document, alice)
    first = document["steps"][0]
    moved = dict(document, steps=[dict(first, args={"path": "b.txt", "text": moved_text})])
    before.plan_store.add_version(revised.plan_id, NewVersion(
        plan=Plan.model_validate(moved), status=VersionStatus.VALIDATED,
        planner=PlannerKind.FILE, created_by="alice"))
    return approved, revised.plan_id


def commented(before: Services, document: dict[str, Any], comment: str,
              reason: str) -> tuple[str, str]:
    """Two plans of ``document``: one approved by bob with ``comment``, one rejected with
    ``reason``; their ids."""
    alice, bob = before.settings.users["alice"], before.settings.users["bob"]
    approved = plan_from_document(before, document, alice)
    approve(before, approved.plan_id, bob, comment=comment)
    rejected = plan_from_document(before, document, alice)
    reject(before, rejected.plan_id, bob, reason=reason)
    return approved.plan_id, rejected.plan_id
