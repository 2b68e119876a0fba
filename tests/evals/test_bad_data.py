"""A bad benchmark line is one error naming its file and line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evals.data import EvalDataError
from evals.datasets import bfcl, seal_tools

GOOD_GOAL = {"id": "g0", "query": "Analyse the evidence.",
             "calling": [{"api": "analyzeEvidence", "parameters": {"sample": "swab"},
                          "responses": ["API_call_0"]}]}
TOOL = {"api_name": "analyzeEvidence", "api_description": "Analyse chemical evidence.",
        "parameters": {"sample": {"type": "str", "description": "The sample."}},
        "required": ["sample"], "responses": {"result": {"type": "str", "description": "What."}}}
QUESTION = {"id": "q0", "question": [[{"role": "user", "content": "Add 1 and 2."}]],
            "function": [{"name": "add", "description": "Add.",
                          "parameters": {"type": "dict", "properties": {"a": {"type": "integer"}},
                                         "required": ["a"]}}]}
ANSWER = {"id": "q0", "ground_truth": [{"add": {"a": [1]}}]}


def _jsonl(path: Path, *lines: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


def seal_data(root: Path, *goals: object, tools: tuple[object, ...] = (TOOL,)) -> Path:
    """A Seal-Tools folder under ``root`` holding these goal lines and tool lines."""
    _jsonl(root / "seal-tools" / "tool.jsonl", *tools)
    _jsonl(root / "seal-tools" / "test_in_domain.jsonl", *goals)
    return root


def bfcl_data(root: Path, questions: tuple[object, ...] = (QUESTION,),
              answers: tuple[object, ...] = (ANSWER,)) -> Path:
    """A BFCL folder: the first file holds these lines, the live file is empty."""
    for name in bfcl.FILES:
        first = name == bfcl.FILES[0]
        _jsonl(root / "bfcl" / name, *(questions if first else ()))
        _jsonl(root / "bfcl" / f"answer_{name}", *(answers if first else ()))
    return root


@pytest.fixture
def data(tmp_path, monkeypatch):
    root = tmp_path / "evals"
    monkeypatch.setenv("BATON_EVALS_DATA", str(root))
    return root


@pytest.mark.parametrize("line, problem", [
    ('{"id": "x",', "not JSON (Expecting property name enclosed in double quotes, column 12)"),
    ('["a list"]', "expected a JSON object, found an array"),
    ({"id": "x", "query": "q"}, "no 'calling' field"),
    ({"query": "q", "calling": []}, "no 'id' field"),
    ({"id": "x", "query": "q", "calling": "getA"}, "'calling' is a string, expected an array"),
    ({"id": "x", "query": 3, "calling": []}, "'query' is a number, expected a string"),
    ({"id": "x", "query": "q", "calling": [{"parameters": {}}]},
     "calling[0]: no 'api' field"),
    ({"id": "x", "query": "q", "calling": [{"api": "a", "parameters": []}]},
     "calling[0]: 'parameters' is an array, expected an object"),
    ({"id": "x", "query": "q", "calling": ["getA"]},
     "calling[0]: expected a JSON object, found a string"),
    ({"id": "x", "query": " ", "calling": []}, "'query' is empty"),
    ({"id": "x", "query": "q", "calling": [{"api": "a", "responses": [{"a": 1}]}]},
     "calling[0]: responses[0] is an object, expected a string"),
])
def test_a_bad_seal_goal_line_is_named_by_file_and_line(data, line, problem):
    path = seal_data(data, GOOD_GOAL, "", line) / "seal-tools" / "test_in_domain.jsonl"
    with pytest.raises(EvalDataError) as caught:
        seal_tools.records()
    assert caught.value.message == f"{path}:3: {problem}"


def test_a_bad_seal_tool_line_is_named_by_file_and_line(data):
    path = seal_data(data, GOOD_GOAL, tools=(TOOL, {"api_description": "no name"})) / "seal-tools"
    with pytest.raises(EvalDataError) as caught:
        seal_tools.tool_records.__wrapped__()
    assert caught.value.message == f"{path / 'tool.jsonl'}:2: no 'api_name' field"


def test_a_seal_tool_named_twice_is_named_by_file_and_line(data):
    path = seal_data(data, GOOD_GOAL, tools=(TOOL, TOOL)) / "seal-tools" / "tool.jsonl"
    with pytest.raises(EvalDataError) as caught:
        seal_tools.tool_records.__wrapped__()
    assert caught.value.message == f"{path}:2: api_name 'analyzeEvidence' given twice"


def test_the_seal_limit_stops_reading_before_a_later_bad_line(data):
    seal_data(data, GOOD_GOAL, '{"id": "x",')
    assert [r["id"] for r in seal_tools.records(limit=1)] == ["g0"]


@pytest.mark.parametrize("questions, answers, which, problem", [
    ((QUESTION, {k: v for k, v in QUESTION.items() if k != "id"}), (ANSWER,), "",
     "2: no 'id' field"),
    ((QUESTION,), ({"id": "q0"},), "answer_", "1: no 'ground_truth' field"),
    ((QUESTION,), ("{",), "answer_",
     "1: not JSON (Expecting property name enclosed in double quotes, column 2)"),
    ((QUESTION,), ({"id": "q0", "ground_truth": [{"add": {"a": [1]}, "sub": {}}]},), "answer_",
     "1: ground_truth[0]: expected one tool name, found 2"),
    ((QUESTION,), ({"id": "q0", "ground_truth": [{"add": {"a": 1}}]},), "answer_",
     "1: ground_truth[0]: argument 'a' of add is a number, expected an array of acceptable values"),
    (({**QUESTION, "function": [{"description": "nameless"}]},), (ANSWER,), "",
     "1: function[0]: no 'name' field"),
    (({**QUESTION, "question": [["hello"]]},), (ANSWER,), "",
     "1: question: expected messages as JSON objects, found a string"),
    (({**QUESTION, "question": [[{"role": "system", "content": "Be brief."}]]},), (ANSWER,), "",
     "1: question: no user message with text"),
    (({**QUESTION, "function": [{"name": "add", "parameters": []}]},), (ANSWER,), "",
     "1: function[0]: 'parameters' is an array, expected an object"),
    (({**QUESTION, "function": [{"name": "add", "parameters": {"properties": []}}]},),
     (ANSWER,), "", "1: function[0]: parameters: 'properties' is an array, expected an object"),
    (({**QUESTION, "function": QUESTION["function"] * 2},), (ANSWER,), "",
     "1: function[1]: name 'add' given twice"),
])
def test_a_bad_bfcl_line_is_named_by_file_and_line(data, questions, answers, which, problem):
    bfcl_data(data, questions, answers)
    with pytest.raises(EvalDataError) as caught:
        bfcl.records()
    assert caught.value.message == f"{data / 'bfcl' / (which + bfcl.FILES[0])}:{problem}"


def test_a_question_without_an_answer_is_named_not_dropped(data):
    bfcl_data(data, (QUESTION, {**QUESTION, "id": "q1"}), (ANSWER,))
    with pytest.raises(EvalDataError) as caught:
        bfcl.records()
    assert caught.value.message == (f"{data / 'bfcl' / ('answer_' + bfcl.FILES[0])}: no answer "
                                    f"for 1 question(s) of {bfcl.FILES[0]}, first 'q1'")


def test_a_record_the_checks_pass_but_baton_refuses_is_named_not_a_traceback(data):
    odd = {**QUESTION, "function": [{"name": "add", "parameters": {"required": [{"a": 1}]}}]}
    bfcl_data(data, (odd,))
    with pytest.raises(EvalDataError) as caught:
        bfcl.load_cases()
    assert caught.value.message.startswith(
        f"{data / 'bfcl'}: record 'q0' cannot be made a case: ")
    assert "\n" not in caught.value.message


def test_good_small_data_still_loads(data):
    bfcl_data(data)
    seal_data(data, GOOD_GOAL)
    assert [c.id for c in bfcl.load_cases()] == ["q0"]
    assert [r["id"] for r in seal_tools.records()] == ["g0"]


@pytest.mark.parametrize("module, args", [
    ("evals.planner", ["--dataset", "seal-tools", "--planner", "gold"]), ("evals.retrieval", [])])
def test_a_bad_line_is_one_line_on_stderr_and_exit_2(tmp_path, module, args):
    root = seal_data(tmp_path / "evals", GOOD_GOAL, {"id": "x", "query": "q"})
    done = subprocess.run([sys.executable, "-m", module, *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "BATON_EVALS_DATA": str(root)})
    assert done.returncode == 2, done.stderr
    goals = root / "seal-tools" / "test_in_domain.jsonl"
    assert done.stderr == f"python -m {module}: error: {goals}:2: no 'calling' field\n"
    assert done.stdout == ""


# "é" takes two bytes: the offset counts bytes of the file, not characters.
NOT_UTF8 = json.dumps({"id": "é", "query": "q", "calling": []}, ensure_ascii=False).encode()
BAD_AT = len(NOT_UTF8) + 1 + len(b'{"id": "x", "query": "caf')


def _not_utf8_goals(root: Path) -> Path:
    """A Seal-Tools folder whose second goal line holds Latin-1 text ("café" as 0xe9)."""
    seal_data(root, GOOD_GOAL)
    goals = root / "seal-tools" / "test_in_domain.jsonl"
    goals.write_bytes(NOT_UTF8 + b"\n" + b'{"id": "x", "query": "caf\xe9", "calling": []}\n')
    return goals


def test_a_file_that_is_not_utf8_is_named_with_the_byte_offset(data):
    goals = _not_utf8_goals(data)
    with pytest.raises(EvalDataError) as caught:
        seal_tools.records()
    assert caught.value.message == (f"{goals}:2: not UTF-8 (invalid continuation byte 0xe9 "
                                    f"at byte offset {BAD_AT})")
    assert goals.read_bytes()[BAD_AT] == 0xE9
    assert [r["id"] for r in seal_tools.records(limit=1)] == ["é"]  # the limit stops before it


def test_a_file_that_is_not_utf8_is_one_line_on_stderr_and_exit_2(tmp_path):
    goals = _not_utf8_goals(tmp_path / "evals")
    done = _retrieval(tmp_path, tmp_path / "evals")
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"python -m evals.retrieval: error: {goals}:2: not UTF-8 (invalid "
                           f"continuation byte 0xe9 at byte offset {BAD_AT})\n")
    assert done.stdout == ""


def _retrieval(tmp_path: Path, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "evals.retrieval", "--k", "1",
                           "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "BATON_EVALS_DATA": str(root)})


def test_retrieval_skips_and_counts_goals_without_gold_calls(tmp_path):
    root = seal_data(tmp_path / "evals", GOOD_GOAL, {"id": "x", "query": "q", "calling": []})
    done = _retrieval(tmp_path, root)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "out" / "retrieval.json").read_text())
    assert doc["goals"] == 1 and doc["goals_without_gold_calls"] == 1
    assert doc["by_k"]["1"]["recall"] == 1.0
    assert "1 goal without gold calls skipped" in done.stdout


def test_retrieval_with_no_goal_to_score_is_one_line_and_exit_2(tmp_path):
    root = seal_data(tmp_path / "evals", {"id": "x", "query": "q", "calling": []})
    done = _retrieval(tmp_path, root)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"python -m evals.retrieval: error: "
                           f"{root / 'seal-tools' / 'test_in_domain.jsonl'}: no goal has a gold "
                           "call to look for\n")
