"""``[executor] per_tool_concurrency`` must name registered tools: a typo is exit 2.

A limit keyed by a name no tool has never applies, and nothing said so: ``"http.requets" = 1``
left http.request unlimited. Only the built registry knows every tool (an installed package's
are named when it is loaded), so every command that loads the tools checks the names.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from baton.services import Services
from baton.settings import ConfigError, load_settings
from tests.support.cli_in_process import in_process_baton

USERS = '[users.alice]\nroles = ["analyst"]\n'
TABLE = ('[[tools.http]]\nname = "crm.export"\nurl = "https://api.internal.example/x"\n'
         'method = "POST"\ndescription = "Export."\n')


def _limits(limits: str) -> str:
    return USERS + f"[executor]\nper_tool_concurrency = {{ {limits} }}\n"


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


def _config_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    return lines[0]


@pytest.mark.parametrize("command", [("tools", "list"), ("worker", "--once")])
def test_a_misspelt_tool_name_is_a_configuration_error_naming_the_closest_tool(
        baton, data_dir, command):
    (data_dir / "baton.toml").write_text(_limits('"http.requets" = 1'))
    line = _config_error_line(baton(*command))
    assert "executor.per_tool_concurrency" in line
    assert "'http.requets'" in line and "did you mean 'http.request'?" in line


def test_a_worker_refused_for_a_misspelt_name_creates_no_database(baton, data_dir):
    # "before anything is opened": the settings' problem is found before the database is.
    (data_dir / "baton.toml").write_text(_limits('"files.raed" = 1'))
    line = _config_error_line(baton("worker", "--once"))
    assert "'files.raed'" in line
    assert not (data_dir / ".baton" / "baton.db").exists()


def test_a_name_like_no_tool_is_refused_without_a_guess(baton, data_dir):
    (data_dir / "baton.toml").write_text(_limits('"zzzz" = 2'))
    line = _config_error_line(baton("tools", "list"))
    assert "executor.per_tool_concurrency" in line and "'zzzz'" in line
    assert "did you mean" not in line


def test_every_unknown_name_is_reported(tmp_path):
    (tmp_path / "baton.toml").write_text(_limits('"files.raed" = 1, "files.read" = 2, "nope" = 3'))
    services = Services(load_settings(tmp_path / "baton.toml", environ={}))
    with pytest.raises(ConfigError) as refused:
        services.registry  # noqa: B018 - building the registry checks the names
    message = str(refused.value)
    assert "'files.raed'" in message and "'nope'" in message
    assert "'files.read' " not in message.replace("did you mean 'files.read'", "")


def test_built_in_tools_and_configured_endpoints_may_be_limited(baton, data_dir):
    (data_dir / "baton.toml").write_text(
        _limits('"http.request" = 1, "crm.export" = 2')
        + '[policy.data]\negress_allowlist = ["api.internal.example"]\n' + TABLE)
    listed = baton("tools", "list")
    assert listed.returncode == 0, listed.stderr
    assert "crm.export" in listed.stdout


def test_the_server_does_not_start_with_a_misspelt_tool_name(data_dir):
    # A subprocess: a server that did start is ended by the timeout, not left serving.
    (data_dir / "baton.toml").write_text(_limits('"http.requets" = 1'))
    done = subprocess.run([sys.executable, "-m", "baton", "serve", "--port", "0"],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    line = _config_error_line(done)
    assert "executor.per_tool_concurrency" in line and "'http.requets'" in line
