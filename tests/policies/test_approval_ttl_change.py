"""Lowering ``approval_ttl_s`` shortens approvals already given, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.usecases.approving import approve
from baton.usecases.deciding import vet_version
from baton.usecases.gates import NotApprovedError, gate_state, require_approved
from policies.approval import GateStatus
from tests.support.gate_services import BOB, WRITE_PLAN, services_on, store_version


def test_an_approval_given_under_a_longer_ttl_expires_under_the_current_one(url, tmp_path):
    week = services_on(url, tmp_path, approval_ttl_s=7 * 24 * 3600)
    version = store_version(week, WRITE_PLAN)
    vet_version(week, version)
    given = datetime.now(UTC) - timedelta(minutes=5)
    approve(week, version.plan_id, BOB, now=given)
    require_approved(week, version.plan_id)
    minute = services_on(url, tmp_path, approval_ttl_s=60)  # the operator lowered the TTL
    try:
        state = gate_state(minute, version.plan_id)
        assert state.status is GateStatus.PENDING
        assert any("expired" in reason for reason in state.reasons)
        with pytest.raises(NotApprovedError, match="expired"):
            require_approved(minute, version.plan_id)
        # bob may approve again under the new TTL, and the plan may run for that long.
        assert approve(minute, version.plan_id, BOB).status is GateStatus.APPROVED
        require_approved(minute, version.plan_id)
    finally:
        week.engine.dispose()
        minute.engine.dispose()
