"""Services over SQLite or PostgreSQL for the approval-gate tests, with the users they act as.

Each PostgreSQL use gets a private schema (via ``search_path``), dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from baton.services import Services
from baton.settings import Settings, User
from executor.store.db import make_engine
from executor.store.plans import NewVersion
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import StoredVersion, VersionStatus
from tests.support.policy_tools import policy_registry

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

ALICE = User(id="alice", roles=("analyst",))
BOB = User(id="bob", roles=("approver",))
CAROL = User(id="carol", roles=("approver",))
DAVE = User(id="dave", roles=("approver",))
ROOT = User(id="root", roles=("admin",))
EVE = User(id="eve", roles=("analyst", "approver"))  # may author plans and pre-approve templates
USERS = (ALICE, BOB, CAROL, DAVE, ROOT, EVE)

READ_PLAN = {"goal": "read the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}}]}
WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
# Risk at or above the two-person threshold: two distinct approvers.
RISKY_PLAN = {"goal": "drop and announce", "steps": [
    {"id": "drop", "tool": "db.drop_table", "args": {"table": "old"}},
    {"id": "post", "tool": "http.request", "args": {"method": "POST", "url": "https://x.hooks.example.com/i",
                                                     "json": {"d": {"ref": "drop.value"}}}}]}


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of ``backend``; skips when PostgreSQL is not reachable."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'baton.db'}"
        return
    admin = make_engine(PG_URL)
    schema = f"g_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:  # noqa: BLE001 (any connection failure means: no server here)
        admin.dispose()
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def gate_services(backend: str, tmp_path: Path, **settings: object) -> Iterator[Services]:
    """Services on ``backend`` with ``USERS`` and the policy test registry."""
    with database_url(backend, tmp_path) as url:
        services = services_on(url, tmp_path, **settings)
        try:
            yield services
        finally:
            services.engine.dispose()


def services_on(url: str, tmp_path: Path, **settings: object) -> Services:
    """Services over the database at ``url`` (several may share one, with other settings);
    ``users`` and ``registry`` replace ``USERS`` and the policy test registry."""
    options = {"approval_ttl_s": 3600, "users": {u.id: u for u in USERS}, **settings}
    registry = options.pop("registry", None) or policy_registry(tmp_path / "ws")
    return Services(Settings(data_dir=tmp_path / ".baton", database_url=url, **options),
                    registry=registry)


def store_version(services: Services, document: dict, requester: str = "alice",
                  plan_id: str | None = None) -> StoredVersion:
    """Store ``document`` as a new plan (or the next version of ``plan_id``), not yet decided."""
    new = NewVersion(plan=Plan.model_validate(document), status=VersionStatus.VALIDATED,
                     planner=PlannerKind.FILE, created_by=requester)
    if plan_id is None:
        return services.plan_store.create_plan(document["goal"], requester, new)
    return services.plan_store.add_version(plan_id, new)
