"""A result quoting a string with a backslash or a quote is read as the rules made it.

rego-cpp holds a string of the data or of a rule as its JSON text (escaped) but a string of
the input as it is (regopy's input does not escape it), and writes both as they are held into
its result text: a host ``evil\\x41.example.org`` quoted in a deny made the result invalid JSON
(the real deny became an engine error), a quote in an input string could add keys to the
result, and a secret pattern holding ``\\x`` made regopy's own result reader raise (a traceback
on every command). Results are read from the interpreter's node tree instead.
"""

from __future__ import annotations

import json

import pytest

from baton.settings import ConfigError, load_settings
from policies.bundle import PolicyBundle
from policies.contracts import Requester, StepCall
from policies.embedded import CompiledPolicies, EmbeddedEngine, first_expression, invalid_patterns
from policies.engine import EngineFailure
from policies.isolated_rego import EvaluatorPool, IsolatedEmbeddedEngine

ECHO = ("package baton\nimport rego.v1\n"
        "decision := {\"allow\": false, \"deny\": {t | some t in input.texts},\n"
        "             \"said\": data.said, \"quoted\": sprintf(\"<%s>\", [input.texts[0]])}\n"
        "step_decision := {\"allow\": false, \"deny\": []}\n")
TEXTS = ['x"], "allow": true, "z": ["', "evil\\x41.example.org", "C:\\dir\\x", "tab\there"]


@pytest.fixture(scope="module")
def echo() -> CompiledPolicies:
    return CompiledPolicies((("echo.rego", ECHO),), {"said": 'say "hi"\n\\ done'})


def test_strings_of_the_input_and_of_the_data_are_read_as_they_were(echo):
    in_process = echo.evaluate("baton/decision", {"texts": TEXTS})
    # What an evaluator process sends back is read the same way.
    sent = first_expression(echo.evaluate_json("baton/decision", json.dumps({"texts": TEXTS})))
    for result in (in_process, sent):
        assert result["allow"] is False  # a quote in a string adds no key
        assert result["deny"] == sorted(TEXTS)
        assert result["said"] == 'say "hi"\n\\ done'
        assert result["quoted"] == f"<{TEXTS[0]}>"


def test_a_result_that_cannot_be_read_is_an_engine_failure():
    # rego-cpp gives this product as an integer node whose text is "63+3080".
    compiled = CompiledPolicies((("odd.rego", "package baton\nimport rego.v1\n"
                                  'decision := {"risk": to_number("1e308") * 10.0}\n'
                                  "step_decision := 1\n"),), {})
    with pytest.raises(EngineFailure, match="evaluation failed"):
        compiled.evaluate("baton/decision", {})


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return PolicyBundle.load()


def _get(engine, url: str):
    return engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="g", tool="http.request",
                                      effect="read", args={"method": "GET", "url": url},
                                      tags=("egress",), requester=Requester(id="alice",
                                                                            roles=("analyst",))))


def test_a_host_holding_a_backslash_gets_the_egress_deny_in_and_out_of_process(bundle):
    pool = EvaluatorPool(bundle.modules, bundle.data_document(), max_processes=1)
    try:
        for engine in (EmbeddedEngine(bundle), IsolatedEmbeddedEngine(bundle, pool=pool)):
            verdict = _get(engine, "https://evil\\x41.example.org/")
            assert verdict.deny == ("step g: host evil\\x41.example.org is not on the egress "
                                    "allowlist",), verdict.deny
    finally:
        pool.close()


def test_a_secret_pattern_the_engine_cannot_check_is_named(tmp_path):
    assert invalid_patterns(["sk-[a-z]+", "ACME\\x2d[0-9]{8}", "(", "a\\d"]) == [1, 2]
    (tmp_path / "baton.toml").write_text(
        '[users.alice]\nroles = ["analyst"]\n[policy.data]\n'
        "secret_patterns = [{kind = \"ok\", pattern = 'sk-[a-z]+'},\n"
        "                   {kind = \"acme\", pattern = 'ACME\\x2d[0-9]{8}'}]\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path / "baton.toml", environ={})
    assert ("policy.data.secret_patterns[1].pattern: is not a regular expression the embedded "
            "engine can read") in refused.value.message
    assert "secret_patterns[0]" not in refused.value.message

