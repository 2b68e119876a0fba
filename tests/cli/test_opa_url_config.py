"""An ``opa_url`` the OPA backend cannot use is a configuration error, found when the settings
load (exit 2, naming ``opa_url`` and the file or ``BATON_OPA_URL`` that set it).

Before, ``baton policy show`` printed it as if fine, and every decision was then a deny,
``policy engine error: OPA URL … must look like http://host:port…``. The settings apply the
rule the backend applies (``policies.opa.opa_url_problem``), and never show a password.
"""

from __future__ import annotations

import pytest

from policies.opa import opa_url_problem
from tests.support.cli_in_process import in_process_baton

USERS = '\n[users.alice]\nroles = ["analyst"]\n'


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


def _config_error(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: invalid settings"), line
    return line


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://opa.example/x?y=1#z", "http:// or https://"),
    ("http://127.0.0.1:8181/?x=1", "query string or fragment"),
    ("http://127.0.0.1:8181/#top", "query string or fragment"),
    ("http:///v1", "names no host"),
    ("http://opa.example:99999", "port"),
    ("opa.example:8181", "http:// or https://"),
])
def test_a_malformed_opa_url_in_the_file_is_refused_at_load(baton, data_dir, url, why):
    (data_dir / "baton.toml").write_text(f'opa_url = "{url}"\n' + USERS)
    line = _config_error(baton("policy", "show"))
    assert "(baton.toml)" in line and "opa_url:" in line and why in line, line
    assert "must look like http://host:port" in line


def test_a_malformed_opa_url_from_the_environment_is_refused_naming_the_variable(
        baton, data_dir):
    (data_dir / "baton.toml").write_text(USERS)
    result = baton("policy", "show", env={"BATON_OPA_URL": "http://127.0.0.1:8181/?x=1"})
    line = _config_error(result)
    assert "opa_url (BATON_OPA_URL):" in line and "query string or fragment" in line, line


def test_a_refused_opa_url_never_shows_its_password(baton, data_dir):
    (data_dir / "baton.toml").write_text('opa_url = "ftp://svc:opa-pa55@opa.example/"\n' + USERS)
    line = _config_error(baton("policy", "show"))
    assert "svc:***@opa.example" in line and "opa-pa55" not in line, line


@pytest.mark.parametrize("url", ["http:/svc:Sup3rSecretPw@opa.example:8181",
                                 "svc:Sup3rSecretPw@opa.example:8181",
                                 "http:svc:Sup3rSecretPw@opa.example"])
def test_a_url_with_no_host_to_read_never_shows_its_password(baton, data_dir, url):
    # No host can be read: the user information cannot be told from the rest, so all before
    # the "@" but the scheme is hidden.
    (data_dir / "baton.toml").write_text(USERS)
    line = _config_error(baton("policy", "show", env={"BATON_OPA_URL": url}))
    assert "Sup3rSecretPw" not in line and "***@opa.example" in line, line


def test_an_unparseable_opa_url_is_not_echoed(baton, data_dir):
    # A "/" in the password ends the host part: the parser reads "Zq8v" as the port.
    (data_dir / "baton.toml").write_text('opa_url = "http://bot:Zq8v/SECRETtok3n@opa.example"\n'
                                         + USERS)
    line = _config_error(baton("policy", "show"))
    assert "opa_url:" in line and "Zq8v" not in line and "SECRETtok3n" not in line, line


@pytest.mark.parametrize("url", ["http://127.0.0.1:8181", "https://gw.example/opa/",
                                 "http://[::1]:8181", "http://svc:opa-pa55@opa.example:8181"])
def test_a_usable_opa_url_loads(baton, data_dir, url):
    (data_dir / "baton.toml").write_text(f'opa_url = "{url}"\n' + USERS)
    shown = baton("policy", "show")
    assert shown.returncode == 0, shown.stderr
    assert "opa-pa55" not in shown.stdout


def test_the_backend_and_the_settings_apply_one_rule():
    assert opa_url_problem("http://127.0.0.1:8181/opa/") is None
    problem = opa_url_problem("http://u:pw-0123@127.0.0.1:8181/?x=1")
    assert problem is not None and "u:***@" in problem and "pw-0123" not in problem
