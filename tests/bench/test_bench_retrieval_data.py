"""The retrieval benchmark reads the benchmark data as ``evals.retrieval`` does: a missing file is
one line and exit 2, and goals without a gold call are skipped and counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = {"api_name": "analyzeEvidence", "api_description": "Analyse chemical evidence.",
        "parameters": {"sample": {"type": "str", "description": "The sample."}},
        "required": ["sample"], "responses": {"result": {"type": "str", "description": "What."}}}
GOAL = {"id": "g0", "query": "Analyse the chemical evidence.",
        "calling": [{"api": "analyzeEvidence", "parameters": {"sample": "swab"},
                     "responses": ["API_call_0"]}]}


def _seal_data(root: Path, *goals: dict) -> Path:
    (root / "seal-tools").mkdir(parents=True)
    (root / "seal-tools" / "tool.jsonl").write_text(json.dumps(TOOL) + "\n", encoding="utf-8")
    (root / "seal-tools" / "test_in_domain.jsonl").write_text(
        "".join(json.dumps(g) + "\n" for g in goals), encoding="utf-8")
    return root


def _bench(data: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench.bench_retrieval"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "BATON_EVALS_DATA": str(data)})


def test_missing_data_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nowhere"
    done = _bench(missing, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"python -m bench.bench_retrieval: error: BATON_EVALS_DATA={missing} "
                           "is not a directory\n")


def test_goals_without_a_gold_call_are_skipped_and_counted(tmp_path):
    data = _seal_data(tmp_path / "evals", GOAL, {"id": "x", "query": "say hello", "calling": []})
    done = _bench(data, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 tools, 1 goals" in done.stdout
    assert "1 goal without gold calls skipped" in done.stdout
    assert "recall@20 1.000" in done.stdout


def test_no_goal_with_a_gold_call_is_one_line_and_exit_2(tmp_path):
    data = _seal_data(tmp_path / "evals", {"id": "x", "query": "say hello", "calling": []})
    done = _bench(data, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"python -m bench.bench_retrieval: error: "
                           f"{data / 'seal-tools' / 'test_in_domain.jsonl'}: no goal has a gold "
                           "call to look for\n")
