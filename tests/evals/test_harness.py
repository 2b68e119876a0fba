"""The harness samples cases, runs them one by one and aggregates what they scored."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

import evals.planner
from evals import harness
from evals.datasets.bfcl import case
from evals.harness import CaseResult, aggregate
from evals.metrics import Counts
from evals.planner import main, markdown
from planner.llm import LLMConfig, LLMPlanner

# One BFCL-shaped record, so these tests need no benchmark data.
RECORD = (
    {"id": "one", "question": [[{"role": "user", "content": "Weather in Paris and in Rome."}]],
     "function": [{"name": "weather", "parameters": {
         "type": "dict", "required": ["city"], "properties": {"city": {"type": "string"}}}}]},
    {"id": "one", "ground_truth": [{"weather": {"city": ["Paris"]}},
                                   {"weather": {"city": ["Rome"]}}]},
)


@pytest.fixture
def every_gold_plan_valid(monkeypatch):
    monkeypatch.setattr(harness, "validate_plan", lambda *a, **k: SimpleNamespace(ok=True))


def cases(n: int) -> list:
    return [SimpleNamespace(id=i, gold_plan=None, registry=None) for i in range(n)]


@pytest.mark.parametrize("limit", [1, 50, 300, 400, 699, 700])
def test_limit_spreads_over_the_whole_dataset(every_gold_plan_valid, limit):
    good, skipped = harness.sample(cases(700), limit)
    ids = [c.id for c in good]
    assert len(set(ids)) == len(ids) == limit and not skipped
    gaps = [b - a for a, b in zip([0, *sorted(ids)], [*sorted(ids), 700], strict=True)]
    assert max(gaps) <= -(-700 // limit) + 1  # no stretch of the dataset left out, the end included


def test_a_limit_past_the_dataset_takes_it_all_in_order(every_gold_plan_valid):
    assert [c.id for c in harness.sample(cases(5), 9)[0]] == [0, 1, 2, 3, 4]
    assert [c.id for c in harness.sample(cases(5), None)[0]] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("limit", ["0", "-3"])
def test_a_limit_below_one_is_a_usage_error(tmp_path, capsys, limit):
    with pytest.raises(SystemExit) as stop:
        main(["--dataset", "bfcl", "--planner", "gold", "--limit", limit, "--out", str(tmp_path)])
    assert stop.value.code == 2 and "--limit" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_an_eval_of_no_cases_scores_nothing_rather_than_perfect():
    metrics = aggregate([])
    assert metrics["valid_plan_rate"] is None and metrics["attempts_per_plan"] is None
    for name in ("tool", "argument", "edge"):
        assert metrics[name]["f1"] is metrics[name]["precision"] is None, name


def test_cases_the_model_never_answered_leave_the_scores_not_applicable():
    unanswered = [CaseResult(id=str(i), valid=False, error="endpoint_unreachable", model_calls=4,
                             tools=Counts(fn=2), args=Counts(fn=4)) for i in range(2)]
    metrics = aggregate(unanswered)
    assert metrics["cases"] == 2 and metrics["answered_cases"] == 0
    assert metrics["valid_plan_rate"] == 0.0 and metrics["errors"] == {"endpoint_unreachable": 2}
    assert all(metrics[n]["precision"] is None for n in ("tool", "argument", "edge"))
    table = markdown({"dataset": "bfcl", "planner": "llm", "model": "m", "metrics": metrics,
                      "gold_invalid_skipped": []})
    assert "| tool P / R / F1 | n/a |" in table and "1.000" not in table


def test_an_eval_where_every_case_errored_exits_non_zero(tmp_path, monkeypatch, capsys,
                                                          openai_server):
    monkeypatch.setattr(evals.planner, "load_cases", lambda dataset: [case(*RECORD)])
    # Nothing scripted: the endpoint answers every request 400.
    code = main(["--dataset", "bfcl", "--planner", "llm", "--base-url", openai_server.base_url,
                 "--limit", "1", "--out", str(tmp_path)])
    assert code == 1
    assert "every case errored" in capsys.readouterr().err
    doc = json.loads((tmp_path / "bfcl-llm.json").read_text())
    assert doc["metrics"]["tool"]["f1"] is None and doc["cases"][0]["error"]


def test_an_unexpected_exception_in_one_case_is_its_error_and_the_run_goes_on(monkeypatch):
    real_plan, calls = LLMPlanner.plan, []

    def plan_once_broken(self, goal, registry):
        calls.append(goal)
        if len(calls) == 1:
            raise KeyError("broken")
        return real_plan(self, goal, registry)

    monkeypatch.setattr(LLMPlanner, "plan", plan_once_broken)
    first, second = harness.run_replay([case(*RECORD), case(*RECORD)], "gold", {})
    assert (first.valid, first.error) == (False, "KeyError") and "broken" in first.detail
    assert second.valid and second.error is None and second.args == Counts(2, 0, 0)


def test_an_unexpected_error_text_never_shows_the_endpoints_secrets():
    config = LLMConfig(base_url="http://user:url-password-1234@127.0.0.1:1/v1", model="m",
                       api_key=SecretStr("sk-the-api-key-5678"))

    class Failing:
        def __init__(self) -> None:
            self.config = config

        def plan(self, goal, registry):
            raise RuntimeError("sent sk-the-api-key-5678 to url-password-1234@127.0.0.1")

    result = harness.run_case(Failing(), case(*RECORD))
    assert result.error == "RuntimeError" and "sent" in result.detail
    assert "sk-the-api-key-5678" not in result.detail and "url-password-1234" not in result.detail


def test_the_result_files_never_show_the_endpoints_credentials(tmp_path, monkeypatch,
                                                               openai_server):
    monkeypatch.setattr(evals.planner, "load_cases", lambda dataset: [case(*RECORD)])
    url = openai_server.base_url.replace("http://", "http://evals:pass-word-9876@")
    main(["--dataset", "bfcl", "--planner", "llm", "--base-url", url, "--limit", "1",
          "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "bfcl-llm.json").read_text())
    assert doc["base_url"] == url.replace("pass-word-9876", "***")
    for written in tmp_path.iterdir():
        assert "pass-word-9876" not in written.read_text(), written.name
