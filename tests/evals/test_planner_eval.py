"""The evaluation harness runs the real LLM planner against the scripted server replaying plans."""

from __future__ import annotations

import json

import pytest

from evals.data import EvalDataError, data_dir
from evals.datasets import load_cases
from evals.metrics import arg_counts
from evals.planner import main
from planner.plan import Plan
from tests.support.openai_server import refuse_remote_endpoints


def _data_missing() -> str | None:
    try:
        data_dir()
    except EvalDataError as exc:
        return exc.message
    return None


# The benchmark data is public data kept outside the project (../shared/evals/, or
# BATON_EVALS_DATA); CI has it beside the checkout. Elsewhere these tests say why they skip.
pytestmark = pytest.mark.skipif(_data_missing() is not None, reason=str(_data_missing()))


@pytest.fixture(autouse=True)
def _no_remote_models(monkeypatch):
    refuse_remote_endpoints(monkeypatch)


def run(tmp_path, dataset: str, planner: str) -> dict:
    assert main(["--dataset", dataset, "--planner", planner, "--limit", "10",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / f"{dataset}-{planner}.json").read_text())
    assert (tmp_path / f"{dataset}-{planner}.md").read_text().startswith(f"## {dataset}")
    return doc


@pytest.mark.parametrize("dataset", ["seal-tools", "bfcl"])
def test_replaying_gold_plans_scores_perfect(tmp_path, dataset):
    metrics = run(tmp_path, dataset, "gold")["metrics"]
    assert metrics["cases"] == 10
    assert metrics["valid_plan_rate"] == 1.0 and metrics["attempts_per_plan"] == 1.0
    for name in ("tool", "argument", "edge"):
        assert metrics[name]["f1"] == 1.0, name
    assert metrics["errors"] == {}


@pytest.mark.parametrize("dataset", ["seal-tools", "bfcl"])
def test_every_damaged_plan_scores_below_perfect(tmp_path, dataset):
    doc = run(tmp_path, dataset, "damaged")
    assert doc["metrics"]["cases"] == 10
    for case in doc["cases"]:
        perfect = case["valid"] and all(case[k]["f1"] == 1.0 for k in ("tools", "args", "edges"))
        assert not perfect, case["id"]
    assert doc["metrics"]["tool"]["f1"] < 1.0 and doc["metrics"]["argument"]["f1"] < 1.0
    assert set(doc["metrics"]["damages"]) <= {"wrong_tool", "dropped_arg", "invented_edge"}


def test_bfcl_invented_edges_count_against_the_plan(tmp_path):
    doc = run(tmp_path, "bfcl", "damaged")
    invented = [c for c in doc["cases"] if c["damage"] == "invented_edge"]
    assert invented and all(c["edges"]["fp"] == 1 and c["edges"]["precision"] == 0.0
                            for c in invented)


def test_seal_tools_api_call_placeholders_become_references():
    case = next(c for c in load_cases("seal-tools") if c.id == "test_in_domain-difficult-225")
    project = case.gold_plan.step("call_1")
    assert project.args == {"project_id": {"ref": "call_0.species"}}
    assert project.dependencies() == ("call_0",)
    assert isinstance(case.gold_plan, Plan) and len(case.registry) == 4076


def test_bfcl_gold_takes_the_first_acceptable_value_and_leaves_optional_empties_out():
    case = load_cases("bfcl", limit=1)[0]
    assert [s.tool for s in case.gold_plan.steps] == [
        "math_toolkit.sum_of_multiples", "math_toolkit.product_of_primes"]
    assert case.gold_plan.steps[0].args == {"lower_limit": 1, "upper_limit": 1000,
                                            "multiples": [3, 5]}
    assert all(not s.depends_on for s in case.gold_plan.steps)


def test_bfcl_nested_ground_truth_becomes_plain_values_and_a_correct_answer_scores_perfect():
    case = next(c for c in load_cases("bfcl") if c.id == "parallel_multiple_65")
    step = next(s for s in case.gold_plan.steps if s.tool == "realestate.find_properties")
    assert step.args["budget"] == {"min": 500000, "max": 800000}
    assert arg_counts(case.gold_plan, case.gold_calls, case.gold_plan).f1 == 1.0


def test_replay_runs_from_any_directory_with_only_the_installed_package(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "evals.planner", "--dataset", "bfcl", "--limit", "2",
                           "--planner", "gold", "--out", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "bfcl-gold.json").read_text())["metrics"]["tool"]["f1"] == 1.0
