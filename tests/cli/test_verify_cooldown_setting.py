"""``[audit] verify_cooldown_s``: a finite number of seconds from 0 (no wait) to a day."""

from __future__ import annotations

import pytest

from baton.settings import ConfigError, load_settings


def settings_from(tmp_path, audit: str):
    path = tmp_path / "baton.toml"
    path.write_text(f"[audit]\n{audit}\n", encoding="utf-8")
    return load_settings(path, environ={})


def test_the_cooldown_is_ten_seconds_unless_set(tmp_path):
    assert settings_from(tmp_path, "").audit.verify_cooldown_s == 10


@pytest.mark.parametrize("value", ["0", "2.5", "86400"])
def test_a_cooldown_from_zero_to_a_day_is_accepted(tmp_path, value):
    assert settings_from(tmp_path, f"verify_cooldown_s = {value}").audit.verify_cooldown_s == \
        float(value)


@pytest.mark.parametrize(("value", "said"), [
    ("-1", "greater than or equal to 0"),
    ("86401", "less than or equal to 86400"),
    ("1e12", "less than or equal to 86400"),
    ("inf", "finite number"),
    ("nan", "finite number"),
    ('"soon"', "valid number"),
])
def test_a_cooldown_that_is_negative_not_finite_or_too_long_is_a_configuration_error(
        tmp_path, value, said):
    with pytest.raises(ConfigError) as refused:
        settings_from(tmp_path, f"verify_cooldown_s = {value}")
    message = refused.value.message
    assert "audit.verify_cooldown_s" in message and said in message and "baton.toml" in message


def test_baton_audit_verify_is_not_held_to_the_cooldown(cli, plan_id, data_dir):
    with (data_dir / "baton.toml").open("a", encoding="utf-8") as config:
        config.write("\n[audit]\nverify_cooldown_s = 86400\n")
    for _ in range(3):  # an operator's local command: verified each time, at once
        done = cli("audit", "verify")
        assert done.returncode == 0 and "ledger intact" in done.stdout, done
