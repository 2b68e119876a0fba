"""Running a planner over evaluation cases and scoring it (the CLI lives in ``evals.planner``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.plan import Plan
from planner.validation import validate_plan
from tools.redaction import redact

from . import metrics
from .datasets.base import EvalCase
from .metrics import Counts

DAMAGES = ("wrong_tool", "dropped_arg", "invented_edge")
_DETAIL_CHARS = 500

log = structlog.get_logger(__name__)


@dataclass
class CaseResult:
    """What one case scored."""

    id: str
    valid: bool
    error: str | None = None
    detail: str | None = None
    attempts: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    gold_offered: bool | None = None
    tools: Counts = field(default_factory=Counts)
    args: Counts = field(default_factory=Counts)
    edges: Counts = field(default_factory=Counts)
    damage: str | None = None


def sample(
    cases: list[EvalCase], limit: int | None, max_steps: int = 200
) -> tuple[list[EvalCase], list[str]]:
    """Up to ``limit`` cases spread evenly over the dataset, whose gold plan passes validation.

    Benchmarks are ordered easy to hard, so the first N would be all easy. Also
    returns the ids of examined cases whose own gold plan is invalid against
    the dataset's declared schemas (they are skipped, and reported).
    """
    # round(i * n / limit) reaches the end for any limit; a stride of n // limit is 1
    # once limit > n / 2, and then the hardest cases were never sampled.
    picked = (sorted({round(i * len(cases) / limit) for i in range(limit)})
              if limit and limit < len(cases) else range(len(cases)))
    chosen = set(picked)
    # Cases whose gold plan is invalid are replaced from the rest, in dataset order.
    order = [*(cases[i] for i in picked), *(c for i, c in enumerate(cases) if i not in chosen)]
    good: list[EvalCase] = []
    bad: list[str] = []
    for case in order:
        if limit is not None and len(good) >= limit:
            break
        if validate_plan(case.gold_plan, case.registry, max_steps=max_steps).ok:
            good.append(case)
        else:
            bad.append(case.id)
    return good, bad


def run_case(planner: LLMPlanner, case: EvalCase) -> CaseResult:
    """Plan ``case.goal`` and score the plan against the gold answer."""
    started = time.perf_counter()
    plan: Plan | None = None
    error = detail = None
    trace = None
    try:
        result = planner.plan(case.goal, case.registry)
        plan, trace = result.plan, result.trace
    except PlanningError as exc:
        error, detail, trace = exc.code, exc.message, exc.trace
    except Exception as exc:  # noqa: BLE001 - one case's failure is its result; the run goes on
        error, detail = type(exc).__name__, str(exc)
        log.warning("eval.case_failed", case=case.id, error=error, exc_info=True)
    if detail is not None:
        detail = redact(detail, planner.config.secret_values)[:_DETAIL_CHARS]
    latency = (time.perf_counter() - started) * 1000
    exchanges = trace.exchanges if trace else ()
    offered = set(trace.tools_offered) if trace else set()
    return CaseResult(
        id=case.id, valid=plan is not None, error=error, detail=detail,
        attempts=sum(1 for e in exchanges if e.error is None),
        model_calls=len(exchanges),
        prompt_tokens=sum(e.prompt_tokens or 0 for e in exchanges),
        completion_tokens=sum(e.completion_tokens or 0 for e in exchanges),
        latency_ms=latency,
        gold_offered={c.tool for c in case.gold_calls} <= offered if offered else None,
        tools=metrics.tool_counts(plan, case.gold_calls),
        args=metrics.arg_counts(plan, case.gold_calls, case.gold_plan),
        edges=metrics.edge_counts(plan, case.gold_plan),
    )


def aggregate(results: list[CaseResult]) -> dict[str, Any]:
    """Totals and rates over all cases; None (shown "n/a") where there is nothing to rate."""
    n = len(results)
    per_plan = lambda name: sum(getattr(r, name) for r in results) / n if n else None  # noqa: E731
    # Until the model has answered once, nothing about the planner was measured: a ratio
    # over no predictions (1.0 by convention) would read as a perfect score.
    answered = sum(1 for r in results if r.valid or r.attempts)
    total = lambda name: _scores(sum((getattr(r, name) for r in results), Counts()),  # noqa: E731
                                 answered)
    offered = [r.gold_offered for r in results if r.gold_offered is not None]
    return {
        "cases": n,
        "answered_cases": answered,
        "valid_plan_rate": per_plan("valid"),
        "attempts_per_plan": per_plan("attempts"),
        "model_calls_per_plan": per_plan("model_calls"),
        "prompt_tokens_per_plan": per_plan("prompt_tokens"),
        "completion_tokens_per_plan": per_plan("completion_tokens"),
        "latency_ms": metrics.summary(r.latency_ms for r in results),
        "gold_tools_offered_rate": (sum(offered) / len(offered)) if offered else None,
        "tool": total("tools"),
        "argument": total("args"),
        "edge": total("edges"),
        "errors": dict(sorted(_count(r.error for r in results if r.error).items())),
        "damages": dict(sorted(_count(r.damage for r in results if r.damage).items())),
    }


def _scores(counts: Counts, answered: int) -> dict[str, float | None]:
    if answered:
        return counts.as_dict()
    return {**counts.as_dict(), "precision": None, "recall": None, "f1": None}


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def strict_reply(plan: dict[str, Any]) -> str:
    """A wire plan as the model would answer in json_schema mode (arguments as a JSON string)."""
    steps = [{"id": s["id"], "tool": s["tool"], "args_json": json.dumps(s.get("args", {})),
              "depends_on": list(s.get("depends_on", [])), "why": s.get("why", "")}
             for s in plan["steps"]]
    return json.dumps({"steps": steps})


def damage(case: EvalCase, index: int) -> tuple[dict[str, Any], str]:
    """The gold plan with one deliberate mistake, chosen by ``index`` (falls back when impossible)."""
    wire = json.loads(json.dumps(case.gold_plan.to_wire()))
    steps = wire["steps"]
    wanted = DAMAGES[index % len(DAMAGES)]
    order = [wanted, *[d for d in DAMAGES if d != wanted]]
    for kind in order:
        if kind == "invented_edge" and len(steps) >= 2:
            last, first = steps[-1], steps[0]
            if first["id"] not in Plan.model_validate(wire).steps[-1].dependencies():
                last["depends_on"] = [*last.get("depends_on", []), first["id"]]
                return wire, kind
        if kind == "dropped_arg":
            for step in steps:
                if step.get("args"):
                    step["args"].pop(next(iter(step["args"])))
                    return wire, kind
        if kind == "wrong_tool":
            used = {s["tool"] for s in steps}
            names = case.registry.names()
            others = [n for n in names if n not in used] or [n for n in names if n != steps[0]["tool"]]
            # A one-tool catalogue leaves only a hallucinated name.
            steps[0]["tool"] = others[0] if others else f"{steps[0]['tool']}_v2"
            return wire, kind
    raise AssertionError("wrong_tool always applies")


@contextmanager
def replay_planner(config: dict[str, Any]) -> Iterator[tuple[LLMPlanner, Any]]:
    """The real LLM planner against the scripted local OpenAI-compatible server."""
    from .scripted_server import ScriptedOpenAIServer

    server = ScriptedOpenAIServer().start()
    try:
        planner = LLMPlanner(LLMConfig(base_url=server.base_url, model="replay", **config))
        yield planner, server
    finally:
        server.stop()


def run_replay(cases: list[EvalCase], mode: str, config: dict[str, Any]) -> list[CaseResult]:
    """Replay gold (or damaged) plans through the real planner and score them."""
    from .scripted_server import Completion

    results = []
    with replay_planner(config) as (planner, server):
        for index, case in enumerate(cases):
            kind = None
            wire = case.gold_plan.to_wire()
            if mode == "damaged":
                wire, kind = damage(case, index)
            # The same reply for every attempt: a damaged plan stays damaged under repair.
            server.script(*[Completion(content=strict_reply(wire))] * planner.config.max_attempts)
            result = run_case(planner, case)
            result.damage = kind
            server.clear()
            results.append(result)
    return results


def run_endpoint(cases: list[EvalCase], config: LLMConfig) -> list[CaseResult]:
    """Run the LLM planner against a configured endpoint."""
    planner = LLMPlanner(config)
    return [run_case(planner, case) for case in cases]
