"""Fuzz the live API from its own OpenAPI document (schemathesis): no input yields a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from baton.services import Services
from baton.settings import hash_token

from .live import make_settings, serve

ADMIN_TOKEN = "fuzz-admin-token"
EXAMPLES_PER_OPERATION = 20


@pytest.fixture
def admin_server(tmp_path):
    """The API served on 127.0.0.1 with an admin (who may call every route)."""
    base = make_settings(tmp_path)
    users = dict(base.users)
    users["root"] = users["alice"].model_copy(
        update={"id": "root", "roles": ("admin",), "token_sha256": (hash_token(ADMIN_TOKEN),)})
    live = serve(Services(base.model_copy(update={"users": users})), web=False)
    yield live
    live.stop()


def _fuzz(operation, base_url: str) -> None:
    @given(case=operation.as_strategy())
    # derandomize: the same examples every run, so CI is stable; raise the count to explore.
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(base_url=base_url,
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                               checks=[not_a_server_error, response_schema_conformance])

    run()


def test_no_generated_request_makes_the_api_fail_with_a_server_error(admin_server):
    schema = schemathesis.openapi.from_url(admin_server.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        _fuzz(operation, admin_server.url)
