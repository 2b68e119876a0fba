"""`baton tools list` stays readable at 80 columns: every name whole, its tags shown, rows short.

Five columns that never wrapped took about 75 of the 80: the tags column vanished and
the description printed one character per line.
"""

from __future__ import annotations

import json
import re

import pytest

from baton.cli.common import console

ENDPOINT = '''
[[tools.http]]
name = "crm.lookup_customer_by_email"
url = "https://crm.internal.example/lookup"
method = "GET"
description = "Look a customer up by the e-mail address on their account."
tags = ["crm", "customer-data"]
input_schema = { type = "object", properties = { email = { type = "string" } } }
'''


@pytest.fixture
def narrow(monkeypatch):
    """Print as into an 80-column terminal, whatever terminal runs the tests."""
    monkeypatch.setattr(console, "_width", 80)


def _rows(out: str, names: list[str]) -> dict[str, str]:
    """Each tool's row by tool name: the line it starts, then the indented lines after it."""
    lines = out.splitlines()
    rows = {}
    for index, line in enumerate(lines):
        first = line.split()[0] if line.strip() else ""
        if first in names:
            end = next((i for i in range(index + 1, len(lines)) if not lines[i].startswith(" ")),
                       len(lines))
            rows[first] = "\n".join(lines[index:end])
    assert set(rows) == set(names), (sorted(set(names) - set(rows)), out)
    return rows


def test_tools_list_at_80_columns_shows_every_name_and_its_tags_in_short_rows(
        cli, data_dir, narrow):
    (data_dir / "baton.toml").write_text((data_dir / "baton.toml").read_text() + ENDPOINT)
    tools = json.loads(cli("--as", "alice", "tools", "list", "--json").stdout)
    listed = cli("--as", "alice", "tools", "list")
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    assert max(map(len, out.splitlines())) <= 80, out
    rows = _rows(out, [tool["name"] for tool in tools])
    for tool in tools:
        row = rows[tool["name"]]
        words = set(re.findall(r"[\w.-]+", row))
        assert set(tool["tags"]) <= words, (tool["name"], row)
        assert len(row.splitlines()) <= 4, row  # no one-character-per-line column
        first_word = tool["description"].split()[0]
        assert first_word in row, row
    assert len(out.splitlines()) <= 4 * len(tools) + 8, out


def test_tools_list_narrower_than_a_name_prints_every_name_whole(cli, data_dir, monkeypatch):
    # A table that cannot fit prints wider than the console rather than cut a name.
    monkeypatch.setattr(console, "_width", 30)
    (data_dir / "baton.toml").write_text((data_dir / "baton.toml").read_text() + ENDPOINT)
    tools = json.loads(cli("--as", "alice", "tools", "list", "--json").stdout)
    out = cli("--as", "alice", "tools", "list").stdout
    _rows(out, [tool["name"] for tool in tools])
    assert "…" not in out, out
