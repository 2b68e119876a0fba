"""``[llm] max_echoed_reply_chars``: the longest invalid reply sent back whole for repair."""

from __future__ import annotations

import json

import pytest

from baton.services import Services
from baton.settings import ConfigError, load_settings
from tests.cli.test_llm_retries_setting import baton  # noqa: F401 - fixture
from tests.support.openai_server import Completion

BATON_TOML = """
[users.alice]
roles = ["analyst"]

[llm]
model = "scripted"
"""

GOOD = json.dumps({"steps": [{"id": "load", "tool": "files.read",
                              "args_json": json.dumps({"path": "a.csv"}), "why": "read it"}]})
# About 6,000 characters: over a limit of 2,000, under the default of 32,000. Its one
# problem (an unknown argument) is what the repair request asks the model to fix.
LONG_INVALID = json.dumps({"steps": [{"id": "load", "tool": "files.read",
                                      "args_json": json.dumps({"file": "a.csv"}),
                                      "why": "x" * 6_000}]})


def _reply_sent_back(baton, data_dir, openai_server, toml: str) -> str:
    """Plan with ``toml``: a long invalid reply, then a good one; what went back as the reply."""
    (data_dir / "baton.toml").write_text(toml)
    openai_server.script(Completion(content=LONG_INVALID), Completion(content=GOOD))
    planned = baton("plan", "Read a.csv")
    assert planned.returncode == 0, planned.stderr
    repair = openai_server.requests[-1]["messages"]
    assert repair[-1]["role"] == "user" and "code=unknown_arg" in repair[-1]["content"]
    return repair[-2]["content"]


def test_a_small_limit_cuts_the_reply_sent_back_for_repair(baton, data_dir, openai_server):
    sent = _reply_sent_back(baton, data_dir, openai_server,
                            BATON_TOML + "max_echoed_reply_chars = 2000\n")
    assert len(sent) < 2_000 < len(LONG_INVALID)
    assert LONG_INVALID.startswith(sent[:400])  # its beginning
    asked = openai_server.requests[-1]["messages"][-1]["content"]
    assert "too long to send back whole (the limit is 2,000)" in asked


def test_by_default_a_reply_of_a_few_thousand_characters_is_sent_back_whole(
        baton, data_dir, openai_server):
    assert _reply_sent_back(baton, data_dir, openai_server, BATON_TOML) == LONG_INVALID


@pytest.mark.parametrize(("toml", "expected"), [("", 32_000), ("max_echoed_reply_chars = 1000\n", 1_000),
                                                ("max_echoed_reply_chars = 10_000_000\n", 10_000_000)])
def test_the_setting_reaches_the_planner(tmp_path, toml, expected):
    (tmp_path / "baton.toml").write_text(BATON_TOML + 'base_url = "http://127.0.0.1:9/v1"\n' + toml)
    settings = load_settings(tmp_path / "baton.toml", environ={})
    assert settings.llm.max_echoed_reply_chars == expected
    assert Services(settings).llm_planner.config.max_echoed_reply_chars == expected


@pytest.mark.parametrize(("value", "problem"), [
    ("999", "greater than or equal to 1000"), ("0", "greater than or equal to 1000"),
    ("-1", "greater than or equal to 1000"), ("10_000_001", "less than or equal to 10000000"),
    ('"6000"', "valid integer"), ("6000.0", "valid integer"), ("true", "valid integer"),
])
def test_a_value_out_of_bounds_or_not_an_integer_is_a_configuration_error(tmp_path, value,
                                                                          problem):
    (tmp_path / "baton.toml").write_text(BATON_TOML + f"max_echoed_reply_chars = {value}\n")
    with pytest.raises(ConfigError, match=rf"llm\.max_echoed_reply_chars: [^;]*{problem}"):
        load_settings(tmp_path / "baton.toml", environ={})


def test_baton_plan_with_a_bad_value_exits_2_naming_the_setting(baton, data_dir, openai_server):
    (data_dir / "baton.toml").write_text(BATON_TOML + "max_echoed_reply_chars = 10\n")
    failed = baton("plan", "Read a.csv")
    assert failed.returncode == 2, failed.stderr
    assert "llm.max_echoed_reply_chars" in failed.stderr and "1000" in failed.stderr
    assert openai_server.requests == []  # refused before anything was asked
