"""The interactive API documentation works on a machine with no network: nothing from a CDN."""

from __future__ import annotations

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_every_script_and_style_from_the_server(server, page):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        html = client.get(page)
        assert html.status_code == 200 and "/openapi.json" in html.text
        assets = re.findall(r"""(?:src|href)=["']([^"']+\.(?:js|css))["']""", html.text)
        assert assets, html.text
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            response = client.get(asset)
            assert response.status_code == 200 and len(response.content) > 10_000, asset
