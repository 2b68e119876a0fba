"""Bundles sharing one OPA server: each judges with its own modules and data, nothing else."""

from __future__ import annotations

import shutil
import threading
import time
from functools import partial
from pathlib import Path

import pytest

import policies.opa as opa_module
from policies.bundle import SHIPPED_DIR, SHIPPED_FIXTURES, PolicyBundle
from policies.contracts import Outcome
from policies.embedded import EmbeddedEngine
from policies.fixtures_runner import fixture_suite, load_fixtures, run_fixture, run_fixtures
from policies.opa import KEEP_UNUSED_S, REGISTRY_ROOT, OpaEngine
from policies.opa_namespace import namespace_for, namespaced, package_path, rewrite_module
from tests.support.fake_opa import FakeOpa

FIXTURES = {f.name: f for f in load_fixtures(SHIPPED_FIXTURES)}
SAFE_INPUT = FIXTURES["read_only_plan_is_allowed_without_approval"].input
NARROW = {"egress_allowlist": ["api.internal.example"]}


def _post_to(host: str) -> dict:
    """A plan input posting to ``host`` (from a shipped fixture with an allowed POST)."""
    base = next(f.input for f in FIXTURES.values()
                if f.entrypoint == "decision" and f.expected.get("allow") is True
                and any(s.get("url", {}).get("host") for s in f.input["steps"]))
    steps = [dict(s, url=dict(s["url"], host=host)) if s.get("url", {}).get("host") else s
             for s in base["steps"]]
    return {**base, "steps": steps}


HOOK_INPUT = _post_to("x.hooks.example.com")


def _copy_shipped(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    target.mkdir()
    for path in SHIPPED_DIR.iterdir():
        if path.is_file():
            shutil.copy(path, target / path.name)
    return target


def test_the_hook_input_is_allowed_by_the_shipped_data_and_denied_by_the_narrow_one():
    assert EmbeddedEngine(PolicyBundle.load()).decide(HOOK_INPUT).allow is True
    narrow = EmbeddedEngine(PolicyBundle.load(overrides=NARROW)).decide(HOOK_INPUT)
    assert narrow.allow is False and "not on the egress allowlist" in narrow.deny[0]


def test_another_process_pushing_its_bundle_does_not_change_what_this_one_judges_with():
    with FakeOpa() as server:
        narrow = OpaEngine(PolicyBundle.load(overrides=NARROW), server.url, timeout_s=10.0)
        assert narrow.decide(HOOK_INPUT).allow is False
        shipped = OpaEngine(PolicyBundle.load(), server.url, timeout_s=10.0)  # an older worker
        assert shipped.decide(HOOK_INPUT).allow is True
        again = narrow.decide(HOOK_INPUT)
        assert again.allow is False, again
        assert "not on the egress allowlist" in again.deny[0]
        assert again.bundle_hash == narrow.bundle_hash


def test_two_processes_pushing_different_bundles_at_once_each_get_their_own_decisions():
    with FakeOpa() as server:
        engines = {
            "narrow": OpaEngine(PolicyBundle.load(overrides=NARROW), server.url, timeout_s=30.0),
            "shipped": OpaEngine(PolicyBundle.load(), server.url, timeout_s=30.0),
        }
        seen: dict[str, list[bool]] = {"narrow": [], "shipped": []}

        def judge(name: str) -> None:
            for _ in range(4):
                seen[name].append(engines[name].decide(HOOK_INPUT).allow)

        threads = [threading.Thread(target=judge, args=(name,)) for name in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert seen == {"narrow": [False] * 4, "shipped": [True] * 4}


def test_policy_test_with_the_shipped_data_leaves_the_deployments_decisions_alone():
    # `baton policy test` runs Baton's own fixtures without [policy.data] on the same server.
    # On OPA only the fixtures the narrow data fails can tell which data the suite judged with
    # (the fake server compiles both namespaces on every query, ~0.1 s each); the others pass
    # with either, and every fixture is run on OPA by test_fixtures.py.
    narrow_fails = {r.name for r in run_fixtures(
        EmbeddedEngine(PolicyBundle.load(overrides=NARROW)), SHIPPED_FIXTURES) if not r.passed}
    assert narrow_fails
    with FakeOpa() as server:
        deployment = OpaEngine(PolicyBundle.load(overrides=NARROW), server.url, timeout_s=10.0)
        assert deployment.decide(HOOK_INPUT).allow is False
        suite = fixture_suite(policies_dir=None, policy_data=NARROW, opa_url=server.url)
        assert not suite.configured_data
        # The fake server compiles on every query: a loaded machine can pass OPA's default 2 s.
        suite.engine.timeout_s = 30.0
        telling = [f for f in load_fixtures(suite.directory) if f.name in narrow_fails]
        assert {f.name for f in telling} == narrow_fails
        failed = [r for r in map(partial(run_fixture, suite.engine), telling) if not r.passed]
        assert not failed
        assert deployment.decide(HOOK_INPUT).allow is False


def test_a_rule_file_removed_from_the_policies_stops_applying_on_opa(tmp_path):
    policies = _copy_shipped(tmp_path)
    (policies / "exempt.rego").write_text(
        'package baton\nimport rego.v1\nstandard_change if true  # temporary exemption\n')
    write_input = next(f.input for f in FIXTURES.values() if f.entrypoint == "decision"
                       and f.expected.get("approvals", {}).get("count") == 1)
    with FakeOpa() as server:
        exempt = OpaEngine(PolicyBundle.load(policies), server.url, timeout_s=10.0)
        assert exempt.decide(write_input).approvals.count == 0
        (policies / "exempt.rego").unlink()
        without = PolicyBundle.load(policies)
        on_opa = OpaEngine(without, server.url, timeout_s=10.0).decide(write_input)
        embedded = EmbeddedEngine(without).decide(write_input)
    assert on_opa.approvals.count == embedded.approvals.count == 1
    assert on_opa.bundle_hash == embedded.bundle_hash


def test_a_namespace_missing_one_module_decides_nothing(bundle):
    # A half-deleted namespace (another process collecting it) must not judge with what is left.
    with FakeOpa() as server:
        engine = OpaEngine(bundle, server.url, timeout_s=10.0)
        assert engine.decide(HOOK_INPUT).allow is True
        server.delete_policy(f"{engine.namespace}/egress.rego")
        server.compile_check = lambda policies: "refused"  # and the re-push fails
        narrow_input = _post_to("evil.example.net")
        decision = engine.decide(narrow_input)
    assert decision.outcome is Outcome.DENIED
    assert decision.deny[0].startswith("policy engine error")


def test_a_namespace_collected_while_its_process_was_idle_is_pushed_again(bundle):
    with FakeOpa() as server:
        engine = OpaEngine(bundle, server.url, timeout_s=10.0)
        assert engine.decide(SAFE_INPUT).allow is True
        for policy_id in [p for p in server.policies if p.startswith(engine.namespace)]:
            server.delete_policy(policy_id)
        assert engine.decide(SAFE_INPUT).allow is True


def test_modules_that_use_each_other_are_pushed_and_deleted_in_an_order_opa_accepts(bundle):
    # OPA compiles all it holds on each PUT: decision.rego uses rules of limits.rego and
    # common.rego, so it is refused while they are missing, and they cannot go before it.
    def check(policies: dict[str, str]) -> str | None:
        for policy_id in policies:
            namespace, name = policy_id.split("/", 1)
            if name == "decision.rego":
                for needed in ("common.rego", "limits.rego"):
                    if f"{namespace}/{needed}" not in policies:
                        return f"{policy_id}: var write_steps is unsafe"
        return None

    now = time.time()
    with FakeOpa(compile_check=check) as server:
        old = OpaEngine(PolicyBundle.load(overrides=NARROW), server.url, timeout_s=10.0,
                        clock=lambda: now - KEEP_UNUSED_S - 60)
        assert old.decide(HOOK_INPUT).allow is False
        current = OpaEngine(bundle, server.url, timeout_s=10.0)
        assert current.decide(HOOK_INPUT).allow is True
        assert not [p for p in server.policies if p.startswith(old.namespace)]


def test_a_push_collects_namespaces_nobody_used_for_a_week_and_keeps_the_rest(bundle):
    now = time.time()
    with FakeOpa() as server:
        server.put_policy("baton/decision.rego", "package baton\n")  # an older Baton's module
        stale = OpaEngine(PolicyBundle.load(overrides=NARROW), server.url, timeout_s=10.0,
                          clock=lambda: now - KEEP_UNUSED_S - 60)
        stale.load()
        recent = OpaEngine(PolicyBundle.load(overrides={"egress_allowlist": []}), server.url,
                           timeout_s=10.0, clock=lambda: now - 3600)
        recent.load()
        current = OpaEngine(bundle, server.url, timeout_s=10.0)
        current.load()
        namespaces = {p.split("/", 1)[0] for p in server.policies}
        registry = server.get_data([REGISTRY_ROOT])
        assert namespaces == {current.namespace, recent.namespace, "baton"}
        assert set(registry) == {current.namespace, recent.namespace}
        assert server.get_data([stale.namespace]) is None
        # The process still on the collected bundle pushes it again when it next judges.
        assert stale.decide(HOOK_INPUT).allow is False


def test_a_process_in_use_refreshes_when_it_last_used_its_namespace(bundle, monkeypatch):
    clock = [1000.0]
    with FakeOpa() as server:
        engine = OpaEngine(bundle, server.url, timeout_s=10.0, clock=lambda: clock[0])
        engine.decide(SAFE_INPUT)
        assert server.get_data([REGISTRY_ROOT, engine.namespace, "used_at"]) == 1000
        clock[0] = 5000.0
        monkeypatch.setattr(opa_module, "HEARTBEAT_S", 0.0)
        engine.decide(SAFE_INPUT)
        assert server.get_data([REGISTRY_ROOT, engine.namespace, "used_at"]) == 5000


def test_a_namespace_holding_another_bundle_hash_is_refused(bundle):
    with FakeOpa() as server:
        namespace = namespace_for(bundle.bundle_hash)
        server.put_data([REGISTRY_ROOT, namespace], {"bundle_hash": "f" * 64, "complete": True,
                                                      "used_at": int(time.time())})
        decision = OpaEngine(bundle, server.url, timeout_s=10.0).decide(SAFE_INPUT)
    assert decision.outcome is Outcome.DENIED
    assert namespace in decision.deny[0]


def test_fixtures_agree_on_both_engines_for_a_policy_of_ones_own_with_another_package(tmp_path):
    policies = _copy_shipped(tmp_path)
    (policies / "lib.rego").write_text(
        'package acme.lib\nimport rego.v1\n# data.baton in a comment stays\n'
        'blocked_host := "evil.example.net"\n')
    (policies / "acme.rego").write_text(
        'package baton\nimport rego.v1\nimport data.acme.lib\n'
        'deny contains msg if {\n\tsome s in input.steps\n\ts.url.host == lib.blocked_host\n'
        '\tmsg := sprintf("step %s: host is blocked by acme (data.baton_config)", [s.id])\n}\n')
    bundle = PolicyBundle.load(policies)
    evil = _post_to("evil.example.net")
    with FakeOpa() as server:
        on_opa = OpaEngine(bundle, server.url, timeout_s=10.0).decide(evil)
    embedded = EmbeddedEngine(bundle).decide(evil)
    assert on_opa.deny == embedded.deny
    assert any(d.endswith("host is blocked by acme (data.baton_config)") for d in on_opa.deny)


@pytest.mark.parametrize("source, expected", [
    ("package baton\ncfg := data.baton_config\n",
     "package NS.baton\ncfg := data.NS.baton_config\n"),
    ('x := data["baton"].decision\n', 'x := data.NS["baton"].decision\n'),
    ("import data.baton.lib\n", "import data.NS.baton.lib\n"),
    ('s := "data.baton"\n# data.baton\nr := `data.baton`\n',
     's := "data.baton"\n# data.baton\nr := `data.baton`\n'),
    ("q := input.data.baton\nz := data.users.baton\n",
     "q := input.data.baton\nz := data.users.baton\n"),
    ("p := input.package\n", "p := input.package\n"),
    ("y := data.batonx\n", "y := data.batonx\n"),
])
def test_the_rewrite_moves_only_references_to_the_bundles_roots(source, expected):
    assert rewrite_module(source, frozenset({"baton", "baton_config"}), "NS") == expected


def test_package_paths_are_read_from_tokens():
    assert package_path("# package nope\npackage acme.lib\n") == ("acme", "lib")
    assert package_path('package a["b-c"]\n') == ("a", "b-c")


def test_a_package_named_like_the_data_root_is_refused(tmp_path):
    (tmp_path / "x.rego").write_text("package baton_config\nimport rego.v1\nx := 1\n")
    with FakeOpa() as server:
        engine = OpaEngine(PolicyBundle.load(tmp_path), server.url, timeout_s=5.0)
        decision = engine.decide(SAFE_INPUT)
    assert decision.outcome is Outcome.DENIED and "reserved" in decision.deny[0]


def test_every_pushed_module_and_the_data_sit_under_the_bundles_namespace(bundle):
    form = namespaced(bundle)
    with FakeOpa() as server:
        OpaEngine(bundle, server.url, timeout_s=10.0).load()
        assert sorted(server.policies) == sorted(pid for pid, _ in form.modules)
        assert {package_path(src)[0] for src in server.policies.values()} == {form.namespace}
        assert set(server.data) == {form.namespace, REGISTRY_ROOT}
