"""A NUL character is refused at the edge (422 naming the field), before any use case or database.

PostgreSQL cannot store one: without the check it surfaced as a 503 database failure.
"""

from __future__ import annotations

import pytest

from tests.web.test_web_forms import signed_in


def assert_nul_refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert f"{field}: NUL characters" in error["message"]


GOAL_WITH_NUL = '{"goal": "Total sales.csv\\u0000"}'
# Every body FastAPI parses as JSON: any case of the media type, +json suffixes, and the
# encodings json.loads detects on bytes (a UTF-8 byte order mark, UTF-16, UTF-32).
JSON_BODIES = {
    "Application/JSON": ("Application/JSON", GOAL_WITH_NUL.encode()),
    "+json suffix": ("application/vnd.baton+json", GOAL_WITH_NUL.encode()),
    "UTF-8 with BOM": ("application/json", b"\xef\xbb\xbf" + GOAL_WITH_NUL.encode()),
    "UTF-16": ("application/json", GOAL_WITH_NUL.encode("utf-16")),
    "UTF-32": ("application/json; charset=utf-32", GOAL_WITH_NUL.encode("utf-32")),
}


@pytest.mark.parametrize("spelling", list(JSON_BODIES))
def test_a_nul_is_refused_however_the_json_body_is_labelled_or_encoded(store_client_for, spelling):
    content_type, body = JSON_BODIES[spelling]
    alice = store_client_for("alice")
    response = alice.post("/plans", content=body, headers={"Content-Type": content_type})
    assert_nul_refused(response, "body.goal")
    assert alice.get("/plans").json() == []  # nothing was stored


@pytest.mark.parametrize(("path", "params", "loc"), [
    ("/plans/p-1%00", None, ["path", "plan_id"]),
    ("/ledger/events", {"subject": "p-1\x00"}, ["query", "subject"]),
])
def test_the_nul_refusal_has_details_like_every_invalid_request(client_for, path, params, loc):
    response = client_for("dave").get(path, params=params)
    assert_nul_refused(response, loc[-1])
    assert response.json()["error"]["details"] == [
        {"loc": loc, "msg": "NUL characters (\\0) are not allowed", "type": "string_nul"}]


def test_the_nul_refusal_of_a_body_field_details_its_location(client_for):
    document = {"goal": "Read", "steps": [{"id": "a", "tool": "files.read",
                                           "args": {"path": "sales\x00.csv"}}]}
    response = client_for("alice").post("/plans/document", json={"document": document})
    assert_nul_refused(response, "body.document.steps.0.args.path")
    [detail] = response.json()["error"]["details"]
    assert detail["loc"] == ["body", "document", "steps", "0", "args", "path"]
    assert detail["type"] == "string_nul"


def test_a_nul_in_a_json_body_field_is_422_naming_it(client_for):
    alice = client_for("alice")
    assert_nul_refused(alice.post("/plans", json={"goal": "Total sales.csv\x00"}), "body.goal")
    document = {"goal": "Read", "steps": [{"id": "a", "tool": "files.read",
                                           "args": {"path": "sales\x00.csv"}}]}
    assert_nul_refused(alice.post("/plans/document", json={"document": document}),
                       "body.document.steps.0.args.path")
    assert alice.get("/plans").json() == []  # nothing was stored


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/plans/p-1%00", None, "plan_id"),
    ("/runs/r-1%00", None, "run_id"),
    ("/ledger/events", {"subject": "p-1\x00"}, "subject"),
    ("/tools", {"a\x00b": "x"}, "a\\0b"),  # in a query parameter's name too
    ("/tools", {"\x00": "1"}, "\\0"),
])
def test_a_nul_in_a_path_or_query_parameter_is_422_naming_it(client_for, path, params, field):
    assert_nul_refused(client_for("dave").get(path, params=params), field)


def test_text_that_merely_mentions_percent_zero_zero_is_accepted(client_for):
    response = client_for("alice").post("/plans", json={"goal": "Explain what %00 means in a URL"})
    assert "NUL" not in response.text  # planned (or refused by the planner), not refused as NUL


def test_the_web_goal_form_refuses_a_nul_with_a_page_naming_the_field(server):
    alice, csrf = signed_in(server, "alice")
    page = alice.post("/plans", data={"csrf": csrf, "goal": "Total sales.csv\x00"})
    assert page.status_code == 422
    assert "<html" in page.text and "goal: NUL characters" in page.text


def test_a_web_form_labelled_json_is_refused_and_stores_nothing(server, services):
    """The edge reads a JSON-labelled body as JSON; the page reads only bodies labelled as forms."""
    alice, csrf = signed_in(server, "alice")
    for label, goal in (("application/json", "Total+sales.csv%00EVIL"),
                        ("text/plain", "Total+sales.csv")):
        page = alice.post("/plans", content=f"csrf={csrf}&goal={goal}",
                          headers={"Content-Type": label})
        assert page.status_code == 415 and "<html" in page.text
    assert services.plan_store.list_plans() == []


def test_the_web_form_refuses_a_nul_in_the_fields_it_parsed(server, services, monkeypatch):
    """Its own check on the fields as parsed: a NUL the edge check missed is still a 422."""
    from baton.api import limits

    monkeypatch.setattr(limits, "_nul_fields", lambda *_: iter(()))  # the edge misses it
    alice, csrf = signed_in(server, "alice")
    page = alice.post("/plans", data={"csrf": csrf, "goal": "Total sales.csv\x00"})
    assert page.status_code == 422
    assert "<html" in page.text and "goal: NUL characters" in page.text
    assert services.plan_store.list_plans() == []
