"""A value hidden in a JSON text is hidden as the policy reads it too: its escapes read.

A body masked as text hides ``Zk3x9QpL\\/m2Vb7Rt`` as written there (``…?token=***``), but the
policy refused, and the service reads, ``Zk3x9QpL/m2Vb7Rt``: only the text as written was
masked elsewhere, so a goal or a why quoting the token kept it in clear, in the store and the
ledger. Each value masking hid in a JSON or form text is now found in what the text encodes
too (as deep as the policy reads one), and both are masked wherever the version writes them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baton.services import Services
from baton.usecases.plans import plan_from_document
from planner.problems import InvalidPlanError
from planner.url_literals import MASK, masked_args, masked_value
from planner.url_splices import hidden_values
from tests.api.live import make_settings
from tests.support.stored_text import everything_stored

TOKEN = "Zk3x9QpL/m2Vb7Rt"
BODIES = [
    '{"cb": "https:\\/\\/h.example.com\\/?token=Zk3x9QpL\\/m2Vb7Rt"}',
    '{"cb": "https://h.example.com/?token=Zk3x9QpL\\/m2Vb7Rt"}',
    '{"cb": "https://h.example.com/?token=\\u005Ak3x9QpL/m2Vb7Rt"}',
    '{"outer": "{\\"cb\\": \\"https://h.example.com/?token=Zk3x9QpL\\\\\\/m2Vb7Rt\\"}"}',
]
IDS = ["all slashes escaped", "token slash escaped", "u-escape", "JSON inside JSON"]


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    built = Services(make_settings(tmp_path))
    yield built
    built.engine.dispose()


@pytest.mark.parametrize("body", BODIES, ids=IDS)
def test_the_value_a_json_text_encodes_is_among_those_hidden(body):
    assert TOKEN in hidden_values(body, masked_value(body))
    args = {"method": "POST", "url": "https://api.example.com/x", "body": body}
    assert TOKEN in hidden_values(args, masked_args(args))


def test_the_value_as_written_is_still_among_those_hidden():
    body = BODIES[1]
    assert hidden_values(body, masked_value(body)) == ["Zk3x9QpL\\/m2Vb7Rt", TOKEN]


def test_a_form_text_s_value_is_hidden_decoded_too():
    body = "cb=https%3A%2F%2Fh.example.com%2F%3Ftoken%3DZk3x9QpL%252Fm2Vb7Rt&x=1"
    assert "Zk3x9QpL/m2Vb7Rt" in hidden_values(body, masked_value(body))


@pytest.mark.parametrize("body", BODIES, ids=IDS)
def test_a_token_quoted_in_the_goal_is_never_stored_when_its_body_escapes_it(services, body):
    goal = f"register the callback, token {TOKEN}"
    document = {"goal": goal, "steps": [{"id": "s", "tool": "http.request", "why": goal,
                                         "args": {"method": "POST",
                                                  "url": "https://api.example.com/x",
                                                  "body": body}}]}
    error = None
    try:
        stored = plan_from_document(services, document, services.settings.users["alice"])
    except InvalidPlanError as raised:  # JSON inside JSON: masked as text, no longer JSON
        stored, error = raised.stored, raised
    assert stored.goal == f"register the callback, token {MASK}"
    assert TOKEN not in everything_stored(services, stored.plan_id, error)
    if error is None:
        assert stored.plan.steps[0].why == stored.goal
