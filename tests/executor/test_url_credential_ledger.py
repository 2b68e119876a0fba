"""A credential in a configured URL, however it is hidden in it (a name encoded twice, a
``;password=`` path or JDBC parameter), is masked in every ledger payload, on both backends."""

from __future__ import annotations

import json

import pytest

from executor.ledger import Ledger
from tests.support.url_credential_cases import ENCODED, VALUE
from tools.url_credentials import hide_url_credentials, url_secrets


@pytest.mark.parametrize("url", [url for url, _ in ENCODED.values()], ids=ENCODED.keys())
def test_a_url_credential_is_masked_in_a_ledger_payload(engine, url):
    ledger = Ledger(engine, secret_values=url_secrets(url))
    ledger.append("settings_checked", "settings", "baton", {
        "url": hide_url_credentials(url), "error": f"could not connect to {url}"})
    [event] = ledger.events(subject="settings")
    assert VALUE not in json.dumps(event.payload)
