"""The policy engine interface and what every backend shares: shape checks and failing closed.

Anything but a well-formed result — an engine error, an undefined result, a
result of the wrong shape, a timeout — becomes a deny that names the cause.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import structlog
from pydantic import ValidationError

from .contracts import ApprovalsNeeded, Decision, StepCall, StepDecision
from .inputs import build_step_input
from .long_strings import windowed_input
from .residency import regions_hosts_may_have, step_region

if TYPE_CHECKING:
    from .bundle import PolicyBundle

log = structlog.get_logger(__name__)

DECISION_PATH = "baton/decision"
STEP_DECISION_PATH = "baton/step_decision"
ENGINE_ERROR = "policy engine error"


@runtime_checkable
class PolicyEngine(Protocol):
    """Judges plans (``decide``) and single calls at run time (``check_step``)."""

    name: str
    bundle_hash: str

    def decide(self, policy_input: Mapping[str, Any]) -> Decision:
        """Evaluate ``data.baton.decision`` over ``policy_input``; never raises, fails closed."""
        ...

    def check_step(self, call: StepCall) -> StepDecision:
        """Evaluate ``data.baton.step_decision`` for one call; never raises, fails closed."""
        ...

    def evaluate_step(self, step_input: Mapping[str, Any]) -> StepDecision:
        """Evaluate ``data.baton.step_decision`` over a prepared input (fixtures use this)."""
        ...

    def step_region(self, tool: str, host: str | None, declared: str | None) -> Any:
        """Where residency places a call of ``tool`` to ``host`` (None: no region); raises
        when that cannot be told (the runner then judges the call)."""
        ...

    def regions_hosts_may_have(self) -> frozenset[Any]:
        """The regions the policy data's ``host_regions`` gives hosts (none: no host is
        placed); raises when that cannot be told (the runner then keeps a denial)."""
        ...


class EngineFailure(Exception):
    """Internal: evaluation did not produce a usable result (turned into a deny)."""


def failed_decision(cause: str, *, engine: str, bundle_hash: str) -> Decision:
    """The deny a plan gets when the engine cannot judge it."""
    return Decision(allow=False, deny=(f"{ENGINE_ERROR}: {cause}",), approvals=ApprovalsNeeded(),
                    risk=100, notes=(), runtime_checks=(), engine=engine, bundle_hash=bundle_hash)


def failed_step_decision(cause: str, *, engine: str, bundle_hash: str) -> StepDecision:
    """The deny a call gets when the engine cannot judge it."""
    return StepDecision(allow=False, deny=(f"{ENGINE_ERROR}: {cause}",), engine=engine,
                        bundle_hash=bundle_hash)


def _require_str_list(result: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = result.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EngineFailure(f"decision field {key!r} must be a list of strings")
    return tuple(value)


def _require_present(result: Mapping[str, Any], keys: tuple[str, ...], prefix: str = "") -> None:
    # A field that decides something must be stated: a default of "no deny reasons", "no
    # approvals" or "risk 0" would turn a policy's omission into an allow.
    for key in keys:
        if key not in result:
            raise EngineFailure(f"policy result lacks {prefix}{key}")


def _approvals(result: Mapping[str, Any]) -> ApprovalsNeeded:
    approvals = result["approvals"]
    if not isinstance(approvals, Mapping):
        raise EngineFailure("decision field 'approvals' must be an object")
    _require_present(approvals, ("count", "roles"), prefix="approvals.")
    if isinstance(approvals["count"], bool):
        raise EngineFailure("decision field 'approvals' is malformed: count must be a whole number")
    try:
        return ApprovalsNeeded.model_validate(approvals)
    except ValidationError as exc:
        raise EngineFailure(f"decision field 'approvals' is malformed: {exc.errors()[0]['msg']}") from exc


def _risk(result: Mapping[str, Any]) -> int:
    risk = result["risk"]
    if isinstance(risk, bool) or not isinstance(risk, int | float):
        raise EngineFailure("decision field 'risk' must be a number")
    if not math.isfinite(risk):
        raise EngineFailure(f"decision field 'risk' must be a finite number, got {risk}")
    return max(0, min(100, int(risk)))


def parse_decision(result: Any, *, engine: str, bundle_hash: str) -> Decision:
    """A ``Decision`` from the raw result, or ``EngineFailure`` naming what is wrong with it.

    ``allow``, ``deny``, ``approvals`` (``count`` and ``roles``) and ``risk`` are required;
    ``notes`` and ``runtime_checks`` only inform, and default to none.
    """
    if result is None:
        raise EngineFailure("data.baton.decision is undefined")
    if not isinstance(result, Mapping):
        raise EngineFailure(f"data.baton.decision must be an object, got {type(result).__name__}")
    if not isinstance(result.get("allow"), bool):
        raise EngineFailure("decision field 'allow' must be true or false")
    _require_present(result, ("deny",))
    deny = _require_str_list(result, "deny")
    _require_present(result, ("approvals", "risk"))
    return Decision(
        allow=result["allow"] and not deny, deny=deny, approvals=_approvals(result),
        risk=_risk(result), notes=_require_str_list(result, "notes"),
        runtime_checks=_require_str_list(result, "runtime_checks"),
        engine=engine, bundle_hash=bundle_hash,
    )


def parse_step_decision(result: Any, *, engine: str, bundle_hash: str) -> StepDecision:
    """A ``StepDecision`` from the raw result, or ``EngineFailure``; ``allow`` and ``deny``
    are required (a missing ``deny`` must not read as "no reasons")."""
    if result is None:
        raise EngineFailure("data.baton.step_decision is undefined")
    if not isinstance(result, Mapping) or not isinstance(result.get("allow"), bool):
        raise EngineFailure("data.baton.step_decision must be an object with a boolean 'allow'")
    _require_present(result, ("deny",))
    deny = _require_str_list(result, "deny")
    return StepDecision(allow=result["allow"] and not deny, deny=deny, engine=engine,
                        bundle_hash=bundle_hash)


def _unexpected(engine: str, exc: Exception) -> str:
    """The cause of a deny for an error no check foresaw, logged with its type only: its text
    may quote the input, and the input may hold a secret."""
    cause = f"unexpected {type(exc).__name__} while judging"
    log.error("policy.engine_crashed", engine=engine, error=type(exc).__name__)
    return cause


class FailClosedEngine:
    """What both backends share: judging through ``_evaluate`` and turning any failure into a deny."""

    name: str
    bundle_hash: str
    bundle: PolicyBundle

    def _evaluate(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        """The raw value of ``data.baton.<rule>``; ``EngineFailure`` when there is none."""
        raise NotImplementedError

    def decide(self, policy_input: Mapping[str, Any]) -> Decision:
        """Judge a plan; any failure is a deny naming the cause."""
        try:
            # Every input goes through windowed_input: a long string crashes the embedded
            # interpreter, and both engines must judge the same input (long_strings.py).
            raw = self._evaluate("decision", windowed_input(policy_input))
            return parse_decision(raw, engine=self.name, bundle_hash=self.bundle_hash)
        except EngineFailure as exc:
            log.warning("policy.engine_failed", engine=self.name, cause=str(exc))
            return failed_decision(str(exc), engine=self.name, bundle_hash=self.bundle_hash)
        except Exception as exc:  # noqa: BLE001 - fail closed: a bug here must deny, never crash vetting
            return failed_decision(_unexpected(self.name, exc), engine=self.name,
                                   bundle_hash=self.bundle_hash)

    def check_step(self, call: StepCall) -> StepDecision:
        """Judge one call with resolved arguments; any failure is a deny."""
        # The input is built inside the fail-closed handling: resolved arguments come from
        # earlier steps' outputs, unbounded (a value nested too deep must deny, not crash).
        return self._judge_step(lambda: build_step_input(call))

    def evaluate_step(self, step_input: Mapping[str, Any]) -> StepDecision:
        """Judge a prepared step input (fixtures use this); any failure is a deny."""
        return self._judge_step(lambda: step_input)

    def step_region(self, tool: str, host: str | None, declared: str | None) -> Any:
        """Where residency places a call of ``tool`` to ``host`` (None: no region), read from
        this engine's bundle data as the rules read it (``policies.residency``): the executor
        judges a read at run time only when it has one. ``UnknownRegion`` when that cannot be
        told; the caller then judges the call."""
        return step_region(self.bundle.data, tool, host, declared)

    def regions_hosts_may_have(self) -> frozenset[Any]:
        """The regions this bundle's ``host_regions`` gives hosts (``policies.residency``)."""
        return regions_hosts_may_have(self.bundle.data)

    def _judge_step(self, make_input: Callable[[], Mapping[str, Any]]) -> StepDecision:
        try:
            raw = self._evaluate("step_decision", windowed_input(make_input()))
            return parse_step_decision(raw, engine=self.name, bundle_hash=self.bundle_hash)
        except EngineFailure as exc:
            log.warning("policy.engine_failed", engine=self.name, cause=str(exc))
            return failed_step_decision(str(exc), engine=self.name, bundle_hash=self.bundle_hash)
        except Exception as exc:  # noqa: BLE001 - fail closed: a bug here must deny, never crash a run
            return failed_step_decision(_unexpected(self.name, exc), engine=self.name,
                                        bundle_hash=self.bundle_hash)
