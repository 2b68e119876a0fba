"""A secret is named so that ``${secret:NAME}`` can write it, or it is refused at load.

``[secrets] "MY TOKEN"`` with a table's ``secrets = ["MY TOKEN"]`` and header
``Bearer ${secret:MY TOKEN}`` loaded, and every call sent the placeholder as written: no
reference matches a name with a space, so none was filled, and no check saw it.
"""

from __future__ import annotations

import pytest

from baton.settings import ConfigError, load_settings
from tools import ToolDefinitionError, ToolRegistry
from tools.builtin.http import SECRET_REF
from tools.http_endpoint import register_http_tool
from tools.secret_names import SECRET_REFERENCE, secret_name_problem

_SYNTAX = "[A-Za-z_][A-Za-z0-9_.-]*"
_VALUE = "crm-secret-value-12345"


@pytest.mark.parametrize("name", ["CRM_TOKEN", "_t", "crm.token-2", "A"])
def test_a_name_a_reference_can_write_is_a_secret_name(name):
    assert secret_name_problem(name) is None
    assert SECRET_REF.fullmatch(f"${{secret:{name}}}")


@pytest.mark.parametrize("name", ["MY TOKEN", "1TOKEN", "", "crm}token", "tök", "a\n", 5])
def test_a_name_no_reference_can_write_is_refused_with_the_syntax(name):
    assert secret_name_problem(name) == (
        f"secret name {name!r} cannot be written as ${{secret:NAME}}: a name is a letter or '_' "
        f"then letters, digits, '_', '.' or '-' ({_SYNTAX})")


def test_the_names_checked_are_the_names_the_http_tools_fill():
    assert SECRET_REFERENCE.pattern == SECRET_REF.pattern


def _load(tmp_path, toml: str):
    config = tmp_path / "baton.toml"
    config.write_text(toml, encoding="utf-8")
    return load_settings(config, environ={})


@pytest.mark.parametrize("key", ['"MY TOKEN"', '"1TOKEN"', '"crm/token"'])
def test_a_secrets_key_no_reference_can_write_is_a_configuration_error(tmp_path, key):
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, f"[secrets]\n{key} = \"{_VALUE}\"\n")
    message = str(caught.value)
    assert f"secret name {key.strip(chr(34))!r} cannot be written as" in message, message
    assert _SYNTAX in message and _VALUE not in message


def test_a_secrets_key_of_the_syntax_loads(tmp_path):
    settings = _load(tmp_path, f"[secrets]\n\"crm.token-2\" = \"{_VALUE}\"\n")
    assert list(settings.secrets) == ["crm.token-2"]


def _refusal(**options) -> str:
    table = {"name": "crm.lookup", "url": "http://127.0.0.1:9/", "description": "Look up.",
             **options}
    with pytest.raises(ToolDefinitionError) as caught:
        register_http_tool(ToolRegistry(), **table)
    return str(caught.value)


def test_a_table_listing_a_secret_no_reference_can_write_is_refused():
    text = _refusal(secrets=["MY TOKEN"])
    assert "secrets: secret name 'MY TOKEN' cannot be written as ${secret:NAME}" in text, text


@pytest.mark.parametrize("header", ["Bearer ${secret:MY TOKEN}", "Bearer ${secret:CRM_TOKEN",
                                    "${secret:1X}", "${secret:CRM_TOKEN} ${secret:}"])
def test_a_header_holding_a_reference_start_that_is_no_reference_is_refused(header):
    text = _refusal(secrets=["CRM_TOKEN"], headers={"Authorization": header})
    assert ("header 'Authorization' holds '${secret:' outside a reference ${secret:NAME} "
            f"(NAME matching {_SYNTAX}): it would be sent as written") in text, text


def test_a_header_of_whole_references_is_accepted():
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url="http://127.0.0.1:9/",
                       description="Look up.", secrets=["A", "b.c"],
                       headers={"Authorization": "${secret:A}:${secret:b.c}"})
    assert registry.get("crm.lookup").secrets == ("A", "b.c")


def test_a_url_holding_a_reference_start_is_refused_even_when_no_reference_matches():
    text = _refusal(url="http://127.0.0.1:9/?k=${secret:1X}")
    assert "${secret:NAME} is filled in headers only" in text, text


def test_the_reported_table_is_a_configuration_error_naming_the_secret(data_dir, capsys):
    # The reviewer's case: tools list exited 0 and the run sent "Bearer ${secret:MY TOKEN}".
    from tests.support.cli_in_process import in_process_baton

    (data_dir / "baton.toml").write_text(
        f'[users.root]\nroles = ["admin"]\n[secrets]\n"MY TOKEN" = "{_VALUE}"\n'
        '[[tools.http]]\nname = "x.e"\nurl = "http://127.0.0.1:9/echo"\nmethod = "GET"\n'
        'description = "Echo."\nsecrets = ["MY TOKEN"]\n'
        'headers = { Authorization = "Bearer ${secret:MY TOKEN}" }\n')
    with in_process_baton(capsys) as baton:
        result = baton("--as", "root", "tools", "list")
    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.strip().splitlines()
    assert "secret name 'MY TOKEN' cannot be written as ${secret:NAME}" in line, line
    assert _SYNTAX in line and _VALUE not in line
