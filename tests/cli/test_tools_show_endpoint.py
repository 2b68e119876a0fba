"""``baton tools show NAME`` names an endpoint tool's URL, masked as ``--json`` shows it.

The text view left out the ``endpoint_url`` that ``--json`` gives: a reader could not see
where a ``[[tools.http]]`` tool sends its calls without asking for JSON.
"""

from __future__ import annotations

import json

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
[users.alice]
roles = ["analyst"]

[[tools.http]]
name = "crm.export"
url = "https://svc:hunter2pass@api.internal.example/export?api_key=k3y-v4lue&x=[1]"
method = "POST"
description = "Export rows."
input_schema = { type = "object", properties = { rows = { type = "string" } } }
"""


@pytest.fixture
def baton(data_dir, capsys):
    (data_dir / "baton.toml").write_text(CONFIG)
    with in_process_baton(capsys) as run:
        yield run


def test_tools_show_prints_the_endpoint_url_masked_as_json_does(baton):
    shown = baton("tools", "show", "crm.export", "--json")
    assert shown.returncode == 0, shown.stderr
    url = json.loads(shown.stdout)["endpoint_url"]
    assert "hunter2pass" not in url and "k3y-v4lue" not in url
    text = baton("tools", "show", "crm.export")
    assert text.returncode == 0, text.stderr
    assert f"endpoint:    {url}" in text.stdout.splitlines()
    assert "hunter2pass" not in text.stdout and "k3y-v4lue" not in text.stdout


def test_a_tool_without_an_endpoint_shows_no_endpoint_line(baton):
    text = baton("tools", "show", "files.read")
    assert text.returncode == 0, text.stderr
    assert "endpoint:" not in text.stdout
