"""A custom policy bundle the embedded engine cannot use: a deny naming the cause, never a crash.

A rule in Rego v0 syntax beside the shipped v1 rules made rego-cpp's build fail quietly,
and reading the failed output segfaulted the process on every decision; those checks run
in a child process, so that a crash fails the test instead of killing the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from policies.bundle import SHIPPED_FIXTURES, PolicyBundle, PolicyBundleError
from policies.embedded import EmbeddedEngine
from policies.fixtures_runner import load_fixtures
from tests.support.custom_policies import UNCLOSED, V0_RULE, V0_SET, own_bundle

SAFE_INPUT = next(f.input for f in load_fixtures(SHIPPED_FIXTURES)
                  if f.name == "read_only_plan_is_allowed_without_approval")


def _denied_with(decision, *texts: str) -> None:
    assert decision.allow is False
    assert len(decision.deny) == 1 and decision.deny[0].startswith("policy engine error: ")
    for text in texts:
        assert text in decision.deny[0], decision.deny


_DECIDE_IN_A_CHILD = """
import json, sys
from pathlib import Path
from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.contracts import Requester, StepCall

engine = EmbeddedEngine(PolicyBundle.load(Path(sys.argv[1])))
plan = engine.decide(json.loads(sys.argv[2]))
step = engine.check_step(StepCall(run_id="r", plan_id="p", step_id="s", tool="files.read",
                                  effect="read", args={"path": "a.txt"},
                                  requester=Requester(id="alice", roles=("analyst",))))
print(json.dumps({"plan": list(plan.deny), "step": list(step.deny)}))
"""


@pytest.mark.parametrize("rule", [V0_RULE, V0_SET], ids=["deny-msg", "deny-set"])
def test_a_rule_in_rego_v0_syntax_denies_naming_the_file_instead_of_crashing(tmp_path, rule):
    own = own_bundle(tmp_path, {"custom.rego": rule})
    done = subprocess.run([sys.executable, "-c", _DECIDE_IN_A_CHILD, str(own),
                           json.dumps(SAFE_INPUT)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    denies = json.loads(done.stdout.strip().splitlines()[-1])
    for reasons in denies.values():
        assert len(reasons) == 1
        assert reasons[0].startswith("policy engine error: the policies do not compile: ")
        assert "Invalid rule body for object rule" in reasons[0]
        assert "they compile without custom.rego" in reasons[0]
    assert "Errors:" not in done.stdout


def test_a_syntax_error_is_named_with_its_line_and_printed_nowhere(tmp_path, capfd):
    decision = EmbeddedEngine(PolicyBundle.load(
        own_bundle(tmp_path, {"custom.rego": UNCLOSED}))).decide(SAFE_INPUT)
    _denied_with(decision, "do not compile", "custom.rego:3:22: this is unclosed")
    out, _ = capfd.readouterr()
    # rego-cpp wrote its error tree to stdout, before any --json output.
    assert "Errors:" not in out and "Pass parse failed" not in out


def test_a_wrongly_typed_data_value_denies_naming_the_error(tmp_path):
    shipped = PolicyBundle.load()
    bundle = PolicyBundle.load(overrides={
        "approval": {**shipped.data["approval"], "two_person_risk": "60"}})
    _denied_with(EmbeddedEngine(bundle).decide(SAFE_INPUT),
                 "evaluation failed: sprintf: operand 1 must be number but got string")


def test_an_invalid_secret_pattern_denies_naming_the_regex_error():
    bundle = PolicyBundle.load(overrides={"secret_patterns": [{"kind": "x", "pattern": "("}]})
    decision = EmbeddedEngine(bundle).decide(SAFE_INPUT)
    _denied_with(decision, "evaluation failed: ", "regexp")
    assert "<error>" not in decision.deny[0]


@pytest.mark.parametrize("rule, cause", [
    ("deny contains msg if { msg := nosuchfn(1) }", "Function not found: nosuchfn"),
    ('deny contains "x" if { http.send({"method": "get", "url": "http://x"}) }',
     "HTTP builtins are not supported"),
    ("x := 1 if true\nx := 2 if true\ndeny contains \"c\" if x == 1",
     "complete rules must not produce multiple outputs"),
])
def test_an_error_while_judging_is_named(tmp_path, rule, cause):
    own = own_bundle(tmp_path, {"custom.rego": f"package baton\nimport rego.v1\n{rule}\n"})
    _denied_with(EmbeddedEngine(PolicyBundle.load(own)).decide(SAFE_INPUT),
                 f"evaluation failed: {cause}")


def test_a_bundle_that_does_not_compile_is_built_once(tmp_path, monkeypatch):
    import policies.embedded as embedded

    builds = []
    real_build = embedded._build
    monkeypatch.setattr(embedded, "_build", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    engine = EmbeddedEngine(PolicyBundle.load(own_bundle(tmp_path, {"custom.rego": UNCLOSED})))
    _denied_with(engine.decide(SAFE_INPUT), "do not compile")
    first = len(builds)
    _denied_with(engine.decide(SAFE_INPUT), "do not compile")
    assert len(builds) == first


def test_the_pattern_check_is_the_interpreters_own():
    from policies.embedded import invalid_patterns

    # Python's re takes (?i) and (?P<name>...); rego-cpp's regex.match fails on both.
    patterns = ["sk-[A-Za-z0-9]{20,}", "(", "(?i)token", "(?P<n>x)", r"\d+", "[a-"]
    assert invalid_patterns(patterns) == [1, 2, 3, 5]
    assert invalid_patterns(p["pattern"] for p in PolicyBundle.load().data["secret_patterns"]) == []


@pytest.mark.parametrize("files, said", [
    ({"zz.rego": b"package baton\n# \xff\xfe bad\n"}, "zz.rego: it is not UTF-8 text"),
    ({"sub.rego/inner.txt": "x"}, "sub.rego: it is not a file"),
    ({"data.yaml": "1: a\n"}, "the key 1 is not text"),
    ({"data.yaml": "null: a\n"}, "the key null is not text"),
    ({"data.yaml": "a:\n  b:\n    2: x\n"}, "the key 2 (at a.b) is not text"),
    ({"data.yaml": "a: " + "[" * 3000 + "]" * 3000 + "\n"}, "nested too deeply"),
    ({"data.json": '{"a": ' + "[" * 3000 + "]" * 3000 + "}"}, "nested too deeply"),
    ({"data.json": '{"a": ' + "[" * 150 + "]" * 150 + "}"}, "nested too deeply"),
    ({"data.json": '{"a": [1, NaN]}'}, "a[1] is nan"),
    ({"data.yaml": "a: 1e400\n"}, "a is inf"),
    ({"data.yaml": "a: !!binary aGVsbG8=\n"}, "a is a bytes"),
    ({"data.yaml": b"\xff\xfe"}, "data.yaml: it is not UTF-8 text"),
    ({"data.yaml": "a: [1,\n"}, "invalid YAML at line 2"),
])
def test_a_bundle_file_that_is_not_readable_data_is_a_bundle_error_naming_it(tmp_path, files,
                                                                               said):
    own = tmp_path / "own"
    own.mkdir()
    (own / "policy.rego").write_text("package baton\nimport rego.v1\n")
    for name, content in files.items():
        (own / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (own / name).write_bytes(content)
        else:
            (own / name).write_text(content)
    with pytest.raises(PolicyBundleError) as refused:
        PolicyBundle.load(own)
    assert said in refused.value.message
    assert str(own) in refused.value.message
    assert "\n" not in refused.value.message
