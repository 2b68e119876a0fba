"""``POST /plans/{id}/approve|reject`` with ``plan_hash``: the version the approver reviewed, on each store."""

from __future__ import annotations

import pytest

from baton.usecases.deciding import vet_version
from tests.api.test_api_basics import assert_error
from tests.support.gate_actions import GATE_ACTIONS
from tests.support.gate_services import WRITE_PLAN, store_version

REVISED = {**WRITE_PLAN, "steps": [
    WRITE_PLAN["steps"][0], {**WRITE_PLAN["steps"][1],
                             "args": {"path": "public/leak.csv", "text": {"ref": "load.text"}}}]}


def _revised(services):
    v1 = store_version(services, WRITE_PLAN)
    vet_version(services, v1)
    v2 = store_version(services, REVISED, plan_id=v1.plan_id)
    vet_version(services, v2)
    return v1, v2


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_answering_the_hash_reviewed_after_a_revision_is_a_409(store_services, store_client_for,
                                                                act):
    v1, v2 = _revised(store_services)
    bob = store_client_for("bob")
    path = f"/plans/{v1.plan_id}/{act.verb}"
    response = bob.post(path, json={**act.fields, "plan_hash": v1.plan_hash})
    assert_error(response, 409, "version_changed")
    message = response.json()["error"]["message"]
    assert f"v1 (sha256:{v1.plan_hash[:16]}" in message and f"v2 (sha256:{v2.plan_hash[:16]}" in message
    assert f"nothing was {act.done}" in message
    assert bob.get(f"/plans/{v1.plan_id}").json()["gate"]["status"] == "pending"
    ok = bob.post(path, json={**act.fields, "plan_hash": "sha256:" + v2.plan_hash[:12]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == act.status.value
    assert act.recorded(ok.json())["version"] == 2
    assert act.recorded(ok.json())["plan_hash"] == v2.plan_hash


@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_a_plan_hash_that_is_not_12_to_64_hex_characters_is_a_422(store_services,
                                                                   store_client_for, act):
    v1, _ = _revised(store_services)
    for bad in ("abc", "z" * 20, "0" * 65, 12):
        response = store_client_for("bob").post(f"/plans/{v1.plan_id}/{act.verb}",
                                                json={**act.fields, "plan_hash": bad})
        assert_error(response, 422, "invalid_request")


@pytest.mark.parametrize("written", ["SHA256:{h}", " sha256:{h}", "sha256:{h} ", "{H}"])
@pytest.mark.parametrize("act", GATE_ACTIONS)
def test_a_plan_hash_is_read_as_the_cli_reads_it(store_services, store_client_for, act, written):
    """``baton approve --hash`` takes upper case and surrounding blanks; the API refused them."""
    _, v2 = _revised(store_services)
    text = written.format(h=v2.plan_hash[:16], H=v2.plan_hash[:16].upper())
    response = store_client_for("bob").post(f"/plans/{v2.plan_id}/{act.verb}",
                                             json={**act.fields, "plan_hash": text})
    assert response.status_code == 200, response.text
    assert act.recorded(response.json())["plan_hash"] == v2.plan_hash
