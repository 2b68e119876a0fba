"""A run of a stored version that got as far as a given status, written through the run store
as a worker would (created, claimed, started, ended), without running a tool.

For tests of what a version's runs change elsewhere (what waits for approval)."""

from __future__ import annotations

import uuid

from baton.services import Services
from executor.records import RunStatus
from executor.store.runs import RunStore
from planner.versions import StoredVersion

OWNER = "test-worker"


def ran(services: Services, stored: StoredVersion, status: RunStatus) -> str:
    """A run of ``stored`` now in ``status`` (queued: created only); its id."""
    runs = RunStore(services.engine, services.ledger)
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    queued = status is RunStatus.QUEUED
    runs.create(run_id=run_id, plan_id=stored.plan_id, version=stored.version,
                plan_hash=stored.plan_hash, steps=[], requested_by=stored.requester,
                concurrency=1, owner=None if queued else OWNER)
    if not queued:
        runs.mark_running(run_id, OWNER)
    if status.finished:
        runs.finish(run_id, OWNER, status, None if status is RunStatus.SUCCEEDED else "stopped")
    return run_id
