"""The runtime policy check before a call: whether a call is asked about, what is asked, and
what of the answer is recorded.

The plan decision judged the plan when it was approved, with the values it could see then.
Some calls are judged again just before they are made, with their resolved arguments:
writes, egress, calls that send secrets, calls of time-bound tools (:data:`TIME_BOUND_TAGS`),
calls whose own URL came from another step's output (the plan decision lists them under
``runtime_checks``: it could not tell their host), and reads that residency places in a
region when data may reach them from a step whose URL came from another step's output (the
plan decision could not tell that host's region).
Residency's sources are counted as the plan decision counts them (``DataFeeds``), and a
source whose host cannot be told denies the call (where its data came from is unknown)
where residency could judge that host: the call sends data out or is placed in a region,
and the policy data may place a host in a region (a check that cannot say which regions
hosts may have, ``regions_hosts_may_have``, is taken to say some). The denial names a step
to run first only where waiting for it makes no cycle.

This module decides; the loop records the verdict (``RunStore.record_check``) and fails the
step on a denial. One :class:`RuntimeGate` serves one run. A call's question is made on the
run's loop (it reads the run's stored outputs); its answer, the policy's evaluation, may take
seconds (a call sending megabytes), so the loop has it asked in a worker thread
(:meth:`GateQuestion.ask`, which touches nothing of the run) and keeps renewing its lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from planner.plan import Plan, Reference, Step, is_reference, resolve_references
from policies.hosts import url_host
from policies.inputs import DataFeeds, call_url
from tools import BatonError, Effect, ToolError, ToolRegistry, ToolSpec

from .calls import ERROR_TEXT_MAX_CHARS, cut_error_text
from .checks import NO_CHECK_CONFIGURED, CheckOutcome, RuntimeCheck, StepCall, StepDecision
from .store.db import StoreError
from .telemetry import bind_log
from .tool_threads import ToolThreads

log = bind_log()

# The runtime check's answers are asked here, not on the tools' threads: tools stuck past
# their timeouts cannot hold a check up. (Daemon threads: a check its run gave up on, the
# lease lost, does not hold up the process's exit either.)
CHECK_THREADS = ToolThreads()

# Tags of tools the step rules judge by the time of the call, whatever its effect (the batch
# window, policies/rego/limits.rego): the plan was judged when it was approved, maybe
# off-peak, so such a call is checked again when it runs, even a read. The policy's plan
# decision lists these steps in ``runtime_checks``; a tag the step rules come to judge by
# time belongs here too.
TIME_BOUND_TAGS = frozenset({"batch"})

DENIALS_MAX_COUNT = 20
"""The most reasons of one runtime policy denial recorded in its ``step_check`` ledger event
(each cut as an error's text is, :func:`~executor.calls.cut_error_text`); the rest are
counted in a last entry."""
DENIALS_MAX_CHARS = 5 * ERROR_TEXT_MAX_CHARS
"""The most characters those reasons hold together: a policy that gives one reason per item
of a long list, or echoes a huge URL back, cannot make a ledger row megabytes long."""


class GatedRun(Protocol):
    """What the gate reads of a run (``executor.run_state.RunState`` is one)."""

    run_id: str
    plan_id: str
    requester: str
    plan: Plan
    by_id: dict[str, Step]
    # Resolved arguments of the steps started in this run, filled as they start.
    args: dict[str, dict[str, Any]]


class RuntimeDenial(ToolError):
    """A retry denied by the runtime check just before its call: its attempt fails with the
    denial's text (``runtime_denied``), and the step with it, never tried again."""

    code = "runtime_denied"

    def __init__(self, error: str) -> None:
        super().__init__(error, retryable=False, code=self.code)


@dataclass(frozen=True)
class GateQuestion:
    """What the runtime check is asked about one call (``call``); ``answered``, its answer
    had already, without asking (no check configured, or a source whose host cannot be told)."""

    sid: str
    tool: str
    effect: Effect
    call: StepCall
    answered: CheckOutcome | None
    runtime_check: RuntimeCheck | None

    def ask(self) -> CheckOutcome:
        """The answer: the check's ``check_step`` (a policy evaluation), or the one had without
        asking. Reads nothing of the run, so it may run in any thread."""
        if self.answered is not None:
            return self.answered
        assert self.runtime_check is not None  # answered when there is none (_question)
        return self.runtime_check.check_step(self.call)


async def answered(question: GateQuestion, *, every_s: float,
                   meanwhile: Callable[[], None] | None = None) -> CheckOutcome:
    """``question``'s answer, asked in a worker thread (:data:`CHECK_THREADS`), ``meanwhile``
    called every ``every_s`` until it comes. A policy evaluation takes seconds for a call
    sending megabytes; on the event loop it held the run with it: no lease renewed (another
    process took the run over), no result committed, no timer. (The embedded engine's
    interpreter lets go of Python's lock while it evaluates.)"""
    if question.answered is not None:
        return question.answered
    job = CHECK_THREADS.start(question.ask, {}, f"runtime check of {question.tool}")
    try:
        while meanwhile is not None and not job.future.done():
            await asyncio.wait({job.future}, timeout=every_s)
            if not job.future.done():
                meanwhile()
        return await job.future
    except BaseException:  # its run stops (a lost lease, a cancelled task): nobody reads it
        job.abandon()
        raise


@dataclass(frozen=True)
class GateVerdict:
    """The runtime check's answer about one call, as it is recorded."""

    allowed: bool
    event: dict[str, Any]  # the ``step_check`` ledger event's payload
    error: str | None  # the step's error when denied


class RuntimeGate:
    """The runtime policy check of one run's calls."""

    def __init__(self, run: GatedRun, registry: ToolRegistry, runtime_check: RuntimeCheck | None,
                 *, storable: Callable[[str], str], lookup: Callable[[Reference], Any]) -> None:
        """``storable`` makes a text recordable (secrets masked); ``lookup`` reads a reference
        from the run's stored outputs, as resolving arguments does."""
        self.run = run
        self.registry = registry
        self.runtime_check = runtime_check
        self._storable = storable
        self._lookup = lookup
        # Which steps feed which (residency's sources), built at the first checked call: once
        # per run rather than once per call, which would read the whole plan for each.
        self._feeds: DataFeeds | None = None

    def question(self, sid: str, spec: ToolSpec, args: dict[str, Any], effect: Effect,
                 secret_names: tuple[str, ...]) -> GateQuestion | None:
        """What to ask the runtime check about a write, egress, secret-using or time-bound
        call, a call whose URL the plan took from another step's output, or a read placed in
        a region that data known only at run time may reach; None when the call is not one
        to ask about. Made on the run's loop: it reads the run's stored outputs."""
        sends_secrets = bool(secret_names) or bool(spec.endpoint_url and spec.secrets)
        if (effect is not Effect.WRITE and "egress" not in spec.tags and not sends_secrets
                and TIME_BOUND_TAGS.isdisjoint(spec.tags)
                and not self._url_known_at_run_time(sid, spec)
                and not (self._placed_in_a_region(spec, args)
                         and self._fed_from_a_host_known_at_run_time(sid))):
            return None
        return self._question(sid, spec, args, effect)

    def verdict(self, question: GateQuestion, decision: CheckOutcome) -> GateVerdict:
        """The check's answer to ``question`` (:meth:`GateQuestion.ask`) as it is recorded."""
        deny = self._recorded_denials(decision.deny)
        allowed = bool(decision.allow) and not deny
        error = None if allowed else cut_error_text(
            f"denied by runtime policy: {'; '.join(deny) or 'not allowed'}", self._storable)
        return GateVerdict(allowed=allowed, error=error, event={
            "step": question.sid, "tool": question.tool, "effect": question.effect.value,
            "allow": allowed, "deny": deny, "engine": decision.engine,
            "bundle_hash": decision.bundle_hash})

    def _recorded_denials(self, reasons: Sequence[str]) -> list[str]:
        """A denial's reasons as they are recorded: each masked then cut as an error's text,
        at most :data:`DENIALS_MAX_COUNT` of them and :data:`DENIALS_MAX_CHARS` in all, the
        rest counted in a last entry (never empty when ``reasons`` is not)."""
        recorded: list[str] = []
        size = 0
        for n, reason in enumerate(reasons):
            text = cut_error_text(str(reason), self._storable) if n < DENIALS_MAX_COUNT else ""
            if n == DENIALS_MAX_COUNT or (recorded and size + len(text) > DENIALS_MAX_CHARS):
                recorded.append(f"… and {len(reasons) - n} more denials, not recorded")
                break
            recorded.append(text)
            size += len(text)
        return recorded

    def _feeds_of_run(self) -> DataFeeds:
        """Every step whose data may reach each step, as the plan decision judged them (a
        workspace read counts every workspace write of the plan, whatever its depends_on)."""
        if self._feeds is None:
            # as policies.inputs.step_data_sources
            self._feeds = DataFeeds(self.run.plan, self.registry)
        return self._feeds

    def _placed_in_a_region(self, spec: ToolSpec, args: dict[str, Any]) -> bool:
        """Whether residency places this call in a region, as the policy does: the policy
        data's ``tool_regions``, then the region of the host it calls, then the tool's own
        (the check answers, from the data it judges with). A call placed nowhere receives no
        region's data by residency's rules, and is not held up by a source that has not run
        yet; when unsure (a check that cannot tell, or fails to), the call is judged."""
        if self.runtime_check is None:  # no policy, no policy data: the tool's region alone
            return spec.region is not None
        region_of = getattr(self.runtime_check, "step_region", None)
        if region_of is None:
            return True
        try:
            host = url_host(call_url(spec.endpoint_url, args))  # as the policy's input has it
            return region_of(spec.name, host, spec.region) is not None
        except Exception as exc:  # noqa: BLE001 - fails closed: an answer not had is a call judged
            # Its type only: the text may quote the call's host or the policy data.
            log.warning("runtime check could not place a call in a region; judging it",
                        tool=spec.name, error=type(exc).__name__)
            return True

    def _url_known_at_run_time(self, sid: str, spec: ToolSpec) -> bool:
        """Whether the plan wrote this call's own URL as a reference to another step's output:
        the plan decision could not place its host, so it listed the step under
        ``runtime_checks`` (egress.rego), and the call is judged now with the URL it resolved
        to, a read too (EU data must not reach a read of a US host another step named)."""
        return is_reference(call_url(spec.endpoint_url, self.run.by_id[sid].args))

    def _fed_from_a_host_known_at_run_time(self, sid: str) -> bool:
        """Whether data may reach this step from a step whose URL came from another step's
        output: the plan decision could not tell that host's region, so residency is judged
        now for a read placed in a region too (EU data fetched from a URL an earlier step
        produced must not reach a tool in the US)."""
        for source_id in self._feeds_of_run().upstream(sid):
            source = self.run.by_id[source_id]
            spec = self.registry.get(source.tool) if source.tool in self.registry else None
            if is_reference(call_url(spec.endpoint_url if spec else None, source.args)):
                return True
        return False

    def _question(self, sid: str, spec: ToolSpec, args: dict[str, Any],
                  effect: Effect) -> GateQuestion:
        run = self.run
        source_ids = self._feeds_of_run().upstream(sid)
        sources = [self.registry.get(run.by_id[d].tool) for d in source_ids
                   if run.by_id[d].tool in self.registry]
        hosts, unknown = self._source_hosts(source_ids)
        call = StepCall(run_id=run.run_id, plan_id=run.plan_id, step_id=sid, tool=spec.name,
                        effect=effect.value, args=args, tags=tuple(spec.tags), region=spec.region,
                        requester=run.requester, source_tools=tuple(s.name for s in sources),
                        source_regions=tuple(sorted({s.region for s in sources if s.region})),
                        source_hosts=hosts)
        answered = None if self.runtime_check is not None else NO_CHECK_CONFIGURED
        if unknown and self._hosts_not_known_matter(spec, args):
            # Fails closed: residency cannot judge where that data came from.
            answered = StepDecision(allow=False, deny=(
                unknown[0].reason(sid, self._step_to_wait_for(sid, unknown[0].source_id)),))
        return GateQuestion(sid, spec.name, effect, call, answered, self.runtime_check)

    def _source_hosts(self, source_ids: list[str]) -> tuple[tuple[str, ...], list[_UnknownSource]]:
        """The hosts the source steps called: a URL resolved from another step's output tells
        residency where the data came from, which the tool's region alone does not. Then the
        sources whose URL cannot be resolved (their host is not known)."""
        hosts = set()
        unknown = []
        for source_id in source_ids:
            try:
                hosts.add(url_host(self._source_url(source_id)))
            except StoreError:
                raise  # the database failed reading an output, not the step: stops, resumable
            except KeyError:  # an output its URL needs is not there: not run yet
                unknown.append(_UnknownSource(source_id, run_yet=False))
            except BatonError:  # an output it read is gone (an artifact deleted)
                unknown.append(_UnknownSource(source_id, run_yet=True))
        return tuple(sorted(h for h in hosts if h)), unknown

    def _hosts_not_known_matter(self, spec: ToolSpec, args: dict[str, Any]) -> bool:
        """Whether data from a source whose host is not known could leave its region at this
        call, as residency's rule reads it (``leaves_region``): only when the call sends data
        out or is placed in a region itself, and the policy data's ``host_regions`` may place
        a host in a region (a source's tool and its own region are judged apart, by the
        policy). When unsure (a check that cannot say, or fails to), it could."""
        if "egress" not in spec.tags and not self._placed_in_a_region(spec, args):
            return False  # placed nowhere, sending nothing out: no region's data leaves here
        regions_of = getattr(self.runtime_check, "regions_hosts_may_have", None)
        if regions_of is None:
            return True
        try:
            return bool(regions_of())
        except Exception as exc:  # noqa: BLE001 - fails closed: an answer not had is a denial
            log.warning("runtime check could not say which regions hosts may have; denying",
                        tool=spec.name, error=type(exc).__name__)
            return True

    def _step_to_wait_for(self, sid: str, source_id: str) -> str | None:
        """A step ``sid`` may be made to run after (depends_on) so that the URL of source
        ``source_id`` is known when it runs: that source, else the step its URL comes from;
        None when each already waits for ``sid``, so that waiting for it makes a cycle."""
        url = self.run.by_id[source_id].args.get("url")
        # As Reference.step reads a reference: the step id before the first dot.
        candidates = [source_id, *([str(url["ref"]).split(".", 1)[0]] if is_reference(url)
                                   else [])]
        feeds = self._feeds_of_run()
        return next((c for c in candidates if c != sid and sid not in feeds.own(c)), None)

    def _source_url(self, sid: str) -> Any:
        tool = self.run.by_id[sid].tool
        endpoint = self.registry.get(tool).endpoint_url if tool in self.registry else None
        if endpoint is not None:
            return endpoint
        if sid in self.run.args:
            return self.run.args[sid].get("url")
        # Started before a resume: its URL resolves again from the stored outputs, as it did
        # then (outputs are kept, and masked alike, so it resolves to the same host).
        return resolve_references(self.run.by_id[sid].args.get("url"), self._lookup)


@dataclass(frozen=True)
class _UnknownSource:
    """A source step whose URL, taken from another step's output, cannot be resolved."""

    source_id: str
    run_yet: bool

    def reason(self, sid: str, wait_for: str | None) -> str:
        """The denial's reason. A source that has not run yet can only be a workspace write
        (a dependency would have run): the workspace keeps what earlier runs of the plan
        wrote, so its data may be there already, from a host no one can name now. What it
        advises can be done: ``wait_for`` is a step ``sid`` may run after without a cycle
        (None: no such step)."""
        if self.run_yet:
            return (f"step {sid}: the URL a source step read from could not be resolved again "
                    f"(step {self.source_id}: an output its URL came from is gone), so where "
                    "its data came from is unknown")
        unknown = (f"step {sid}: the URL a source step read from could not be resolved yet "
                   f"(step {self.source_id} has not run, and its URL comes from a step that has "
                   "not run either; its data may reach this step through the workspace, where "
                   "an earlier run of the plan may have left it), so where that data came from "
                   "is unknown")
        if wait_for is None:
            return (f"{unknown}; no order of the steps tells it first (step {self.source_id} "
                    f"waits for step {sid}): write step {self.source_id}'s URL in the plan")
        if wait_for == self.source_id:
            return f"{unknown}: make step {sid} run after step {wait_for} (depends_on)"
        return (f"{unknown}: make step {sid} run after step {wait_for} (depends_on), whose "
                f"output step {self.source_id}'s URL comes from")
