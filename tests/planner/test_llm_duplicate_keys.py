"""A model's reply that writes a key twice in one object is sent back for repair, as
``baton plan --file`` refuses such a document: which of the two values was meant is not
known. The reply was read last-wins: ``"tool"`` twice in a step, two ``"steps"`` lists or an
argument twice in ``args_json`` silently became whichever came last."""

from __future__ import annotations

import json

import pytest

from planner.llm import LLMConfig, LLMPlanner
from planner.llm.prompt import candidate_document
from planner.loading import load_plan_document
from planner.problems import ProblemCode
from tests.support.openai_server import Completion
from tools import ToolRegistry

TWICE = "key {!r} appears twice in one object; keep only one"
STEP = ('{"id": "a", "tool": "files.read", "args_json": "{\\"path\\": \\"a.csv\\"}", '
        '"depends_on": [], "why": "read", "retry": null, "timeout_s": null}')
GOOD = f'{{"steps": [{STEP}]}}'


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("files.read")
    def read(path: str) -> str:
        """Read a text file from the workspace."""
        return ""

    @reg.tool("files.write", effect="write")
    def write(path: str, text: str) -> bool:
        """Write a text file in the workspace."""
        return True

    return reg


@pytest.mark.parametrize(("reply", "key"), [
    ('{"steps": [{"id": "a", "tool": "files.read", "tool": "files.write", '
     '"args": {"path": "out.txt", "text": "x"}}]}', "tool"),
    (f'{{"steps": [{STEP}], "steps": []}}', "steps"),
    ('{"steps": [{"id": "a", "tool": "files.read", "args": {"path": "a", "path": "b"}}]}',
     "path"),
    (f'{{"plan": {GOOD}, "plan": {{"steps": []}}}}', "plan"),
    (f'Here is the plan:\n```json\n{{"steps": [{STEP}], "steps": []}}\n```', "steps"),
    (f'Here is the plan: {{"steps": [{STEP}], "steps": []}} as asked.', "steps"),
])
def test_a_reply_writing_a_key_twice_gives_no_plan_but_the_problem(reply, key):
    document, problems, _ = candidate_document("Read a.csv", reply, max_steps=200)
    assert document is None
    (problem,) = problems
    assert problem.code is ProblemCode.MALFORMED_DOCUMENT
    assert problem.message == f"the reply is invalid JSON: {TWICE.format(key)}"


def test_an_argument_twice_in_args_json_is_a_problem_of_that_step():
    step = {"id": "a", "tool": "files.read", "args_json": '{"path": "a.csv", "path": "b.csv"}'}
    document, problems, _ = candidate_document(
        "Read a.csv", json.dumps({"steps": [step]}), max_steps=200)
    assert document is None
    (problem,) = problems
    assert (problem.step, problem.path) == ("a", "$.steps[0].args_json")
    assert problem.message == f"args_json is not valid JSON: {TWICE.format('path')}"


def test_the_problem_reads_as_a_plan_file_refused_for_the_same_key():
    (refused,) = load_plan_document(
        '{"steps": [{"id": "a", "tool": "files.read", "tool": "files.write"}]}',
        filename="plan.json")[1]
    (problem,) = candidate_document(
        "g", '{"steps": [{"id": "a", "tool": "files.read", "tool": "files.write"}]}',
        max_steps=200).problems
    assert refused.message == f"invalid JSON: {TWICE.format('tool')}"
    assert problem.message.endswith(refused.message)


def test_a_plan_after_a_draft_with_a_key_twice_is_not_read_in_its_place():
    # The draft may be the plan the model meant: neither is taken.
    reply = f'Draft: {{"steps": [{STEP}], "steps": []}}\nFinal: {GOOD}'
    document, problems, _ = candidate_document("Read a.csv", reply, max_steps=200)
    assert document is None and problems[0].message.endswith(TWICE.format("steps"))


def test_the_problem_goes_back_to_the_model_which_repairs_the_reply(openai_server, registry):
    openai_server.script(
        Completion(content='{"steps": [{"id": "a", "tool": "files.read", "tool": "files.write",'
                           ' "args_json": "{\\"path\\": \\"out.txt\\", \\"text\\": \\"x\\"}"}]}'),
        Completion(content=GOOD))
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0))
    result = planner.plan("Read a.csv", registry)
    assert [(s.tool, s.args) for s in result.plan.steps] == [("files.read", {"path": "a.csv"})]
    repair = openai_server.requests[1]["messages"][-1]["content"]
    assert f"the reply is invalid JSON: {TWICE.format('tool')}" in repair
    (first, _) = result.trace.exchanges
    assert [p.message for p in first.problems] == [
        f"the reply is invalid JSON: {TWICE.format('tool')}"]


def test_a_reply_without_a_key_twice_is_read_as_before():
    document, problems, _ = candidate_document("Read a.csv", GOOD, max_steps=200)
    assert problems == [] and document == {"goal": "Read a.csv", "steps": [
        {"id": "a", "tool": "files.read", "why": "read", "args": {"path": "a.csv"}}]}
