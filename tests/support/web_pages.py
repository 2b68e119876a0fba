"""One web page as a signed-in user reads it, from a server started for that read alone."""

from __future__ import annotations

from baton.services import Services
from tests.api.live import serve
from tests.web.test_web_forms import signed_in


def page_as(services: Services, user: str, path: str) -> str:
    """The HTML of ``path`` as ``user`` reads it (asserting a 200)."""
    live = serve(services)
    try:
        client, _ = signed_in(live, user)
        page = client.get(path)
        client.close()
    finally:
        live.stop()
    assert page.status_code == 200, page.text
    return page.text
