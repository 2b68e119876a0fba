"""``--planner llm`` without an endpoint or a model is a usage error, exit 2, before any case is
loaded or ``--out`` is made."""

from __future__ import annotations

import pytest

import evals.planner


@pytest.fixture
def no_loading(monkeypatch):
    def loaded(*_args, **_kwargs):
        raise AssertionError("cases were loaded although the command line is unusable")

    monkeypatch.setattr(evals.planner, "load_cases", loaded)
    monkeypatch.delenv("BATON_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("BATON_LLM_MODEL", raising=False)


def _usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stopped:
        evals.planner.main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_llm_without_a_base_url_is_a_usage_error(no_loading, tmp_path, capsys):
    out = tmp_path / "out"
    err = _usage_error(["--dataset", "bfcl", "--out", str(out)], capsys)
    assert err.startswith("usage: python -m evals.planner")
    assert err.endswith("python -m evals.planner: error: --planner llm needs --base-url or "
                        "BATON_LLM_BASE_URL\n")
    assert not out.exists()


@pytest.mark.parametrize("model", ["", "   "])
def test_an_empty_model_is_a_usage_error(no_loading, tmp_path, capsys, model):
    err = _usage_error(["--dataset", "bfcl", "--base-url", "http://127.0.0.1:9/v1",
                        "--model", model, "--out", str(tmp_path)], capsys)
    assert err.endswith("python -m evals.planner: error: argument --model: a model name is "
                        "needed (--model or BATON_LLM_MODEL)\n")
    assert "Traceback" not in err


def test_an_empty_model_in_the_environment_is_a_usage_error(no_loading, tmp_path, capsys,
                                                             monkeypatch):
    monkeypatch.setenv("BATON_LLM_MODEL", "")
    err = _usage_error(["--dataset", "bfcl", "--base-url", "http://127.0.0.1:9/v1",
                        "--out", str(tmp_path)], capsys)
    assert "argument --model: a model name is needed" in err


def test_replayed_planners_need_neither(no_loading, tmp_path, monkeypatch):
    monkeypatch.setenv("BATON_LLM_MODEL", "")
    args = evals.planner.parse_args(["--dataset", "bfcl", "--planner", "gold",
                                     "--out", str(tmp_path)])
    assert args.planner == "gold"
