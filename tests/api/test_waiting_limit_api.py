"""``GET /api/v1/plans?status=pending_approval&limit=N`` lists N plans when N or more wait:
an approved version with an expired approval that another approval still covers waits for
nobody and takes no place (``limit=1`` listed nothing while an older plan waited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from baton.services import Services
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document

from .live import make_settings, serve, token_of

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
LONG_AGO = datetime.now(UTC) - timedelta(days=8)  # past the default 7-day TTL


def test_a_covered_version_takes_no_place_within_the_limit(tmp_path):
    services = Services(make_settings(tmp_path))
    users = services.settings.users
    x = plan_from_document(services, WRITE_PLAN, users["alice"]).plan_id
    y = plan_from_document(services, WRITE_PLAN, users["alice"]).plan_id
    approve(services, y, users["carol"], now=LONG_AGO)  # lapsed since
    approve(services, y, users["bob"])  # still counts: y waits for nobody
    live = serve(services)
    try:
        listed = {limit: httpx.get(f"{live.url}/api/v1/plans",
                                   params={"status": "pending_approval", "limit": limit},
                                   headers={"Authorization": f"Bearer {token_of('dave')}"},
                                   timeout=30)
                  for limit in (1, 2)}
    finally:
        live.stop()
    for response in listed.values():
        assert response.status_code == 200, response.text
        assert [entry["plan_id"] for entry in response.json()] == [x]
