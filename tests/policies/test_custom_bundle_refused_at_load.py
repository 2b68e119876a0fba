"""A policies_dir the engine cannot judge with is refused when settings load: exit 2, one line
naming the file and the problem, on every command (read-only ones too), nothing on stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings
from tests.support.custom_policies import UNCLOSED, V0_RULE, V0_SET, own_bundle

USERS = '[users.alice]\nroles = ["analyst"]\n'
PLAN = ('{"goal": "post", "steps": [{"id": "post", "tool": "http.request", "args": '
        '{"method": "POST", "url": "https://x.hooks.example.com/a", "json": {"a": 1}}}]}')


def baton(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=workdir,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200", **env})


def assert_refused(done: subprocess.CompletedProcess[str], *names: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


def _settings(tmp_path: Path, own: Path, toml: str = ""):
    (tmp_path / "baton.toml").write_text(f'policies_dir = "{own}"\n{USERS}{toml}')
    return load_settings(tmp_path / "baton.toml", environ={})


@pytest.mark.parametrize("rule", [V0_RULE, V0_SET], ids=["deny-msg", "deny-set"])
def test_a_rule_in_rego_v0_syntax_is_refused_naming_the_file(tmp_path, rule):
    own = own_bundle(tmp_path, {"custom.rego": rule})
    (tmp_path / "plan.json").write_text(PLAN)
    (tmp_path / "baton.toml").write_text(USERS)
    for command in (("--as", "alice", "policy", "eval", "plan.json", "--json"),
                    ("plans", "list")):
        assert_refused(baton(tmp_path, *command, BATON_POLICIES_DIR=str(own)),
                       "policies_dir", "BATON_POLICIES_DIR", "do not compile",
                       "they compile without custom.rego")


def test_a_syntax_error_is_refused_with_its_line_and_nothing_on_stdout(tmp_path):
    own = own_bundle(tmp_path, {"custom.rego": UNCLOSED})
    (tmp_path / "plan.json").write_text(PLAN)
    (tmp_path / "baton.toml").write_text(f'policies_dir = "{own}"\n{USERS}')
    assert_refused(baton(tmp_path, "--as", "alice", "policy", "eval", "plan.json", "--json"),
                   "policies_dir", "custom.rego:3:22: this is unclosed")


@pytest.mark.parametrize("files, said", [
    ({"zz.rego": b"package baton\n# \xff\xfe bad\n"}, "zz.rego: it is not UTF-8 text"),
    ({"sub.rego/inner.txt": "x"}, "sub.rego: it is not a file"),
])
def test_an_unreadable_rego_file_is_a_one_line_error_on_a_read_only_command(tmp_path, files,
                                                                             said):
    own = own_bundle(tmp_path, {})
    for name, content in files.items():
        (own / name).parent.mkdir(parents=True, exist_ok=True)
        (own / name).write_bytes(content) if isinstance(content, bytes) else (
            (own / name).write_text(content))
    (tmp_path / "baton.toml").write_text(f'policies_dir = "{own}"\n{USERS}')
    assert_refused(baton(tmp_path, "plans", "list"), "policies_dir", said)


@pytest.mark.parametrize("text, said", [
    ("1: a\n", "the key 1 is not text"),
    ("null: a\n", "the key null is not text"),
    ("a: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
])
def test_a_data_file_that_is_not_json_data_is_a_configuration_error(tmp_path, text, said):
    own = own_bundle(tmp_path, {}, data=text)
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, own)
    assert f"policies_dir: policy data {own / 'data.yaml'}" in refused.value.message or (
        f"policies_dir: cannot read policy data {own / 'data.yaml'}" in refused.value.message)
    assert said in refused.value.message


@pytest.mark.parametrize("shipped, changed, key, wanted", [
    ("  two_person_risk: 60 ", '  two_person_risk: "60"', "approval.two_person_risk",
     "a number"),
    ("  max_steps: 50", '  max_steps: "2"', "limits.max_steps", "a whole number"),
    ("  max_write_steps: 10", '  max_write_steps: "1"', "limits.max_write_steps",
     "a whole number"),
    ("  write: 20", '  write: "20"', "risk.write", "a number"),
])
def test_a_data_file_value_of_the_wrong_type_is_named_with_the_file_and_key(
        tmp_path, shipped, changed, key, wanted):
    text = (own_bundle(tmp_path, {}) / "data.yaml").read_text()
    assert shipped in text
    (tmp_path / "own" / "data.yaml").write_text(text.replace(shipped, changed, 1))
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, tmp_path / "own")
    assert (f"policies_dir: {tmp_path / 'own' / 'data.yaml'}: {key} must be {wanted}, "
            "not a string") in refused.value.message
    assert '"' not in refused.value.message.split("data.yaml: ", 1)[1]  # the value is not quoted


def test_a_data_file_key_that_policy_data_replaces_is_not_held_against_it(tmp_path):
    text = (own_bundle(tmp_path, {}) / "data.yaml").read_text()
    (tmp_path / "own" / "data.yaml").write_text(
        text.replace("  two_person_risk: 60 ", '  two_person_risk: "60"', 1))
    settings = _settings(tmp_path, tmp_path / "own", '[policy.data.approval]\n'
                         'roles = ["approver", "admin"]\ntwo_person_risk = 60\n')
    assert settings.policy_data["approval"]["two_person_risk"] == 60


def test_the_same_wrong_type_from_cli_exits_2(tmp_path):
    text = (own_bundle(tmp_path, {}) / "data.yaml").read_text()
    (tmp_path / "own" / "data.yaml").write_text(
        text.replace("  two_person_risk: 60 ", '  two_person_risk: "60"', 1))
    (tmp_path / "baton.toml").write_text(f'policies_dir = "{tmp_path / "own"}"\n{USERS}')
    assert_refused(baton(tmp_path, "plans", "list"), "approval.two_person_risk")


@pytest.mark.parametrize("pattern", ["(unclosed", "(?i)tokenish"])
def test_a_secret_pattern_the_engine_cannot_read_is_a_configuration_error(tmp_path, pattern):
    (tmp_path / "baton.toml").write_text(
        f'{USERS}[[policy.data.secret_patterns]]\nkind = "ok"\npattern = "sk-[a-z]+"\n'
        f'[[policy.data.secret_patterns]]\nkind = "x"\npattern = "{pattern}"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "baton.toml", environ={})
    assert ("policy.data.secret_patterns[1].pattern: is not a regular expression the embedded "
            "engine can read") in refused.value.message
    assert "secret_patterns[0]" not in refused.value.message
    assert pattern[-4:] not in refused.value.message  # a pattern is not quoted


def test_a_secret_pattern_in_the_data_file_is_checked_too(tmp_path):
    own = own_bundle(tmp_path, {})
    text = (own / "data.yaml").read_text()
    (own / "data.yaml").write_text(text + '\nsecret_patterns:\n  - {kind: x, pattern: "("}\n')
    with pytest.raises(ConfigError) as refused:
        _settings(tmp_path, own)
    assert (f"policies_dir: {own / 'data.yaml'}: secret_patterns[0].pattern is not a regular "
            "expression") in refused.value.message


def test_with_an_opa_server_the_embedded_engines_limits_do_not_apply(tmp_path):
    # OPA compiles the bundle itself, and takes (?i): only what both engines need is checked.
    own = own_bundle(tmp_path, {"custom.rego": "package baton\nimport rego.v1\n"
                                "deny contains \"x\" if { http.send({}) }\n"})
    (tmp_path / "baton.toml").write_text(
        f'policies_dir = "{own}"\nopa_url = "http://127.0.0.1:8181"\n{USERS}'
        '[[policy.data.secret_patterns]]\nkind = "x"\npattern = "(?i)token"\n')
    assert load_settings(tmp_path / "baton.toml", environ={}).opa_url


def test_a_date_in_policy_data_is_a_configuration_error(tmp_path):
    (tmp_path / "baton.toml").write_text(f"{USERS}[policy.data]\nsince = 2024-01-01\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "baton.toml", environ={})
    assert "policy.data.since: must not be a date or time" in refused.value.message


def test_a_sound_policies_dir_of_ones_own_loads(tmp_path):
    own = own_bundle(tmp_path, {"custom.rego": "package baton\nimport rego.v1\n"
                                "deny contains \"no\" if { false }\n"})
    assert _settings(tmp_path, own).policies_dir == own
