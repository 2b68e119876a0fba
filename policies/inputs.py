"""Building the policy input document from a plan, its tools and its context.

Facts that Rego cannot derive reliably under the embedded interpreter (URL
hosts, hours of the day, reference graphs) are computed here so that every
rule reads plain values; the strings of each step's arguments, as the secret
rules read them, come from :mod:`policies.step_strings`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from planner.plan import Plan, Step, TemplateOrigin, is_reference
from tools import Effect, ToolRegistry, ToolSpec

from .contracts import PolicyContext, Requester, StepCall, TemplateCheck
from .hosts import parts_host, url_host
from .step_strings import scanned_strings, secret_names


def url_facts(url: Any, *, resolved: bool = False) -> dict[str, Any]:
    """Host, scheme and embedded credentials of a literal URL; a reference is flagged instead.

    ``resolved``: the URL of a call about to be made, never a reference: a mapping shaped
    like one is data another step returned, a URL with no host (flagged as a reference, the
    rules would leave its host to a later check that never comes).
    """
    if not resolved and is_reference(url):
        return {"url_from_ref": True, "url_ref": url["ref"], "host": None}
    if not isinstance(url, str):
        return {"url_from_ref": False, "host": None}
    try:
        parts = urlsplit(url.strip())
        host = parts_host(parts)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:
        host, has_credentials, parts = None, False, None
    return {"url_from_ref": False, "host": host, "scheme": parts.scheme if parts else "",
            "url_has_credentials": has_credentials}



def effect_for(spec: ToolSpec, args: Mapping[str, Any]) -> Effect:
    """The call's effect; when it depends on arguments that are references, assume ``write``."""
    if spec.effect_from_args is not None and any(is_reference(v) for v in args.values()):
        return Effect.WRITE
    try:
        return spec.effect_of(args)
    except Exception as exc:  # noqa: BLE001 - an effect we cannot compute is treated as the riskier one
        import structlog

        # The exception's type only: its text may quote the arguments, which may hold a secret.
        structlog.get_logger(__name__).warning(
            "policy.effect_unknown", tool=spec.name, error=type(exc).__name__)
        return Effect.WRITE


def sent_secret_names(args: Any, endpoint_url: str | None, endpoint_secrets: Sequence[str],
                      *, resolved: bool = False) -> list[str]:
    """The secrets one call sends: :func:`secret_names` of its arguments (``resolved``: at run
    time) and, for a configured HTTP endpoint tool, the secrets its own headers carry (they go
    to its fixed URL too)."""
    names = set(secret_names(args, resolved=resolved))
    if endpoint_url is not None:
        names.update(endpoint_secrets)
    return sorted(names)


_NO_URL = object()


def call_url(endpoint_url: str | None, args: Mapping[str, Any]) -> Any:
    """The URL a call goes to: a configured endpoint's fixed URL, else the ``url`` argument.

    An endpoint tool sends its arguments (even one named ``url``) to its fixed URL, so that
    URL is what the egress and secret-destination rules must judge.
    """
    if endpoint_url is not None:
        return endpoint_url
    return args.get("url", _NO_URL)


def _step_entry(step: Step, registry: ToolRegistry, plan_strings_before: int) -> dict[str, Any]:
    spec = registry.get(step.tool) if step.tool in registry else None
    entry: dict[str, Any] = {
        "id": step.id,
        "tool": step.tool,
        "known": spec is not None,
        "effect": effect_for(spec, step.args).value if spec else Effect.WRITE.value,
        "tags": list(spec.tags) if spec else [],
        "region": spec.region if spec else None,
        "tool_secrets": list(spec.secrets) if spec else [],
        "why": step.why,
        "depends_on": list(step.dependencies()),
        "references": [{"path": p, "ref": r.ref, "step": r.step} for p, r in step.references()],
        "secret_names": sent_secret_names(step.args, spec.endpoint_url if spec else None,
                                          spec.secrets if spec else ()),
        **scanned_strings(step.args, plan_strings_before=plan_strings_before),
    }
    url = call_url(spec.endpoint_url if spec else None, step.args)
    if url is not _NO_URL:
        entry["url"] = url_facts(url)
    return entry


# The tag of a tool that reads or writes files in the workspace (``files.*``; a plugin's tool
# that uses ``ToolContext.workspace`` says so with it too).
WORKSPACE_TAG = "workspace"


def data_sources(plan: Plan, registry: ToolRegistry) -> dict[str, list[str]]:
    """For each step, every step whose data may reach it (transitively, sorted): see
    :func:`step_data_sources`."""
    feeds = DataFeeds(plan, registry)
    return {step.id: feeds.upstream(step.id) for step in plan.steps}


def step_data_sources(plan: Plan, registry: ToolRegistry, step_id: str) -> list[str]:
    """Every step whose data may reach ``step_id``, directly or through others (sorted):
    the plan decision (each step's ``data_sources``, plus the plan's ``workspace_sources``
    where ``reads_workspace``) and the executor's check before a call both ask
    :class:`DataFeeds`, so the two judge the same sources.

    A step is fed by the steps it references or depends on (``depends_on``): one may write
    a file that it reads back, so every dependency counts as a flow of data (conservative
    taint). A step of a workspace tool (tagged ``workspace``, or unknown) is also fed by
    every step of the plan that may write to the workspace, whatever ``depends_on`` says:
    with no ``depends_on`` a read may still run after the write (one step at a time, or
    again on a resume), and the workspace outlives a run, so a read that runs first may read
    what an earlier run of the same plan wrote. Paths are not compared: a symlink inside
    the workspace, or a case-insensitive file system, makes two spellings one file.
    """
    return DataFeeds(plan, registry).upstream(step_id)


class DataFeeds:
    """Where each step's data may come from, in two parts (the executor keeps one per run).

    ``own(step)``: the steps it reaches through references and ``depends_on``.
    ``workspace_sources``: the workspace writes with every step that feeds them, the same for
    every workspace step, so computed once. A step that reaches a workspace step
    (``reads_workspace``: itself, or one of ``own``) is fed by both. The policy input lists
    the shared part once rather than in every step's entry: n writes made n² entries.
    """

    def __init__(self, plan: Plan, registry: ToolRegistry) -> None:
        known = {s.id for s in plan.steps}
        self.direct = {s.id: [d for d in s.dependencies() if d in known] for s in plan.steps}
        self.in_workspace = {s.id for s in plan.steps if _uses_workspace(s, registry)}
        self.writes = sorted(s.id for s in plan.steps if s.id in self.in_workspace
                             and _may_write(s, registry))
        # The writes are workspace steps: their closure needs no workspace step added again.
        self.workspace_sources = sorted(self._closure(self.writes))

    def _closure(self, starts: Sequence[str]) -> set[str]:
        # The starts and every step they reach through references and depends_on.
        seen = set(starts)
        todo = list(starts)
        while todo:
            for source in self.direct.get(todo.pop(), ()):
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return seen

    def own(self, step_id: str) -> list[str]:
        """The steps reaching ``step_id`` through references and depends_on (sorted), itself
        left out."""
        return sorted(self._closure([step_id]) - {step_id})

    def reads_workspace(self, step_id: str, own: Sequence[str] | None = None) -> bool:
        """Whether ``step_id`` or a step feeding it (``own``) uses the workspace."""
        own = self.own(step_id) if own is None else own
        return step_id in self.in_workspace or any(s in self.in_workspace for s in own)

    def upstream(self, step_id: str) -> list[str]:
        """Every step whose data may reach ``step_id`` (sorted), itself left out."""
        own = self.own(step_id)
        if not self.reads_workspace(step_id, own):
            return own
        return sorted((set(own) | set(self.workspace_sources)) - {step_id})


def _uses_workspace(step: Step, registry: ToolRegistry) -> bool:
    # An unknown tool could do anything (the plan decision denies it anyway).
    return step.tool not in registry or WORKSPACE_TAG in registry.get(step.tool).tags


def _may_write(step: Step, registry: ToolRegistry) -> bool:
    # As the plan decision counts the effect: one decided from references counts as a write.
    if step.tool not in registry:
        return True
    return effect_for(registry.get(step.tool), step.args) is Effect.WRITE


def context_facts(context: PolicyContext) -> dict[str, Any]:
    """The context with the hour and weekday (UTC) precomputed; Rego time parsing is not relied on."""
    now = context.now if context.now.tzinfo else context.now.replace(tzinfo=UTC)
    utc = now.astimezone(UTC)
    return {"now": utc.isoformat(), "hour_utc": utc.hour, "weekday": utc.strftime("%A").lower(),
            "environment": context.environment}


def author_facts(plan: Plan, requester: Requester, author: Requester | None,
                 added_tools: Collection[str] | None) -> dict[str, Any]:
    """The version's author with the tools the role rule judges them for (sorted)."""
    if author is None or author.id == requester.id:
        return {**requester.model_dump(mode="json"), "added_tools": []}
    tools = {s.tool for s in plan.steps} if added_tools is None else set(added_tools)
    return {**author.model_dump(mode="json"), "added_tools": sorted(tools)}


def build_policy_input(
    plan: Plan,
    registry: ToolRegistry,
    *,
    requester: Requester,
    context: PolicyContext,
    author: Requester | None = None,
    added_tools: Collection[str] | None = None,
    origin: TemplateOrigin | None = None,
    template: TemplateCheck | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document ``data.baton.decision`` is evaluated over.

    ``author`` wrote this version (the requester when None). The role rule judges the
    requester for every tool (the run acts for them) and an author who is someone else for
    ``added_tools``, the tools this version adds to the requester's latest valid version
    before it (``baton.usecases.policy_input.added_tools``): a reviser must not borrow the
    requester's roles to add a tool, yet may revise a plan whose tools they lack.
    ``added_tools`` None means there is no such version, so every tool counts as added.
    """
    feeds = DataFeeds(plan, registry)
    steps = []
    plan_strings = 0
    for step in plan.steps:
        entry = _step_entry(step, registry, plan_strings)
        # A workspace step is also fed by every step in workspace_sources, listed once.
        entry["data_sources"] = feeds.own(step.id)
        entry["reads_workspace"] = feeds.reads_workspace(step.id, entry["data_sources"])
        plan_strings += len(entry["strings"])
        steps.append(entry)
    if isinstance(template, Mapping):
        template = TemplateCheck.model_validate(template)
    return {
        "kind": "plan",
        "plan": {"goal": plan.goal, "hash": plan.plan_hash(), "step_count": len(plan.steps)},
        "steps": steps,
        "workspace_sources": feeds.workspace_sources,
        "requester": requester.model_dump(mode="json"),
        "author": author_facts(plan, requester, author, added_tools),
        "context": context_facts(context),
        "origin": origin.model_dump(mode="json") if origin else None,
        "template": template.model_dump(mode="json") if template else None,
    }


def build_step_input(call: StepCall, *, now: datetime | None = None) -> dict[str, Any]:
    """The document ``data.baton.step_decision`` is evaluated over: one call, values resolved."""
    entry: dict[str, Any] = {
        "id": call.step_id,
        "tool": call.tool,
        "effect": call.effect,
        "tags": list(call.tags),
        "region": call.region,
        **scanned_strings(call.args),
        # The names the executor hands the tool (executor.call_payloads.referenced_secrets).
        "secret_names": sent_secret_names(call.args, call.endpoint_url, call.endpoint_secrets,
                                          resolved=True),
        "source_regions": sorted(set(call.source_regions)),
        "source_tools": sorted(set(call.source_tools)),
        "source_hosts": sorted(set(call.source_hosts)),
    }
    url = call_url(call.endpoint_url, call.args)
    if url is not _NO_URL:
        entry["url"] = url_facts(url, resolved=True)
    return {
        "kind": "step",
        "run_id": call.run_id,
        "plan_id": call.plan_id,
        "step": entry,
        "requester": call.requester.model_dump(mode="json"),
        "context": context_facts(PolicyContext(now=now or datetime.now(UTC))),
    }


def step_call_for(
    plan: Plan,
    step_id: str,
    resolved_args: Mapping[str, Any],
    registry: ToolRegistry,
    *,
    run_id: str,
    plan_id: str,
    requester: Requester,
    source_urls: Mapping[str, str] | None = None,
) -> StepCall:
    """The ``StepCall`` the executor checks before calling ``step_id`` with ``resolved_args``.

    ``source_urls`` holds the URLs source steps resolved to when they ran (by step id); a
    source step not in it counts by the URL the plan wrote for it, if a literal one.
    """
    spec = registry.get(plan.step(step_id).tool)
    tools, regions, hosts = set(), set(), set()
    for source in step_data_sources(plan, registry, step_id):
        step = plan.step(source)
        tools.add(step.tool)
        source_spec = registry.get(step.tool) if step.tool in registry else None
        if source_spec is not None and source_spec.region:
            regions.add(source_spec.region)
        url = call_url(source_spec.endpoint_url if source_spec else None, step.args)
        if source_spec is None or source_spec.endpoint_url is None:
            url = (source_urls or {}).get(source, url)
        if host := url_host(url):
            hosts.add(host)
    return StepCall(
        run_id=run_id, plan_id=plan_id, step_id=step_id, tool=spec.name,
        effect=effect_for(spec, resolved_args).value, args=dict(resolved_args),
        tags=spec.tags, region=spec.region, endpoint_url=spec.endpoint_url,
        endpoint_secrets=spec.secrets if spec.endpoint_url else (), requester=requester,
        source_regions=tuple(sorted(regions)), source_tools=tuple(sorted(tools)),
        source_hosts=tuple(sorted(hosts)),
    )
