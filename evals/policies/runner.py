"""Running the policy corpus: catch rate on unsafe plans, false-positive rate on benign ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from planner.loading import read_scalars_as_json
from planner.plan import Plan
from policies.contracts import Outcome, PolicyContext, Requester
from policies.engine import ENGINE_ERROR, PolicyEngine
from policies.inputs import build_policy_input, step_call_for
from tools import BatonError, ToolRegistry

CORPUS = Path(__file__).with_name("corpus.yaml")
REQUESTERS = {"analyst": Requester(id="alice", roles=("analyst",)),
              "admin": Requester(id="root", roles=("admin",))}
DEFAULT_NOW = "2024-06-04T12:00:00+00:00"
UNSAFE = ("deny", "review", "runtime")
# What each expectation asks of the plan-time outcome; "runtime" is judged by its run-time call.
PLAN_TIME: dict[str, Callable[[Outcome], bool]] = {
    "allow": lambda outcome: outcome is Outcome.ALLOWED,
    "approval": lambda outcome: outcome is not Outcome.DENIED,
    "deny": lambda outcome: outcome is Outcome.DENIED,
    "review": lambda outcome: outcome is not Outcome.ALLOWED,
    "runtime": lambda outcome: True,
}


class PolicyCorpusError(BatonError):
    """A corpus case cannot be judged: its ``expect`` is not one the runner knows, say."""

    code = "policy_corpus"


class PolicyEngineFailure(BatonError):
    """The engine could not judge a case: its fail-closed deny says nothing about the policies."""

    code = "policy_engine_failure"


def _stop_on_engine_error(case_name: str, deny: tuple[str, ...]) -> None:
    # An unreachable server denies everything; scored, that reads as a perfect catch rate.
    failure = next((reason for reason in deny if reason.startswith(ENGINE_ERROR)), None)
    if failure is not None:
        raise PolicyEngineFailure(f"the policy engine could not judge: {case_name}: {failure}")


@dataclass(frozen=True)
class CaseResult:
    """What the engine made of one corpus case."""

    name: str
    expect: str
    unsafe: bool
    outcome: str
    ok: bool
    detail: str


class _CorpusLoader(yaml.SafeLoader):
    """SafeLoader reading scalars as plans do: a case's 12:30, 017 or yes stay the text written."""


read_scalars_as_json(_CorpusLoader)


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The corpus cases."""
    text = path.read_text(encoding="utf-8")
    return yaml.load(text, Loader=_CorpusLoader)["cases"]  # noqa: S506 - a SafeLoader subclass


def _steps(case: dict[str, Any]) -> list[dict[str, Any]]:
    if "generate" in case:
        spec = case["generate"]
        args = {"path": "f{}.txt"} if spec["tool"] != "files.write" else {"path": "f{}.txt", "text": "x"}
        return [{"id": f"s{i}", "tool": spec["tool"],
                 "args": {k: v.format(i) for k, v in args.items()}} for i in range(spec["count"])]
    return case["steps"]


def run_case(case: dict[str, Any], engine: PolicyEngine, registry: ToolRegistry) -> CaseResult:
    """Decide one case (and its runtime call, if any) and judge the result against ``expect``.

    ``PolicyEngineFailure`` when the engine answered with an engine error instead of a judgement.
    """
    check_cases([case])
    plan = Plan.model_validate({"goal": case["name"].replace("_", " "), "steps": _steps(case)})
    requester = REQUESTERS[case.get("as", "analyst")]
    now = datetime.fromisoformat(case.get("now", DEFAULT_NOW)).astimezone(UTC)
    decision = engine.decide(build_policy_input(plan, registry, requester=requester,
                                                context=PolicyContext(now=now)))
    _stop_on_engine_error(case["name"], decision.deny)
    outcome = decision.outcome
    expect = case["expect"]
    detail = "; ".join(decision.deny) or "; ".join(decision.notes)
    ok = PLAN_TIME[expect](outcome)
    runtime = case.get("runtime")
    if runtime is not None:
        flagged = runtime["step"] in decision.runtime_checks
        call = step_call_for(plan, runtime["step"], runtime["args"], registry, run_id="eval",
                             plan_id="eval", requester=requester,
                             source_urls=runtime.get("source_urls"))
        verdict = engine.check_step(call)
        _stop_on_engine_error(case["name"], verdict.deny)
        ok = ok and flagged and verdict.allow == runtime["allow"]
        detail = f"runtime check listed: {flagged}; run-time verdict: {verdict.deny or 'allowed'}"
    return CaseResult(name=case["name"], expect=expect, unsafe=expect in UNSAFE,
                      outcome=outcome.value, ok=ok, detail=detail)


def check_cases(cases: list[dict[str, Any]]) -> None:
    """Raise ``PolicyCorpusError`` naming every case that could only be judged by guessing."""
    problems = []
    for case in cases:
        name, expect = case.get("name", "<unnamed>"), case.get("expect")
        if expect not in PLAN_TIME:
            problems.append(f"{name}: expect {expect!r} is not one of {', '.join(PLAN_TIME)}")
        elif expect == "runtime" and "runtime" not in case:
            problems.append(f"{name}: expect 'runtime' needs a runtime call to check")
    if problems:
        raise PolicyCorpusError("policy corpus: " + "; ".join(problems))


def summarise(results: list[CaseResult], *, engine: str, bundle_hash: str) -> dict[str, Any]:
    """Catch rate (unsafe cases handled as expected) and false-positive rate (benign refused)."""
    unsafe = [r for r in results if r.unsafe]
    benign = [r for r in results if not r.unsafe]
    caught = sum(r.ok for r in unsafe)
    false_pos = sum(not r.ok for r in benign)
    return {"engine": engine, "bundle_hash": bundle_hash,
            "unsafe": len(unsafe), "caught": caught,
            "catch_rate": round(caught / len(unsafe), 4) if unsafe else None,
            "benign": len(benign), "false_positives": false_pos,
            "false_positive_rate": round(false_pos / len(benign), 4) if benign else None,
            "cases": [asdict(r) for r in results]}


def to_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown report."""
    lines = [f"# Policy evals ({summary['engine']}, bundle {summary['bundle_hash'][:12]})", "",
             f"- catch rate: {summary['caught']}/{summary['unsafe']} = "
             f"{_percent(summary['catch_rate'])}",
             f"- false-positive rate: {summary['false_positives']}/{summary['benign']} = "
             f"{_percent(summary['false_positive_rate'])}", "",
             "| case | expected | outcome | ok |", "|---|---|---|---|"]
    lines += [f"| {c['name']} | {c['expect']} | {c['outcome']} | {'yes' if c['ok'] else 'NO'} |"
              for c in summary["cases"]]
    return "\n".join(lines) + "\n"


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"  # None: no case of that kind


def run_corpus(engine: PolicyEngine, registry: ToolRegistry,
               cases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run every case and summarise; the first engine error stops the run (``PolicyEngineFailure``)."""
    cases = cases or load_corpus()
    check_cases(cases)  # every bad case named at once, before anything is decided
    results = [run_case(c, engine, registry) for c in cases]
    return summarise(results, engine=engine.name, bundle_hash=engine.bundle_hash)
