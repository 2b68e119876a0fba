"""A plan string holding ``${secret:`` that is no whole ``${secret:NAME}`` is invalid.

``Bearer ${secret:MY TOKEN}`` (a space) or an unclosed ``${secret:TOKEN`` passed validation,
the policy and approval, and ``http.request`` refused it only when the step ran: an approver
signed off a plan that could never run. In any tool's argument (keys too) such text is
judged by no secret rule and filled by nothing, so validation refuses it, naming the step,
the path and the broken reference, by the grammar the tools use (``tools.secret_names``).
"""

from __future__ import annotations

import json

import pytest

from planner import ProblemCode, validate_plan
from planner.llm import LLMConfig, LLMPlanner
from tests.support.cli_in_process import in_process_baton
from tests.support.openai_server import Completion
from tools import ToolRegistry
from tools.builtin import register_builtin_tools

C = ProblemCode


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> ToolRegistry:
    reg = ToolRegistry()
    register_builtin_tools(reg, workspace=tmp_path_factory.mktemp("ws"))
    return reg


def post(headers: dict, **args) -> dict:
    return {"goal": "post the total", "steps": [{"id": "post", "tool": "http.request", "args": {
        "method": "POST", "url": "https://hooks.example.com/x", "headers": headers, **args}}]}


@pytest.mark.parametrize(("value", "shown"), [
    ("Bearer ${secret:MY TOKEN}", "'${secret:MY TOKEN}'"),
    ("Bearer ${secret:TOKEN", "'${secret:TOKEN'"),
    ("${secret:}", "'${secret:}'"),
    ("${secret:OK} and ${secret:not ok}", "'${secret:not ok}'"),
])
def test_a_broken_header_reference_is_refused_naming_step_path_and_text(registry, value, shown):
    report = validate_plan(post({"Authorization": value}), registry)
    assert not report.ok
    [problem] = report.problems
    assert (problem.code, problem.step) == (C.MALFORMED_SECRET_REF, "post")
    assert problem.path == "$.steps[0].args.headers.Authorization"
    assert shown in problem.message and "${secret:NAME}" in problem.message


def test_any_argument_of_any_tool_and_any_key_is_read(registry):
    document = {"goal": "g", "steps": [
        {"id": "save", "tool": "files.write", "args": {"path": "a", "text": "x ${secret:A B}"}},
        {"id": "post", "tool": "http.request", "args": {
            "method": "POST", "url": "https://h.example/?k=${secret:&token=s3cr3t-value",
            "json": {"list": ["ok", {"${secret:K": 1}]}}}]}
    problems = validate_plan(document, registry).problems
    found = {(p.step, p.path) for p in problems if p.code is C.MALFORMED_SECRET_REF}
    # Quoted up to where a URL's credential may start, never past it.
    assert not any("s3cr3t" in p.message for p in problems)
    assert found == {("save", "$.steps[0].args.text"), ("post", "$.steps[1].args.url"),
                     ("post", "$.steps[1].args.json.list[1]['${secret:K']")}


def test_whole_references_and_plain_text_stay_valid(registry):
    document = post({"Authorization": "Bearer ${secret:T}", "X-Id": "${secret:a.b-c}${secret:_d}"},
                    body="price: $5, {braces} and ${other}")
    assert validate_plan(document, registry).ok


def test_a_shell_expansion_of_a_variable_named_secret_stays_valid(registry):
    # POSIX ${secret:-default}, ${secret:=x}, ${secret:?msg}, ${secret:+x}: no NAME starts so,
    # so it is no reference written wrong.
    script = 'T="${secret:-}" U="${secret:=x}" V="${secret:?unset}" W="${secret:+y}"'
    assert validate_plan(post({}, body=script), registry).ok


def test_the_llm_repair_loop_sends_the_problem_back(openai_server, registry):
    def reply(header: str) -> str:
        args = post({"Authorization": header})["steps"][0]["args"]
        return json.dumps({"steps": [{"id": "post", "tool": "http.request",
                                      "args_json": json.dumps(args)}]})

    openai_server.script(Completion(content=reply("Bearer ${secret:MY TOKEN}")),
                         Completion(content=reply("Bearer ${secret:MY_TOKEN}")))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0, backoff_s=0.01))
    result = planner.plan("post the total", registry)
    assert result.plan.steps[0].args["headers"] == {"Authorization": "Bearer ${secret:MY_TOKEN}"}
    repair = openai_server.requests[1]["messages"][-1]["content"]
    assert ("code=malformed_secret_ref step=post path=$.steps[0].args.headers.Authorization"
            in repair and "${secret:MY TOKEN}" in repair)


def test_baton_validate_exits_1_listing_the_problem(data_dir, monkeypatch, capsys):
    (data_dir / "baton.toml").write_text('[users.alice]\nroles = ["analyst"]\n')
    monkeypatch.setenv("BATON_DATA_DIR", str(data_dir / "data"))
    (data_dir / "plan.json").write_text(json.dumps(post({"Authorization": "${secret:TOKEN"})))
    with in_process_baton(capsys) as baton:
        result = baton("validate", "plan.json")
    assert result.returncode == 1
    assert "malformed_secret_ref" in result.stdout and "'${secret:TOKEN'" in result.stdout
