"""``--limit`` takes 1 to 2147483647 in every command: past that it is a usage error (exit 2).

``baton plans list --limit 9223372036854775808`` reached the database: an OverflowError
traceback on SQLite, "bigint out of range ... retry once it is back" on PostgreSQL.
"""

from __future__ import annotations

import pytest

from baton.cli.common import MAX_LIMIT

LISTINGS = [["plans", "list"], ["plans", "list", "--status", "pending_approval"],
            ["audit", "show"]]


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
@pytest.mark.parametrize("limit", [MAX_LIMIT + 1, 2**63 - 1, 2**63, 2**64])
def test_a_limit_past_the_largest_is_a_usage_error(cli, plan_id, args, limit):
    done = cli(*args, "--limit", str(limit))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "--limit" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("args", LISTINGS, ids=" ".join)
def test_the_largest_limit_lists_everything(cli, plan_id, args):
    done = cli(*args, "--limit", str(MAX_LIMIT), "--json")
    assert done.returncode == 0, done.stderr
    assert plan_id in done.stdout
