"""The LLM planner: ask an OpenAI-compatible model for a plan, validate it, repair it, trace it.

The model proposes; :func:`planner.validation.validate_plan` decides what
counts as a plan. Every candidate is validated; the problems go back to the
model (code, step, path, message) until a candidate passes or the attempts
run out. Each repair request is the opening conversation, the latest failed
reply and its problems (:mod:`planner.llm.repair`): it does not grow per round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import structlog

from planner.base import ModelExchange, PlannerKind, PlanningError, PlanningTrace, PlanResult
from planner.plan import Plan
from planner.problems import Problem
from planner.retrieval import LexicalRanker, ToolRanker
from tools import ToolInfo, ToolRegistry

from . import prompt
from .client import ChatClient, ChatReply, Messages
from .config import LLMConfig
from .repair import bounded_problem, repair_conversation, reply_head

log = structlog.get_logger(__name__)


class LLMPlanner:
    """Plans with any OpenAI-compatible endpoint; implements the ``Planner`` protocol."""

    def __init__(
        self,
        config: LLMConfig,
        *,
        ranker: ToolRanker | None = None,
        client_factory: Callable[[LLMConfig], Any] | None = None,
    ) -> None:
        self.config = config
        self.ranker: ToolRanker = ranker or LexicalRanker()
        self.chat = ChatClient(config, client_factory=client_factory)

    def plan(self, goal: str, registry: ToolRegistry) -> PlanResult:
        """A validated plan for ``goal``; ``PlanningError`` (with the trace) otherwise."""
        offered = self.offer(goal, registry)
        messages = [
            {"role": "system", "content": prompt.system_prompt(offered, self.chat.hide)},
            {"role": "user", "content": prompt.goal_message(goal, self.chat.hide)},
        ]
        return self._loop(goal, messages, offered, registry)

    def revise(self, previous: Plan, feedback: str, registry: ToolRegistry, *,
               rejection: str | None = None) -> PlanResult:
        """A new plan for ``previous.goal`` addressing ``feedback`` and the approver's
        ``rejection`` reason, if an approver rejected ``previous``."""
        offered = self.offer("\n".join([previous.goal, feedback, rejection or ""]), registry,
                             keep=[s.tool for s in previous.steps])
        request = prompt.revise_message(previous.goal, previous, feedback, rejection,
                                        self.chat.hide)
        messages = [
            {"role": "system", "content": prompt.system_prompt(offered, self.chat.hide)},
            {"role": "user", "content": request},
        ]
        return self._loop(previous.goal, messages, offered, registry)

    def offer(
        self, goal: str, registry: ToolRegistry, keep: Sequence[str] = ()
    ) -> list[ToolInfo]:
        """The tools shown to the model: all of them, or the best ranked when there are too many."""
        specs = list(registry)
        limit = self.config.max_tools_offered
        if len(specs) <= limit:
            return [s.info() for s in specs]
        kept = [name for name in dict.fromkeys(keep) if name in registry][:limit]
        ranked = self.ranker.rank(goal, specs, limit + len(kept))
        names = list(dict.fromkeys([*kept, *ranked]))[:limit]
        return [registry.get(name).info() for name in names]

    def _loop(
        self, goal: str, messages: Messages, offered: list[ToolInfo], registry: ToolRegistry
    ) -> PlanResult:
        from planner.validation import validate_plan

        exchanges: list[ModelExchange] = []
        schema = prompt.reply_schema([t.name for t in offered])
        problems: list[Problem] = []
        opening = messages
        for attempt in range(1, self.config.max_attempts + 1):
            reply = self.chat_or_fail(messages, schema, exchanges, offered)
            document, problems, written = prompt.candidate_document(
                goal, reply.content, max_steps=self.config.max_steps, hide=self.chat.hide_all)
            if document is not None:
                report = validate_plan(document, registry, max_steps=self.config.max_steps)
                problems = list(report.problems)
                if report.ok and report.plan is not None:
                    return PlanResult(plan=report.plan, planner=PlannerKind.LLM,
                                      trace=self._trace(exchanges, offered))
            exchanges[-1] = exchanges[-1].model_copy(update={"problems": tuple(problems)})
            log.info("llm.plan_invalid", attempt=attempt, problems=len(problems))
            messages = repair_conversation(
                opening, reply.content or "", written, problems,
                max_echoed=self.config.max_echoed_reply_chars, max_steps=self.config.max_steps,
                hide=self.chat.hide)
        # Cut like the repair request's lines, every secret the client knows masked first:
        # the error is stored, recorded and shown, and the shell's masking comes after the cut.
        listed = "\n".join(prompt.listed_problems(
            problems, lambda p: f"  - {bounded_problem(p, self.chat.hide_all)}"))
        raise PlanningError(
            self.chat.mask(f"{self.config.describe()} gave no valid plan in "
                           f"{self.config.max_attempts} attempt(s); last problems:\n{listed}"),
            trace=self._trace(exchanges, offered), problems=problems, code="plan_invalid",
        )

    def chat_or_fail(
        self, messages: Messages, schema: dict[str, Any], exchanges: list[ModelExchange],
        offered: list[ToolInfo],
    ) -> ChatReply:
        """One completion; transport failures, refusals and truncation become ``PlanningError``."""
        try:
            reply = self.chat.complete(messages, schema, exchanges)
        except PlanningError as exc:
            exc.trace = self._trace(exchanges, offered)
            raise
        if reply.refusal or reply.finish_reason == "content_filter":
            # Its beginning only (a model may refuse at length), every secret masked before
            # the cut: the error is stored, recorded and shown.
            said = (reply_head(reply.refusal, self.config.max_echoed_reply_chars,
                               self.chat.hide_all) if reply.refusal else "content filter")
            raise PlanningError(
                self.chat.mask(f"{self.config.describe()} refused to plan: {said}"),
                trace=self._trace(exchanges, offered), code="model_refused")
        if reply.finish_reason == "length":
            raise PlanningError(
                self.chat.mask(f"{self.config.describe()} stopped at its token limit before the "
                               "plan was complete"),
                trace=self._trace(exchanges, offered), code="reply_truncated")
        return reply

    def _trace(self, exchanges: list[ModelExchange], offered: list[ToolInfo]) -> PlanningTrace:
        formats = dict.fromkeys(e.response_format for e in exchanges)
        return PlanningTrace(
            planner=PlannerKind.LLM,
            exchanges=tuple(exchanges),
            tools_offered=tuple(t.name for t in offered),
            notes=(f"response formats used: {', '.join(formats) or 'none'}",),
        )
