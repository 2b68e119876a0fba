"""The embedded engine judging in evaluator processes (rego-cpp leaks memory per evaluation):
same verdicts as in-process, processes replaced after their bound, and a process that dies
or hangs is a deny, never a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from policies.bundle import SHIPPED_FIXTURES, PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.fixtures_runner import load_fixtures
from policies.isolated_rego import EvaluatorPool, IsolatedEmbeddedEngine
from policies.rego_process import EvaluatorProcess

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc and waits with waitid")

FIXTURES = load_fixtures(SHIPPED_FIXTURES)
SAFE_INPUT = next(f.input for f in FIXTURES
                  if f.name == "read_only_plan_is_allowed_without_approval")
# Never answers (2,000³ iterations) in constant memory; its step rule answers at once.
SLOW_POLICY = textwrap.dedent("""\
    package baton
    import rego.v1
    r := numbers.range(1, 2000)
    n := count([1 | some i in r; some j in r; some k in r; i + j + k < 0])
    decision := {"allow": n == 0, "deny": [], "risk": 0, "approvals": {"count": 0, "roles": []}}
    step_decision := {"allow": true, "deny": []}
    """)
PATIENCE_S = 120.0  # only so that a broken build fails instead of hanging


@pytest.fixture
def pools():
    """``pools(bundle, **limits)``: an evaluator pool of its own; all stopped at the end."""
    made: list[EvaluatorPool] = []

    def make(bundle: PolicyBundle, **limits) -> EvaluatorPool:
        made.append(EvaluatorPool(bundle.modules, bundle.data_document(), **limits))
        return made[-1]

    yield make
    for pool in made:
        pool.close()


def _verdict(engine, fixture):
    if fixture.entrypoint == "step_decision":
        return engine.evaluate_step(fixture.input)
    return engine.decide(fixture.input)


def _slow_bundle(tmp_path: Path) -> PolicyBundle:
    (tmp_path / "slow.rego").write_text(SLOW_POLICY)
    return PolicyBundle.load(tmp_path)


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


def _judging(pid: int) -> bool:
    """Whether the process's main thread is running (it sleeps in a read between queries)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "R"


def _engine_error(verdict, text: str) -> None:
    assert verdict.allow is False
    assert all(reason.startswith("policy engine error") for reason in verdict.deny)
    assert any(text in reason for reason in verdict.deny), verdict.deny


def test_every_shipped_fixture_gets_the_in_process_verdict(bundle, pools):
    isolated = IsolatedEmbeddedEngine(bundle, pool=pools(bundle, max_processes=2))
    in_process = EmbeddedEngine(bundle)
    for fixture in FIXTURES:
        assert _verdict(isolated, fixture) == _verdict(in_process, fixture), fixture.name


def test_a_process_is_replaced_after_its_evaluations_and_judges_alike(bundle, pools):
    pool = pools(bundle, max_processes=1, max_evaluations=2)
    engine = IsolatedEmbeddedEngine(bundle, pool=pool)
    expected = EmbeddedEngine(bundle).decide(SAFE_INPUT)
    assert engine.decide(SAFE_INPUT) == expected
    first = pool.pids()
    assert engine.decide(SAFE_INPUT) == expected  # its second: replaced after it
    assert engine.decide(SAFE_INPUT) == expected
    assert len(first) == 1 and pool.pids() != first and len(pool.pids()) == 1


def test_a_process_that_grew_past_the_bound_is_replaced(bundle, pools):
    pool = pools(bundle, max_processes=1, max_rss_mb=1)  # any process is past it at once
    engine = IsolatedEmbeddedEngine(bundle, pool=pool)
    expected = EmbeddedEngine(bundle).decide(SAFE_INPUT)
    seen = set()
    for _ in range(3):
        assert engine.decide(SAFE_INPUT) == expected
        _until(lambda: pool.pids(), "the replacement")
        seen.update(pool.pids())
    assert len(seen) == 3


def test_a_process_is_judged_by_its_own_memory_not_its_parents(bundle, pools):
    # Linux carries the parent's peak resident memory over to a child it starts (across the
    # fork and the exec): read as the child's, a server grown large had every process
    # replaced after its first query.
    ballast = b"x" * (300 << 20)
    pool = pools(bundle, max_processes=1, max_rss_mb=200)
    engine = IsolatedEmbeddedEngine(bundle, pool=pool)
    engine.decide(SAFE_INPUT)
    first = pool.pids()
    engine.decide(SAFE_INPUT)
    assert len(first) == 1 and pool.pids() == first and len(ballast) == 300 << 20


def test_a_process_killed_while_judging_is_a_deny_and_the_next_query_is_judged(
        tmp_path, pools):
    slow = _slow_bundle(tmp_path)
    pool = pools(slow, max_processes=1)
    engine = IsolatedEmbeddedEngine(slow, pool=pool)
    assert engine.evaluate_step({}).allow is True  # started, and answers
    [pid] = pool.pids()
    verdicts = []
    judge = threading.Thread(target=lambda: verdicts.append(engine.decide(SAFE_INPUT)))
    judge.start()
    _until(lambda: not pool.pids() and _judging(pid), "the query to be read")
    os.kill(pid, signal.SIGKILL)
    judge.join(PATIENCE_S)
    assert not judge.is_alive()
    _engine_error(verdicts[0], "the policy evaluator process ended while judging (signal 9)")
    assert engine.evaluate_step({}).allow is True
    assert pool.pids() != [pid]


def test_a_process_past_the_time_bound_is_killed_and_the_query_denied(tmp_path, pools):
    slow = _slow_bundle(tmp_path)
    pool = pools(slow, max_processes=1)
    engine = IsolatedEmbeddedEngine(slow, pool=pool)
    assert engine.evaluate_step({}).allow is True  # started with the default bound
    [pid] = pool.pids()
    pool.timeout_s = 1.0
    _engine_error(engine.decide(SAFE_INPUT), "gave no answer within 1 s while judging")
    with pytest.raises(ChildProcessError):  # killed and reaped
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
    pool.timeout_s = PATIENCE_S
    assert engine.evaluate_step({}).allow is True  # a new process


def test_several_threads_at_once_get_their_own_verdicts(bundle, pools):
    engine = IsolatedEmbeddedEngine(bundle, pool=pools(bundle, max_processes=2))
    in_process = EmbeddedEngine(bundle)
    chosen = FIXTURES[:24]
    expected = [_verdict(in_process, fixture) for fixture in chosen]
    with ThreadPoolExecutor(max_workers=6) as threads:
        got = list(threads.map(lambda fixture: _verdict(engine, fixture), chosen * 2))
    assert got == expected * 2


def test_a_bundle_that_does_not_compile_denies_and_is_not_started_again(tmp_path, pools,
                                                                        monkeypatch):
    (tmp_path / "policy.rego").write_text("package baton\ndecision := {{{\n")
    broken = PolicyBundle.load(tmp_path)
    starts = []
    real_start = EvaluatorProcess.start.__func__
    monkeypatch.setattr(EvaluatorProcess, "start", classmethod(
        lambda cls, *args: starts.append(1) or real_start(cls, *args)))
    engine = IsolatedEmbeddedEngine(broken, pool=pools(broken))
    expected = EmbeddedEngine(broken).decide(SAFE_INPUT)
    assert engine.decide(SAFE_INPUT) == expected
    _engine_error(engine.decide(SAFE_INPUT), "do not compile")
    assert starts == [1]


def test_the_process_sees_no_secret_of_the_environment(bundle, pools, monkeypatch):
    monkeypatch.setenv("BATON_LLM_API_KEY", "sk-never-in-the-evaluator-0123456789")
    pool = pools(bundle)
    IsolatedEmbeddedEngine(bundle, pool=pool).decide(SAFE_INPUT)
    [pid] = pool.pids()
    with open(f"/proc/{pid}/environ", "rb") as environ:
        seen = environ.read()
    assert b"sk-never-in-the-evaluator" not in seen and b"BATON_" not in seen


def test_the_processes_end_with_the_process_that_started_them(tmp_path):
    script = textwrap.dedent("""\
        from policies.bundle import PolicyBundle
        from policies.isolated_rego import IsolatedEmbeddedEngine, evaluator_pool
        bundle = PolicyBundle.load()
        engine = IsolatedEmbeddedEngine(bundle)
        engine.evaluate_step({})
        print(*evaluator_pool(bundle, engine.bundle_hash).pids(), flush=True)
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=PATIENCE_S, cwd=Path(__file__).parents[2], check=True)
    pids = [int(pid) for pid in done.stdout.split()]
    assert pids
    for pid in pids:  # stopped and reaped at exit: not even a zombie left
        assert not Path(f"/proc/{pid}").exists()


def test_services_judge_in_evaluator_processes_unless_told_otherwise(tmp_path):
    from baton.services import Services
    from baton.settings import Settings

    services = Services(Settings(data_dir=tmp_path))
    assert isinstance(services.policy_engine, IsolatedEmbeddedEngine)
    short = Services(Settings(data_dir=tmp_path))
    short.policy_in_process = True
    assert type(short.policy_engine) is EmbeddedEngine
