"""The web key, like every configured secret, is masked wherever logs and the ledger write text."""

from __future__ import annotations

from baton.services import Services
from baton.settings import Settings

KEY = "b7c1e0f4a9d24c8e93f1a6b5d0c2e7f8"


def test_the_configured_web_secret_is_one_of_the_values_masked(tmp_path):
    services = Services(Settings(data_dir=tmp_path, web_secret=KEY))
    assert KEY in services.secret_values
    services.ledger.append("goal", "p-1", "alice", {"goal": f"the key is {KEY}"})
    [event] = services.ledger.events(subject="p-1")
    assert KEY not in str(event.payload)
