"""``[llm]`` settings checked when they are read, named with where they came from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings

CONFIG = """
[users.alice]
roles = ["analyst"]

[llm]
base_url = "http://127.0.0.1:9/v1"
"""
KEY = "sk-test-1234567890"


def _settings(tmp_path: Path, toml: str = CONFIG, **environ: str):
    path = tmp_path / "baton.toml"
    path.write_text(toml)
    return load_settings(path, environ=environ)


@pytest.mark.parametrize(("variable", "key", "problem"), [
    ("BATON_LLM_API_KEY", KEY + "\n", "control character (U+000A)"),
    ("OPENAI_API_KEY", KEY + "\r\n", "control character (U+000D)"),
    ("BATON_LLM_API_KEY", "sk-t\u00e9st-1234567890", "non-ASCII character (U+00E9)"),
    ("OPENAI_API_KEY", "sk-test\u00a01234567890", "non-ASCII character (U+00A0)"),
    ("BATON_LLM_API_KEY", KEY + " ", "space at its start or end"),
    ("OPENAI_API_KEY", " " + KEY, "space at its start or end"),
])
def test_a_key_no_header_can_carry_is_refused_naming_the_variable_not_the_key(
        tmp_path, variable, key, problem):
    # It was accepted, and planning reported an unreachable endpoint after every retry.
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, **{variable: key})
    message = str(caught.value)
    assert f"llm.api_key ({variable}): the API key holds a {problem}" in message
    assert "1234567890" not in message and "sk-t" not in message


def test_a_key_in_the_settings_file_is_named_by_its_setting(tmp_path):
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, CONFIG + f'api_key = "{KEY}\\u0000"\n')
    assert "llm.api_key: the API key holds a control character (U+0000)" in str(caught.value)
    assert KEY not in str(caught.value)


def test_a_plain_key_is_kept(tmp_path):
    assert _settings(tmp_path, BATON_LLM_API_KEY=KEY).llm.api_key.get_secret_value() == KEY


def test_baton_plan_with_a_key_ending_in_a_newline_exits_2_at_once(data_dir):
    (data_dir / "baton.toml").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "OPENAI_"))}
    done = subprocess.run([sys.executable, "-m", "baton", "--as", "alice", "plan", "Read a.csv"],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**env, "BATON_LLM_API_KEY": KEY + "\n"})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "llm.api_key (BATON_LLM_API_KEY)" in lines[0]
    assert KEY not in done.stderr
