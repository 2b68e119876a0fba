"""A body that is not valid text is 400 ``malformed_json`` (a page's form: a 400 page), before
any route reads it.

The JSON parser decodes bytes with 'surrogatepass': an encoded surrogate (ED A0 80, not
UTF-8) was read as a lone surrogate, answered 422, and on ``POST /plans/document``
recorded an INVALID plan version. A form decoded it as U+FFFD, or as another character.
"""

from __future__ import annotations

import pytest

from tests.web.test_web_forms import signed_in

SURROGATE = b"\xed\xa0\x80"
DOCUMENT = (b'{"document": {"goal": "g' + SURROGATE + b'", "steps": [{"id": "a", '
            b'"tool": "files.read", "args": {"path": "sales.csv"}}]}}')


def assert_malformed(response) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "malformed_json" and "not UTF-8" in error["message"]


def test_a_plan_document_holding_an_encoded_surrogate_is_refused_and_not_recorded(
        store_client_for):
    alice = store_client_for("alice")
    assert_malformed(alice.post("/plans/document", content=DOCUMENT,
                                headers={"Content-Type": "application/json"}))
    assert alice.get("/plans").json() == []


@pytest.mark.parametrize("body", [
    b'{"goal": "Total ' + SURROGATE + b'"}',
    '{"goal": "Total \ud800"}'.encode("utf-16", "surrogatepass"),  # a lone one in UTF-16 too
], ids=["utf-8", "utf-16"])
def test_a_goal_holding_a_lone_surrogate_is_malformed_as_any_bytes_not_utf8(client_for, body):
    assert_malformed(client_for("alice").post("/plans", content=body,
                                              headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("goal", [b"Total " + SURROGATE, b"Total %ED%A0%80", b"Total %FF"],
                         ids=["raw", "percent-encoded", "not-utf8"])
def test_a_form_that_is_not_utf8_is_refused(server, client_for, goal):
    browser, csrf = signed_in(server, "alice")
    response = browser.post("/plans", content=b"csrf=" + csrf.encode() + b"&goal=" + goal,
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                            follow_redirects=False)
    assert response.status_code == 400 and "not UTF-8" in response.text
    assert client_for("alice").get("/plans").json() == []
