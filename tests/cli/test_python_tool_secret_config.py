"""A tool from an installed package declaring a secret `[secrets]` lacks is a configuration error.

Before, `baton tools show crm.note` listed `secrets: CRM_TOKEN` without a word, validation,
policy evaluation and approval passed, and only `baton run` failed the step with `KeyError:
'CRM_TOKEN'`, while a `[[tools.http]]` table naming such a secret was refused at load (exit 2).
Now every command that loads the tools refuses it alike: exit 2, one line naming the tool,
where it comes from and the secret; commands that load no tool are not held up by it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.support.cli_in_process import in_process_baton

BASE = """
[users.alice]
roles = ["analyst"]
"""
PLAN = "goal: note\nsteps:\n  - id: a\n    tool: crm.note\n    args: {customer_id: c1, text: hi}\n"
# The README's example, less its network call.
PACKAGE = '''
from tools import Effect, ToolContext, ToolRegistry


def register(registry: ToolRegistry) -> None:
    @registry.tool("crm.note", effect=Effect.WRITE, secrets=["CRM_TOKEN"], tags=["crm"])
    async def add_note(customer_id: str, text: str, context: ToolContext) -> bool:
        """Add a note to a customer record.

        Args:
            customer_id: The CRM id of the customer.
            text: The note, one paragraph.
        """
        return bool(context.secrets["CRM_TOKEN"])
'''


@pytest.fixture
def tool_package(tmp_path, monkeypatch):
    """An installed tool package (entry point group baton.tools) registering crm.note."""
    site = tmp_path / "site"
    module = f"baton_test_secret_{uuid.uuid4().hex[:8]}"
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[baton.tools]\ncrm = {module}:register\n")
    (site / f"{module}.py").write_text(PACKAGE)
    monkeypatch.syspath_prepend(str(site))
    yield module
    sys.modules.pop(module, None)


@pytest.fixture
def baton(data_dir, capsys):
    (data_dir / "p.yaml").write_text(PLAN)
    with in_process_baton(capsys) as run:
        yield run


def _config_error(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error:"), line
    return line


def _names_the_tool_and_the_secret(line: str, module: str) -> None:
    for named in ("crm.note", "'CRM_TOKEN'", "[secrets]", module):
        assert named in line, (named, line)


@pytest.mark.parametrize("command", [
    ("tools", "show", "crm.note"), ("tools", "list"), ("validate", "p.yaml"),
    ("--as", "alice", "policy", "eval", "p.yaml"), ("worker", "--once")])
def test_a_packaged_tool_declaring_an_unconfigured_secret_is_a_configuration_error(
        baton, data_dir, tool_package, command):
    (data_dir / "baton.toml").write_text(BASE + '\n[secrets]\nOTHER = "other-value-0123"\n')
    line = _config_error(baton(*command))
    _names_the_tool_and_the_secret(line, tool_package)
    assert "other-value-0123" not in line


@pytest.mark.parametrize("command", [("--help",), ("policy", "show")])
def test_commands_that_load_no_tool_are_not_held_up(baton, data_dir, tool_package, command):
    (data_dir / "baton.toml").write_text(BASE)
    result = baton(*command)
    assert result.returncode == 0, result.stderr


def test_a_packaged_tool_whose_secret_is_configured_loads(baton, data_dir, tool_package):
    (data_dir / "baton.toml").write_text(BASE + '\n[secrets]\nCRM_TOKEN = "crm-value-0123"\n')
    shown = baton("tools", "show", "crm.note")
    assert shown.returncode == 0, shown.stderr
    assert "CRM_TOKEN" in shown.stdout and "crm-value-0123" not in shown.stdout
    assert baton("validate", "p.yaml").returncode == 0


def test_a_packaged_tool_declaring_an_unconfigured_secret_stops_the_server_before_it_listens(
        data_dir, tmp_path, tool_package):
    # A subprocess: a server that did start is ended by the timeout, not left serving.
    (data_dir / "baton.toml").write_text(BASE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), *sys.path])}
    done = subprocess.run([sys.executable, "-m", "baton", "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    _names_the_tool_and_the_secret(_config_error(done), tool_package)
