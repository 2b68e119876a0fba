"""Without the benchmark data, an evaluation says where it looked in one line and exits 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module, args", [("evals.planner", ["--dataset", "bfcl", "--planner", "gold"]),
                                          ("evals.retrieval", [])])
def test_an_evaluation_without_its_data_is_one_line_and_exit_2(tmp_path, module, args):
    missing = tmp_path / "nowhere"
    done = subprocess.run([sys.executable, "-m", module, *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "BATON_EVALS_DATA": str(missing)})
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"python -m {module}: error: BATON_EVALS_DATA={missing} is not a directory\n"


@pytest.mark.parametrize("dataset, missing", [("bfcl", "bfcl/answer_BFCL_v4_parallel_multiple.json"),
                                              ("seal-tools", "seal-tools/test_in_domain.jsonl")])
def test_a_data_folder_without_a_dataset_names_the_missing_file(tmp_path, dataset, missing):
    data = tmp_path / "evals"
    data.mkdir()
    done = subprocess.run([sys.executable, "-m", "evals.planner", "--dataset", dataset,
                           "--planner", "gold", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "BATON_EVALS_DATA": str(data)})
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"python -m evals.planner: error: benchmark data file {data / missing} "
                           "is missing\n")
