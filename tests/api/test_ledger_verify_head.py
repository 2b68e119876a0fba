"""GET /ledger/verify gives the head it verified and takes a recorded one, like the CLI.

``baton audit verify`` prints ``head SEQ:HASH`` to record outside Baton and checks it later
with ``--expect-head``: a suffix recomputed by a forger or a truncated tail is only caught
against such an anchor. The API gives and takes the same ``SEQ:HASH``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from baton.api import VerifyGuard
from baton.services import Services

from .live import make_settings, serve, token_of


@pytest.fixture
def services(db_url, tmp_path):
    """Services over SQLite, then PostgreSQL, whose ledger holds four events."""
    services = Services(make_settings(tmp_path, database_url=db_url))
    for i in range(4):
        services.ledger.append("goal", f"p-{i}", "alice", {"goal": f"goal {i}"})
    yield services
    services.engine.dispose()


@pytest.fixture
def api(services):
    """``api(**params)``: GET /ledger/verify as the auditor dave, no cooldown between calls."""
    import httpx

    live = serve(services, verify_guard=VerifyGuard(0))
    client = httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {token_of('dave')}"})
    yield lambda **params: client.get("/ledger/verify", params=params)
    client.close()
    live.stop()


def _head_text(services: Services) -> str:
    head = services.ledger.head()
    assert head is not None
    return f"{head[0]}:{head[1]}"


def test_an_intact_ledger_reports_its_head_as_the_cli_prints_it(api, services):
    report = api().json()
    assert report == {"ok": True, "events": 4, "first_broken_seq": None, "reason": None,
                      "head": _head_text(services)}


def test_the_reported_head_verifies_later_and_after_more_appends(api, services):
    anchor = api().json()["head"]
    assert api(expect_head=anchor).json()["ok"] is True
    services.ledger.append("goal", "p-9", "alice", {})
    report = api(expect_head=anchor).json()
    assert (report["ok"], report["events"], report["head"]) == (True, 5, _head_text(services))


def test_an_anchor_is_read_as_the_cli_reads_it(api, services):
    seq, digest = _head_text(services).split(":")
    assert api(expect_head=f" {seq} : {digest.upper()} ").json()["ok"] is True


def test_a_rewritten_chain_is_caught_against_the_anchor_with_no_head(api, services):
    seq, digest = _head_text(services).split(":")
    forged = "0" * 64 if digest != "0" * 64 else "1" * 64
    report = api(expect_head=f"{seq}:{forged}").json()
    assert (report["ok"], report["first_broken_seq"], report["head"]) == (False, int(seq), None)
    assert "recorded head" in report["reason"]


def test_a_truncated_tail_is_caught_against_the_anchor(api, services):
    anchor = _head_text(services)
    with services.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger WHERE seq > 2"))
    report = api(expect_head=anchor).json()
    assert (report["ok"], report["first_broken_seq"], report["head"]) == (False, 3, None)
    assert "removed" in report["reason"]


@pytest.mark.parametrize("anchor", ["", "4", "0:" + "a" * 64, "4:" + "g" * 64, "4:abc",
                                    "\u00b2:" + "a" * 64, "1" * 150])
def test_a_malformed_anchor_is_an_invalid_request_naming_the_parameter(api, anchor):
    response = api(expect_head=anchor)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "expect_head" in error["message"] and "SEQ:HASH" in response.text


def test_the_schema_documents_the_head_and_the_anchor(services):
    from baton.api import create_app

    schema = create_app(services).openapi()
    operation = schema["paths"]["/api/v1/ledger/verify"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["expect_head"]
    report = schema["components"]["schemas"]["VerifyReport"]["properties"]
    assert "SEQ:HASH" in report["head"]["description"]
