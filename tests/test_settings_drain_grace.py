"""``[executor] drain_grace_s`` (``BATON_EXECUTOR_DRAIN_GRACE``): how long the calls in flight
may take to end once a process drains; finite seconds from 0 (leave them at once) to a day."""

from __future__ import annotations

import pytest

from baton.settings import ConfigError, load_settings
from executor.draining import DEFAULT_GRACE_S


def settings_from(tmp_path, executor: str, environ: dict[str, str] | None = None):
    path = tmp_path / "baton.toml"
    path.write_text(f"[executor]\n{executor}\n", encoding="utf-8")
    return load_settings(path, environ=environ or {})


def test_the_grace_is_five_seconds_unless_set(tmp_path):
    assert settings_from(tmp_path, "").executor.drain_grace_s == DEFAULT_GRACE_S == 5


@pytest.mark.parametrize("value", ["0", "2.5", "86400"])
def test_a_grace_from_zero_to_a_day_is_accepted(tmp_path, value):
    assert settings_from(tmp_path, f"drain_grace_s = {value}").executor.drain_grace_s == \
        float(value)


def test_the_variable_sets_it_over_the_file(tmp_path):
    settings = settings_from(tmp_path, "drain_grace_s = 1",
                             {"BATON_EXECUTOR_DRAIN_GRACE": "120"})
    assert settings.executor.drain_grace_s == 120


@pytest.mark.parametrize(("value", "said"), [
    ("-1", "greater than or equal to 0"),
    ("86401", "less than or equal to 86400"),
    ("inf", "finite number"),
    ('"soon"', "valid number"),
    ("true", "valid number"),
])
def test_a_grace_that_is_negative_not_a_number_or_too_long_is_refused(tmp_path, value, said):
    with pytest.raises(ConfigError) as refused:
        settings_from(tmp_path, f"drain_grace_s = {value}")
    message = refused.value.message
    assert "executor.drain_grace_s" in message and said in message and "baton.toml" in message


@pytest.mark.parametrize(("value", "said"), [("-5", "greater than or equal to 0"),
                                             ("soon", "valid number")])
def test_a_bad_variable_is_refused_naming_it(tmp_path, value, said):
    with pytest.raises(ConfigError) as refused:
        settings_from(tmp_path, "", {"BATON_EXECUTOR_DRAIN_GRACE": value})
    message = refused.value.message
    assert "executor.drain_grace_s (BATON_EXECUTOR_DRAIN_GRACE)" in message and said in message
