"""``baton plans list --status pending_approval --limit N`` lists N plans when N or more wait:
an approved version with an expired approval that another approval still covers takes no
place (``--limit 1`` listed nothing while an older plan waited)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from baton.services import Services
from baton.settings import load_settings
from baton.usecases.approving import approve
from tests.cli.conftest import CONFIG

LONG_AGO = datetime.now(UTC) - timedelta(days=8)  # past the default 7-day TTL


def test_a_covered_version_takes_no_place_within_the_limit(cli, data_dir):
    (data_dir / "baton.toml").write_text(CONFIG + '\n[users.carol]\nroles = ["approver"]\n')
    x, y = (json.loads(cli("--as", "alice", "plan", "--file", "write.json", "--json").stdout)
            ["plan_id"] for _ in range(2))
    services = Services(load_settings(data_dir / "baton.toml"))
    try:
        users = services.settings.users
        approve(services, y, users["carol"], now=LONG_AGO)  # lapsed since
        approve(services, y, users["bob"])  # still counts: y waits for nobody
    finally:
        services.engine.dispose()
    for limit in ("1", "2"):
        listed = cli("--as", "dave", "plans", "list", "--status", "pending_approval",
                     "--limit", limit, "--json")
        assert listed.returncode == 0, listed.stderr
        assert [entry["plan_id"] for entry in json.loads(listed.stdout)] == [x]
