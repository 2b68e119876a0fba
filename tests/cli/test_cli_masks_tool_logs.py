"""Every command that loads the settings logs with the configured secrets masked, as the worker does."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import uuid

import pytest

USERS = """
[users.alice]
roles = ["analyst"]
"""
TOKEN = "crm-tok-8c1f20e7d94b"
TOOL = '''
    """A tool package whose tool logs the secret it was handed (as careless tools do)."""
    import logging

    from tools import ToolContext, ToolRegistry


    def register(registry: ToolRegistry) -> None:
        @registry.tool("crm.lookup", secrets=["CRM_TOKEN"], tags=["crm"])
        def lookup(customer_id: str, context: ToolContext) -> str:
            """Look a customer up.

            Args:
                customer_id: The CRM id of the customer.
            """
            logging.getLogger("crm").warning("calling crm with %s", context.secrets["CRM_TOKEN"])
            return "found"
'''
PLAN = {"goal": "look up c1", "steps": [
    {"id": "look", "tool": "crm.lookup", "args": {"customer_id": "c1"}}]}


@pytest.fixture
def crm_tool(tmp_path, monkeypatch):
    """An installed package (dist-info with a ``baton.tools`` entry point) shipping ``crm.lookup``."""
    site = tmp_path / "site"
    module = f"baton_test_crm_{uuid.uuid4().hex[:8]}"
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[baton.tools]\ncrm = {module}:register\n")
    (site / f"{module}.py").write_text(textwrap.dedent(TOOL))
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop(module, None)


@pytest.fixture
def secret_cli(cli, data_dir, crm_tool):
    """The CLI over a workspace whose settings hold the tool's secret."""
    (data_dir / "baton.toml").write_text(USERS + f'\n[secrets]\nCRM_TOKEN = "{TOKEN}"\n')
    (data_dir / "crm.json").write_text(json.dumps(PLAN))
    return cli


def test_a_foreground_run_masks_the_secret_a_tool_logs(secret_cli):
    planned = secret_cli("--as", "alice", "plan", "--file", "crm.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    ran = secret_cli("--as", "alice", "run", plan_id)
    assert ran.returncode == 0, ran.stderr
    assert "calling crm with [REDACTED]" in ran.stderr
    assert TOKEN not in ran.stderr + ran.stdout


def test_any_command_that_loaded_the_settings_leaves_logging_masking_them(secret_cli, capsys):
    assert secret_cli("tools", "list").returncode == 0
    logging.getLogger("crm").warning("token %s", TOKEN)
    err = capsys.readouterr().err
    assert "token [REDACTED]" in err and TOKEN not in err
