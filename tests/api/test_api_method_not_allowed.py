"""An API 405 names, in ``Allow``, every method the path takes, not only the first route's.

``/api/v1/plans`` is two routes (GET lists, POST plans a goal): a PUT there answered
``Allow: POST`` alone, as if listing were not allowed.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from baton.api.app import create_app
from baton.services import Services
from tests.api.live import make_settings, token_of


def test_a_405_allows_every_method_of_the_path(tmp_path):
    client = TestClient(create_app(Services(make_settings(tmp_path))))
    response = client.put("/api/v1/plans",
                          headers={"Authorization": f"Bearer {token_of('alice')}"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET, POST"
