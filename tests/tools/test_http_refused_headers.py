"""Header names a plan or a `[[tools.http]]` table may not set, refused before anything is sent.

A plan's ``Host`` header sent the request to a host the egress allowlist never judged
(policy reads the URL's host), and a name that is no RFC 9110 token (``X Bad``) passed
every check, then failed every call as a retryable transport error, retried 3 times.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from planner.validation import validate_plan
from tests.support.cli_in_process import in_process_baton
from tools import ToolContext, ToolDefinitionError, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools
from tools.builtin.http import send
from tools.http_endpoint import register_http_tool

REFUSED = ["Host", "host", "HOST", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host",
           "x-forwarded-proto", "X-Real-IP", "X-HTTP-Method-Override", "Content-Length",
           "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer",
           "Proxy-Authorization", "Proxy-Connection"]
MALFORMED = [":authority", "X Bad", "X-A\r\nX-B", "X-Trace\n", "Über", "", "X:Y"]
ALLOWED = ["Authorization", "X-Api-Key", "Content-Type", "Accept", "X-Request-Id", "Hostname",
           "X-Forwarded", "TE-Ratio", "Cookie"]


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws")
    return registry


def _plan(url: str, headers: dict[str, str]) -> dict:
    return {"goal": "call", "steps": [{"id": "a", "tool": "http.request",
                                       "args": {"url": url, "headers": headers}}]}


@pytest.mark.parametrize("name", REFUSED + MALFORMED)
def test_a_plan_setting_a_refused_or_malformed_header_name_is_invalid(registry, name):
    report = validate_plan(_plan("https://api.example/x", {name: "v"}), registry)
    assert not report.ok
    [problem] = report.problems
    assert problem.path.startswith("$.steps[0].args.headers"), problem
    assert repr(name) in problem.message, problem.message


@pytest.mark.parametrize("name", ALLOWED)
def test_ordinary_header_names_stay_valid(registry, name):
    assert validate_plan(_plan("https://api.example/x", {name: "v"}), registry).ok


@pytest.mark.parametrize("name", REFUSED + MALFORMED)
def test_http_request_refuses_the_header_before_sending_anything(registry, http_server, name):
    # At run time too: the headers may come whole from an earlier step's output.
    args = {"url": http_server.url("/x"), "headers": {name: "admin.not-allowlisted.example"}}
    with pytest.raises(ValidationError) as caught:
        asyncio.run(registry.get("http.request").invoke(args, ToolContext(idempotency_key="k")))
    assert f"header {name!r}" in str(caught.value)
    assert http_server.count() == 0


@pytest.mark.parametrize("name", ["Host", "Proxy-Authorization", "X Bad"])
def test_the_transport_refuses_them_too_as_a_final_error(http_server, name):
    with pytest.raises(ToolError) as caught:
        asyncio.run(send(method="GET", url=http_server.url("/x"), headers={name: "v"},
                         context=ToolContext(idempotency_key="k"), max_response_bytes=1024))
    assert not caught.value.retryable and caught.value.code == "http_bad_header"
    assert f"header {name!r}" in caught.value.message
    assert http_server.count() == 0


@pytest.mark.parametrize("name", ["Host", "X-Forwarded-Host", "Content-Length", "X Bad",
                                  "X-A\r\nX-B", ":authority"])
def test_an_endpoint_table_with_such_a_header_is_not_registered(name):
    with pytest.raises(ToolDefinitionError) as caught:
        register_http_tool(ToolRegistry(), name="crm.hdr", url="http://127.0.0.1/",
                           description="X.", headers={name: "v"})
    assert f"header {name!r}" in str(caught.value)


def test_the_schema_tells_the_planner_which_names_are_refused(registry):
    headers = registry.get("http.request").input_schema()["properties"]["headers"]
    assert "Host" in headers["description"] and "Content-Length" in headers["description"]


def test_baton_toml_with_a_bad_header_name_is_a_configuration_error(data_dir, capsys):
    (data_dir / "baton.toml").write_text(
        '[users.root]\nroles = ["admin"]\n[[tools.http]]\nname = "crm.badhdr"\n'
        'url = "http://127.0.0.1:9/hdr"\nmethod = "GET"\ndescription = "Bad header name."\n'
        'headers = { "X Bad" = "v" }\n')
    with in_process_baton(capsys) as baton:
        result = baton("--as", "root", "tools", "list")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "tools.http[0] (crm.badhdr)" in result.stderr and "'X Bad'" in result.stderr
