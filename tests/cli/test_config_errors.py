"""Configuration and filesystem problems: one line naming the setting, exit 2, never a traceback.

The CLI runs in-process (a subprocess costs about a second of start-up and imports); one test
runs ``python -m baton`` itself, so the real entry point's exit code and one-line error on a
pipe stay covered.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli_in_process import in_process_baton

CONFIG = """
[users.alice]
roles = ["analyst"]
"""


Baton = Callable[..., subprocess.CompletedProcess[str]]


def baton_process(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m baton`` in the test directory with extra environment variables."""
    return subprocess.run([sys.executable, "-m", "baton", *args], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "COLUMNS": "200", **env})


@pytest.fixture(autouse=True)
def workdir(data_dir: Path) -> Path:
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "afile").write_text("not a directory\n")
    return data_dir


@pytest.fixture
def baton(workdir: Path, capsys) -> Iterator[Baton]:
    """``baton(*args, **env)``: what ``baton_process`` gives, run in-process."""
    with in_process_baton(capsys) as run:
        def with_env(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
            return run(*args, env={"COLUMNS": "200", **env})

        yield with_env


def assert_config_error(done: subprocess.CompletedProcess[str], *names: str) -> None:
    """Exit 2 with one ``error:`` line that names every one of ``names``."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.mark.parametrize("where", ["afile", "afile/sub"])
def test_a_data_dir_that_cannot_be_a_directory_is_a_configuration_error(baton, workdir, where):
    done = baton("runs", "list", BATON_DATA_DIR=str(workdir / where))
    assert_config_error(done, "data_dir", "BATON_DATA_DIR", "not a directory")


def test_a_data_dir_in_the_settings_file_is_named_with_the_file(baton, workdir):
    (workdir / "baton.toml").write_text('data_dir = "afile"\n' + CONFIG)
    assert_config_error(baton("runs", "list"), "data_dir", "baton.toml")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_data_dir_the_system_will_not_create_is_a_one_line_error(baton):
    done = baton("worker", "--once", BATON_DATA_DIR="/proc/baton-nope")  # it creates the database
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot create the database's directory /proc/baton-nope" in done.stderr


def test_a_database_url_that_does_not_parse_is_a_configuration_error(baton):
    done = baton("runs", "list", BATON_DATABASE_URL="notaurl")
    assert_config_error(done, "database_url", "BATON_DATABASE_URL", "not a database URL")
    assert "database failed" not in done.stderr


def test_a_database_url_whose_port_is_not_a_number_is_a_configuration_error(baton):
    done = baton("runs", "list",
                 BATON_DATABASE_URL="postgresql+psycopg://u:hunter2@db:notaport/x")
    assert_config_error(done, "BATON_DATABASE_URL", "port is not a number")
    assert "hunter2" not in done.stderr


def test_an_unsupported_database_names_the_supported_ones_and_hides_the_password(baton):
    done = baton("runs", "list", BATON_DATABASE_URL="mysql://baton:hunter2@127.0.0.1/baton")
    assert_config_error(done, "BATON_DATABASE_URL", "mysql", "sqlite and postgresql")
    assert "hunter2" not in done.stderr


def test_an_unknown_database_driver_is_a_configuration_error(baton):
    done = baton("runs", "list", BATON_DATABASE_URL="postgresql+nosuchdriver://u@127.0.0.1/b")
    assert_config_error(done, "BATON_DATABASE_URL", "nosuchdriver")


@pytest.mark.skipif(importlib.util.find_spec("psycopg2") is not None, reason="psycopg2 installed")
def test_a_database_driver_that_is_not_installed_says_so(baton):
    done = baton("runs", "list", BATON_DATABASE_URL="postgresql+psycopg2://u@127.0.0.1/b")
    assert_config_error(done, "BATON_DATABASE_URL", "not installed", "psycopg2")


def test_an_invalid_http_tool_is_a_configuration_error_naming_the_table(baton, workdir):
    (workdir / "baton.toml").write_text(
        CONFIG + '[[tools.http]]\nname = "x.y"\nurl = "ftp://x"\ndescription = "d"\n')
    for command in (("tools", "list"), ("runs", "list")):
        assert_config_error(baton(*command), "tools.http[0]", "x.y", "url")


def test_an_http_tool_named_like_a_builtin_is_a_configuration_error(baton, workdir):
    (workdir / "baton.toml").write_text(
        CONFIG + '[[tools.http]]\nname = "files.read"\nurl = "https://x.example"\n'
        'description = "d"\n')
    assert_config_error(baton("tools", "list"), "tools.http[0]", "already registered")


def test_a_missing_policies_dir_is_a_configuration_error(baton, workdir):
    (workdir / "baton.toml").write_text('policies_dir = "/nonexistent"\n' + CONFIG)
    for command in (("policy", "test"), ("runs", "list")):
        assert_config_error(baton(*command), "policies_dir", "/nonexistent", "does not exist")


def test_a_policies_dir_without_rego_files_is_a_configuration_error(baton, workdir):
    (workdir / "empty").mkdir()
    done = baton("policy", "test", BATON_POLICIES_DIR=str(workdir / "empty"))
    assert_config_error(done, "policies_dir", "BATON_POLICIES_DIR", "no .rego files")


def test_a_bad_value_from_the_environment_names_the_variable():
    # The real entry point, in its own process: its exit code and one line on a pipe.
    done = baton_process("runs", "list", BATON_LLM_TIMEOUT="-1")
    assert_config_error(done, "llm.timeout_s", "BATON_LLM_TIMEOUT")


def test_a_demo_dir_that_cannot_be_created_is_a_clear_error(baton, workdir):
    done = baton("demo", "--dir", str(workdir / "afile" / "x"))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "error:" in done.stderr and "afile" in done.stderr


@pytest.mark.parametrize("value", ['""', '"urn:acme baton"', '"urn:a[b]"', '"http://h:port/"'])
def test_a_cloudevents_source_that_is_not_a_uri_reference_is_a_configuration_error(
        baton, workdir, value):
    (workdir / "baton.toml").write_text(CONFIG + f"[audit]\ncloudevents_source = {value}\n")
    assert_config_error(baton("audit", "verify"), "audit.cloudevents_source", "URI-reference",
                        "baton.toml")


def test_a_cloudevents_source_from_the_environment_names_the_variable(baton):
    done = baton("audit", "verify", BATON_AUDIT_CLOUDEVENTS_SOURCE="urn:acme\tbaton")
    assert_config_error(done, "audit.cloudevents_source", "BATON_AUDIT_CLOUDEVENTS_SOURCE",
                        "whitespace")


@pytest.mark.parametrize(("url", "said"), [
    ("http://[::1", "not a URL"),
    ("http://baton:hunter2-hunter2@[::1/v1", "not a URL"),
    ("http://127.0.0.1:abc/v1", "not a URL"),
    ("http://127.0.0.1:99999/v1", "not a URL"),
    ("http://999.0.0.1/v1", "not an IPv4 address"),
    ("localhost:11434/v1", "not an http:// or https:// URL"),
    ("http:///v1", "names no host"),
    # No host to read: the user information cannot be told from the rest, so all is hidden.
    ("svc:hunter2-hunter2@llm:8181/v1", "not an http:// or https:// URL"),
    ("http:/svc:hunter2-hunter2@llm:8181/v1", "names no host"),
])
def test_a_malformed_llm_base_url_is_a_configuration_error(baton, url, said):
    done = baton("plan", "Read a.txt", BATON_LLM_BASE_URL=url, BATON_USER="alice")
    assert_config_error(done, "llm.base_url", "BATON_LLM_BASE_URL", said)
    assert "hunter2" not in done.stderr


def test_a_malformed_llm_base_url_in_the_settings_file_is_named_with_the_file(baton, workdir):
    (workdir / "baton.toml").write_text(CONFIG + '[llm]\nbase_url = "http://[::1"\n')
    assert_config_error(baton("runs", "list"), "llm.base_url", "baton.toml", "not a URL")


@pytest.mark.parametrize(("toml", "env", "section"), [
    ('llm = "x"\n', {}, "llm"),
    ("llm = 5\n", {"BATON_LLM_MODEL": "m"}, "llm"),
    ("audit = 1\n", {"BATON_AUDIT_CLOUDEVENTS_SOURCE": "urn:x"}, "audit"),
    ("executor = []\n", {}, "executor"),
    ('secrets = "x"\n', {}, "secrets"),
    ("policy = 1\n", {}, "policy"),
])
def test_a_section_written_as_a_value_is_a_configuration_error_naming_it(
        baton, workdir, toml, env, section):
    (workdir / "baton.toml").write_text(toml + CONFIG)
    assert_config_error(baton("runs", "list", **env), section, "must be a table", "baton.toml")


def test_policy_data_written_as_a_value_is_a_configuration_error(baton, workdir):
    (workdir / "baton.toml").write_text(CONFIG + "[policy]\ndata = 1\n")
    assert_config_error(baton("runs", "list"), "policy.data", "must be a table")


def test_a_settings_file_that_is_not_utf8_is_a_configuration_error_naming_the_file(baton, workdir):
    (workdir / "baton.toml").write_bytes(b'data_dir = "\xff"\n' + CONFIG.encode())
    assert_config_error(baton("runs", "list"), "baton.toml", "UTF-8")


@pytest.mark.parametrize(("toml", "setting"), [
    ("approval_ttl_s = 1e12\n", "approval_ttl_s"),
    ("approval_ttl_s = inf\n", "approval_ttl_s"),
    ("approval_ttl_s = nan\n", "approval_ttl_s"),
    ("[executor]\nlease_s = 1e12\n", "executor.lease_s"),
    ("[executor]\nlease_s = inf\n", "executor.lease_s"),
    ("[llm]\ntimeout_s = 1e12\n", "llm.timeout_s"),
    ("[llm]\ntimeout_s = nan\n", "llm.timeout_s"),
])
def test_a_duration_that_is_not_finite_or_too_long_is_a_configuration_error(
        baton, workdir, toml, setting):
    (workdir / "baton.toml").write_text(toml + CONFIG)
    assert_config_error(baton("runs", "list"), setting, "baton.toml")


@pytest.mark.parametrize("value", ["inf", "1e12"])
def test_an_llm_timeout_from_the_environment_must_be_finite_and_bounded(baton, value):
    assert_config_error(baton("runs", "list", BATON_LLM_TIMEOUT=value),
                        "llm.timeout_s", "BATON_LLM_TIMEOUT")


def test_an_approval_lasting_the_longest_allowed_ttl_can_be_given(baton, workdir):
    (workdir / "baton.toml").write_text(
        "approval_ttl_s = 315360000\n" + CONFIG + '[users.bob]\nroles = ["approver"]\n')
    (workdir / "plan.json").write_text(
        '{"goal": "note", "steps": [{"id": "w", "tool": "files.write",'
        ' "args": {"path": "n.txt", "text": "hi"}}]}')
    planned = baton("--as", "alice", "plan", "--file", "plan.json", "--json")
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    approved = baton("--as", "bob", "approve", plan_id)
    assert approved.returncode == 0 and "Traceback" not in approved.stderr, approved.stderr


def test_a_per_tool_limit_below_one_is_a_configuration_error(baton, workdir):
    (workdir / "baton.toml").write_text(CONFIG + "\n[executor.per_tool_concurrency]\n\"http.request\" = 0\n")
    assert_config_error(baton("runs", "list"), "per_tool_concurrency", "baton.toml")


def test_a_serve_poll_interval_past_an_hour_is_a_usage_error(baton):
    done = baton("serve", "--poll-interval", "1e12")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--poll-interval" in done.stderr


@pytest.mark.parametrize("written", ['"tok-abcdef1234567890\\n"', '"tok-abc\\r\\ndef1234567890"',
                                     '"tok-abc\\u0000def1234567890"'])
def test_a_secret_holding_a_line_break_or_a_control_character_is_a_config_error(
        baton, workdir, written):
    (workdir / "baton.toml").write_text(CONFIG + f"\n[secrets]\nCRM_TOKEN = {written}\n")
    done = baton("tools", "list")
    assert_config_error(done, "secrets", "CRM_TOKEN", "control character", "strip")
    assert "abcdef" not in done.stderr and "def1234567890" not in done.stderr
