"""The planner eval refuses an endpoint URL the LLM client cannot use, by the rule baton's own
``llm.base_url`` setting follows: a usage error (exit 2) before any case runs, not a traceback
per case."""

from __future__ import annotations

import pytest

import evals.planner


@pytest.mark.parametrize(("url", "said"), [
    ("http://[::1", "not a URL"),
    ("localhost:9", "not an http:// or https:// URL"),
    ("http://user:hunter2@:9/v1", "names no host"),
])
def test_a_base_url_the_client_cannot_use_is_a_usage_error(monkeypatch, capsys, url, said):
    monkeypatch.setattr(evals.planner, "evaluate", lambda _args: pytest.fail("a case ran"))
    with pytest.raises(SystemExit) as stopped:
        evals.planner.main(["--dataset", "bfcl", "--base-url", url, "--model", "x"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --base-url (or BATON_LLM_BASE_URL): " in err and said in err
    assert "hunter2" not in err and "Traceback" not in err
