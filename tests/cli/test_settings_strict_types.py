"""Values of baton.toml are held to their types: ``true`` is not 1 and ``"4"`` is not 4.

Lax validation converted both, so a typo loaded as a number (``max_steps = true`` as a plan
of at most one step). ``BATON_*`` variables are text by nature and are still converted.
A file nested too deeply to parse is a configuration error too, never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings
from tests.support.cli_in_process import in_process_baton

USERS = '[users.alice]\nroles = ["analyst"]\n'


def _load(tmp_path: Path, toml: str, environ: dict[str, str] | None = None):
    (tmp_path / "baton.toml").write_text(toml + USERS)
    return load_settings(tmp_path / "baton.toml", environ=environ or {})


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


WRONG_KINDS = [
    ("max_steps = true\n", "max_steps", "true or false"),
    ("approval_ttl_s = true\n", "approval_ttl_s", "true or false"),
    ('approval_ttl_s = "86400"\n', "approval_ttl_s", "a string"),
    ('http_max_response_bytes = "5"\n', "http_max_response_bytes", "a string"),
    ("[executor]\nlease_s = true\n", "executor.lease_s", "true or false"),
    ('[executor]\nconcurrency = "4"\n', "executor.concurrency", "a string"),
    ("[executor]\nartifact_threshold_bytes = false\n", "executor.artifact_threshold_bytes",
     "true or false"),
    ('[executor]\nper_tool_concurrency = { "files.read" = "2" }\n',
     "executor.per_tool_concurrency.files.read", "a string"),
    ('[llm]\ntimeout_s = "60"\n', "llm.timeout_s", "a string"),
    ("[llm]\ntemperature = true\n", "llm.temperature", "true or false"),
    ("[llm]\nretries = true\n", "llm.retries", "true or false"),
    ('[llm]\nmax_repairs = "3"\n', "llm.max_repairs", "a string"),
    ("[audit]\nverify_cooldown_s = false\n", "audit.verify_cooldown_s", "true or false"),
]


@pytest.mark.parametrize(("toml", "setting", "kind"), WRONG_KINDS)
def test_a_value_of_the_wrong_kind_is_refused_not_converted(tmp_path, toml, setting, kind):
    with pytest.raises(ConfigError, match=rf"(: |; ){re.escape(setting)}: [^;]*, not {kind}") as refused:
        _load(tmp_path, toml)
    assert "baton.toml" in str(refused.value)


@pytest.mark.parametrize(("toml", "setting", "said"), [
    ("max_steps = 200.0\n", "max_steps", ", not a decimal number (write 200)"),
    ("[executor]\nconcurrency = 4.0\n", "executor.concurrency", ", not a decimal number (write 4)"),
    ("[llm]\nretries = 2.5\n", "llm.retries", ", not a decimal number"),
])
def test_a_fraction_where_a_whole_number_belongs_is_refused(tmp_path, toml, setting, said):
    # The kind written is named, as for true or a quoted number: 4.0 used to load as 4.
    with pytest.raises(ConfigError, match=rf"{setting}: Input should be a valid integer"
                                          rf"{re.escape(said)}($|;)"):
        _load(tmp_path, toml)


def test_a_whole_number_where_a_number_belongs_is_fine(tmp_path):
    settings = _load(tmp_path, "approval_ttl_s = 3600\n[executor]\nlease_s = 10\n"
                               "[llm]\ntimeout_s = 5\ntemperature = 1\n"
                               "[audit]\nverify_cooldown_s = 0\n")
    assert (settings.approval_ttl_s, settings.executor.lease_s, settings.llm.timeout_s,
            settings.llm.temperature, settings.audit.verify_cooldown_s) == (3600, 10, 5, 1, 0)
    assert isinstance(settings.executor.lease_s, float)


def test_text_paths_and_arrays_still_load(tmp_path):
    # TOML has no path or tuple type: a path is a string, a list of roles an array.
    settings = _load(tmp_path, 'data_dir = "d"\nworkspace = "w"\n')
    assert settings.data_dir == tmp_path / "d" and settings.workspace == tmp_path / "w"
    assert settings.users["alice"].roles == ("analyst",)


def test_environment_variables_are_text_and_still_converted(tmp_path):
    settings = _load(tmp_path, "", {"BATON_LLM_TIMEOUT": "12.5", "BATON_DATA_DIR": "env-dir"})
    assert settings.llm.timeout_s == 12.5
    assert settings.data_dir == Path("env-dir")


def test_an_environment_variable_that_is_not_its_settings_type_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"llm\.timeout_s \(BATON_LLM_TIMEOUT\): "
                                          r"Input should be a valid number, unable to parse"):
        _load(tmp_path, "", {"BATON_LLM_TIMEOUT": "soon"})


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, "max_steps = true\n[executor]\nlease_s = true\n",
              {"BATON_LLM_TIMEOUT": "soon"})
    message = str(refused.value)
    assert "max_steps" in message and "executor.lease_s" in message
    assert "BATON_LLM_TIMEOUT" in message


def test_a_secret_of_the_wrong_kind_is_named_without_its_value(tmp_path):
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, "[secrets]\ncrm_token = 123456789\n")
    assert "secrets.crm_token" in str(refused.value)
    assert "123456789" not in str(refused.value)


@pytest.mark.parametrize(("toml", "setting"), [
    ("[executor]\nlease_s = true\n", "executor.lease_s"),
    ('[executor]\nconcurrency = "4"\n', "executor.concurrency"),
])
def test_the_cli_exits_2_naming_the_setting(baton, data_dir, toml, setting):
    (data_dir / "baton.toml").write_text(toml + USERS)
    done = baton("tools", "list")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{setting}: " in done.stderr and "baton.toml" in done.stderr


@pytest.mark.parametrize("value", ["[" * 500 + "]" * 500, "{ a = " * 500 + "}" * 500])
def test_a_settings_file_nested_too_deeply_is_a_configuration_error(baton, data_dir, value):
    (data_dir / "baton.toml").write_text(USERS + f"[policy.data]\nx = {value}\n")
    done = baton("tools", "list")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert "baton.toml" in done.stderr and "nested too deeply" in done.stderr


def test_an_integer_too_long_to_convert_is_a_configuration_error(baton, data_dir):
    (data_dir / "baton.toml").write_text(USERS + "max_steps = " + "9" * 5_000 + "\n")
    done = baton("tools", "list")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "baton.toml" in done.stderr and "integer longer than 4,300 digits" in done.stderr
