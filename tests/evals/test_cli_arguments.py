"""Eval command lines refuse nonsense before any case runs: a usage error is exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

import evals.planner
import evals.retrieval
from evals.policies.__main__ import main as policies_main


@pytest.mark.parametrize("option, value", [("--max-tools", "0"), ("--max-tools", "-1"),
                                           ("--max-tools", "two"), ("--timeout", "0"),
                                           ("--timeout", "-1"), ("--timeout", "nan"),
                                           ("--timeout", "soon")])
def test_the_planner_eval_refuses_a_count_or_timeout_below_one(option, value, capsys):
    with pytest.raises(SystemExit) as stopped:
        evals.planner.parse_args(["--dataset", "bfcl", option, value])
    assert stopped.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


def test_the_planner_eval_accepts_a_fractional_timeout():
    args = ["--dataset", "bfcl", "--base-url", "http://127.0.0.1:9/v1", "--timeout", "0.5"]
    assert evals.planner.parse_args(args).llm.timeout_s == 0.5


@pytest.mark.parametrize("k", ["0", "-1"])
def test_retrieval_refuses_k_below_one(k, capsys):
    with pytest.raises(SystemExit) as stopped:
        evals.retrieval.main(["--k", "5", k])
    assert stopped.value.code == 2
    assert "argument --k: " in capsys.readouterr().err


def _no_run(*_args, **_kwargs):
    raise AssertionError("the evaluation ran although --out cannot be written")


@pytest.mark.parametrize("main, module, args", [
    (evals.planner.main, evals.planner, ["--dataset", "bfcl", "--planner", "gold"]),
    (evals.retrieval.main, evals.retrieval, []),
    (policies_main, None, []),
])
def test_an_out_folder_that_is_a_file_is_refused_before_anything_runs(
        tmp_path, monkeypatch, capsys, main, module, args):
    if module is not None:
        monkeypatch.setattr(module, "evaluate", _no_run)
    else:
        import evals.policies.__main__ as policies_cli

        monkeypatch.setattr(policies_cli, "run_corpus", _no_run)
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    for out in (taken, taken / "below"):
        with pytest.raises(SystemExit) as stopped:
            main([*args, "--out", str(out)])
        assert stopped.value.code == 2
        assert f"argument --out: {out} cannot be used as a folder" in capsys.readouterr().err


def test_the_planner_eval_writes_into_a_new_nested_out_folder(tmp_path):
    out = tmp_path / "a" / "b"
    done = subprocess.run([sys.executable, "-m", "evals.planner", "--dataset", "bfcl",
                           "--planner", "gold", "--limit", "1", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert (out / "bfcl-gold.json").is_file()
