"""``[llm] retries``: how often one request is retried after a transient error."""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.settings import ConfigError, load_settings
from tests.support.cli_in_process import in_process_baton
from tests.support.openai_server import Completion, Failure

BATON_TOML = """
[users.alice]
roles = ["analyst"]

[llm]
model = "scripted"
"""


@pytest.fixture
def baton(data_dir, monkeypatch, capsys, openai_server):
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    monkeypatch.setenv("BATON_USER", "alice")
    monkeypatch.setenv("BATON_LLM_BASE_URL", openai_server.base_url)
    with in_process_baton(capsys) as run:
        yield run


# Retry-After 0: no backoff to wait through.
BUSY = Failure(status=503, headers={"retry-after": "0"})


@pytest.mark.parametrize("retries", [0, 1])
def test_a_busy_endpoint_is_asked_retries_plus_one_times(baton, data_dir, openai_server, retries):
    (data_dir / "baton.toml").write_text(BATON_TOML + f"retries = {retries}\n")
    openai_server.script(*[BUSY] * 5, Completion(content='{"steps": []}'))
    failed = baton("plan", "Read sales.csv")
    assert failed.returncode == 1, failed.stderr
    assert f"is unreachable after {retries + 1} attempt(s)" in failed.stderr
    assert len(openai_server.requests) == retries + 1


def test_retries_default_to_three(baton, data_dir, openai_server):
    (data_dir / "baton.toml").write_text(BATON_TOML)
    openai_server.script(*[BUSY] * 5)
    assert "is unreachable after 4 attempt(s)" in baton("plan", "Read sales.csv").stderr


@pytest.mark.parametrize("value", ["-1", "11", '"many"'])
def test_retries_out_of_bounds_are_a_configuration_error(tmp_path, value):
    (tmp_path / "baton.toml").write_text(BATON_TOML + f"retries = {value}\n")
    with pytest.raises(ConfigError, match=r"llm\.retries"):
        load_settings(tmp_path / "baton.toml", environ={})


@pytest.mark.parametrize(("toml", "expected"), [("", 30.0), ("max_backoff_s = 300\n", 300.0)])
def test_the_longest_retry_wait_reaches_the_planner(tmp_path, toml, expected):
    (tmp_path / "baton.toml").write_text(BATON_TOML + 'base_url = "http://127.0.0.1:9/v1"\n' + toml)
    settings = load_settings(tmp_path / "baton.toml", environ={})
    assert Services(settings).llm_planner.config.max_backoff_s == expected


@pytest.mark.parametrize("value", ["0", "-1", "3601", "nan", '"30"', "true"])
def test_a_longest_retry_wait_out_of_bounds_is_a_configuration_error(tmp_path, value):
    (tmp_path / "baton.toml").write_text(BATON_TOML + f"max_backoff_s = {value}\n")
    with pytest.raises(ConfigError, match=r"llm\.max_backoff_s: "):
        load_settings(tmp_path / "baton.toml", environ={})
