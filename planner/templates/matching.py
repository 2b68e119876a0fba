"""The template planner: goals matched against the plan library, with zero model calls."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from re import _parser as _sre  # the parser re compiles with: what a regex requires
from typing import Any

from tools import ToolRegistry

from ..base import PlannerKind, PlanningError, PlanningTrace, PlanResult
from ..plan import Plan, TemplateOrigin
from ..problems import Problem, ProblemCode
from .backtracking import CHECKED_LENGTH, too_slow
from .loader import TemplateLibrary
from .model import Template, TemplateError
from .params import bounds_check, coerce_all, instantiate, with_defaults
from .patterns import compile_pattern, normalise_goal

NO_MATCH_MESSAGE = "no template matches; configure an LLM endpoint or add a template"
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class TemplateMatch:
    """A goal matched to a template with every parameter extracted and within bounds."""

    template: Template
    params: dict[str, Any]
    pattern: str


@dataclass(frozen=True)
class NearMiss:
    """A goal whose wording fits a template but whose values do not; or, not ``tried``, a
    goal too long to match against one of its patterns in bounded time."""

    template: Template
    problems: tuple[str, ...]
    tried: bool = True


@dataclass(frozen=True)
class _Compiled:
    template: Template
    pattern: str
    regex: re.Pattern[str]
    specificity: int


class TemplateMatcher:
    """Precompiled patterns of the newest version of every template in a library."""

    def __init__(self, library: TemplateLibrary) -> None:
        self.library = library
        compiled = [_Compiled(t, p, regex, required_wording(regex))
                    for t in library for p in t.patterns
                    for regex in (compile_pattern(p, t),)]
        # Most literal wording first, so a specific template wins over a general one; at
        # equal wording the phrase a reader sees beats a regex, then name and pattern order
        # keep the choice deterministic.
        order = {id(c): i for i, c in enumerate(compiled)}
        self._compiled = sorted(compiled, key=lambda c: (
            -c.specificity, c.pattern.startswith("re:"), c.template.name, order[id(c)]))

    def match(self, goal: str) -> tuple[TemplateMatch | None, list[NearMiss]]:
        """The best template match for ``goal``, else None and the templates that nearly fit."""
        text = normalise_goal(goal)
        misses: dict[str, NearMiss] = {}
        # Every pattern keeps to the budget up to CHECKED_LENGTH (compile_pattern refuses
        # one that does not): only a longer goal is weighed against each pattern's bound.
        long = len(text) > CHECKED_LENGTH
        for entry in self._compiled:
            if long and too_slow(entry.regex.pattern, entry.regex.flags, length=len(text)):
                # Goal text is anyone's: past its pattern's bound it is not run at all.
                misses.setdefault(entry.template.name, NearMiss(entry.template, (
                    f"the goal ({len(text)} characters) is too long to match against "
                    f"pattern {entry.pattern!r} in bounded time",), tried=False))
                continue
            found = entry.regex.fullmatch(text)
            if not found:
                continue
            raw = {k: _unquote(v) for k, v in found.groupdict().items() if v is not None}
            params, problems = coerce_all(entry.template, with_defaults(entry.template, raw))
            problems += bounds_check(entry.template, params) if not problems else []
            if not problems:
                return TemplateMatch(entry.template, params, entry.pattern), []
            misses.setdefault(entry.template.name, NearMiss(entry.template, tuple(problems)))
        return None, list(misses.values())

    def nearest(self, goal: str, limit: int = 3) -> list[tuple[Template, float]]:
        """Templates whose example goals share the most words with ``goal`` (Jaccard), best first."""
        words = set(_WORDS.findall(goal.lower()))
        scored = []
        for template in self.library:
            examples = template.example_goals or (template.description,)
            score = max(_jaccard(words, set(_WORDS.findall(e.lower()))) for e in examples)
            if score > 0:
                scored.append((template, round(score, 3)))
        scored.sort(key=lambda item: (-item[1], item[0].name))
        return scored[:limit]


class TemplatePlanner:
    """The planner that needs no model: a goal must match a template in full."""

    kind = PlannerKind.TEMPLATE

    def __init__(self, library: TemplateLibrary, *, max_steps: int = 200) -> None:
        self.matcher = TemplateMatcher(library)
        self.max_steps = max_steps

    def plan(self, goal: str, registry: ToolRegistry) -> PlanResult:
        """A plan from the template that matches ``goal``; PlanningError listing the nearest ones."""
        found, misses = self.matcher.match(goal)
        if found is None:
            raise self._no_match(goal, misses)
        return self._result(found, goal, registry, note=f"matched pattern {found.pattern!r}")

    def revise(self, previous: Plan, feedback: str, registry: ToolRegistry, *,
               rejection: str | None = None) -> PlanResult:
        """Only feedback that is itself a goal some template matches can be served without a model.

        The approver's ``rejection`` reason is free text for a model: it is not matched.
        """
        found, _ = self.matcher.match(feedback)
        if found is None:
            raise PlanningError(
                "the template planner cannot revise a plan from free-form feedback: configure an "
                "LLM endpoint, write the feedback as a goal that a template matches, or edit the "
                "plan by hand and submit it with `baton plan --file PLAN_FILE`",
                trace=PlanningTrace(planner=PlannerKind.TEMPLATE), code="revision_needs_llm",
            )
        note = f"feedback re-matched as a goal (pattern {found.pattern!r}); replaces the previous plan"
        return self._result(found, feedback, registry, note=note)

    def _result(self, found: TemplateMatch, goal: str, registry: ToolRegistry, *, note: str) -> PlanResult:
        from ..validation import validate_plan

        template = found.template
        trace = PlanningTrace(planner=PlannerKind.TEMPLATE,
                              notes=(f"template {template.name} v{template.version}: {note}",))
        try:
            plan = instantiate(template, found.params, goal=goal.strip())
        except TemplateError as exc:
            raise PlanningError(exc.message, trace=trace, code="template_invalid") from exc
        report = validate_plan(plan.to_wire(), registry, max_steps=self.max_steps)
        if not report.ok:
            raise PlanningError(_invalid_plan_message(template, report.problems), trace=trace,
                                problems=list(report.problems), code="template_invalid")
        origin = TemplateOrigin(name=template.name, version=template.version, params=found.params)
        return PlanResult(plan=report.plan or plan, planner=PlannerKind.TEMPLATE, origin=origin,
                          trace=trace)

    def _no_match(self, goal: str, misses: list[NearMiss]) -> PlanningError:
        lines = [NO_MATCH_MESSAGE + "."]
        for miss in misses:
            said = "fits the wording but" if miss.tried else "was not tried"
            lines.append(f"  template {miss.template.name} {said}: " + "; ".join(miss.problems))
        nearest = self.matcher.nearest(goal)
        if nearest:
            lines.append("nearest templates:")
            for template, score in nearest:
                example = template.example_goals[0] if template.example_goals else template.description
                lines.append(f"  {template.name} v{template.version} ({score:.2f}): e.g. {example!r}")
        else:  # nothing shares a word: still say what the library can do
            names = self.matcher.library.names()
            lines.append(f"no template shares a word with the goal; the library has: "
                         f"{', '.join(names) or 'no templates'}")
        trace = PlanningTrace(planner=PlannerKind.TEMPLATE, notes=tuple(lines[1:]))
        return PlanningError("\n".join(lines), trace=trace, code="no_template_matches")


def _invalid_plan_message(template: Template, problems: Sequence[Problem]) -> str:
    """One line: the template, how many problems its plan has, and what to fix.

    A missing tool is named as the cause only when one is: a cycle or a bad reference in the
    template's own steps is the template's fault. The problems go beside it (``problems``).
    """
    missing = any(problem.code is ProblemCode.UNKNOWN_TOOL for problem in problems)
    return (f"template {template.name} v{template.version} made an invalid plan "
            f"({len(problems)} problem(s)); "
            + ("a tool it uses is missing: add the tool or fix the template" if missing
               else "fix the template"))


def wording_problem(template: Template) -> str | None:
    """Why ``template`` would take goals meant for others: a pattern requiring no wording."""
    for pattern in template.patterns:
        if required_wording(compile_pattern(pattern, template)) == 0:
            return (f"template {template.name}: pattern {pattern!r} requires no literal "
                    "wording, so it would match goals meant for other templates: write the "
                    "words a goal must contain")
    return None


def required_wording(regex: re.Pattern[str]) -> int:
    """How many literal characters every text ``regex`` matches must contain.

    Counted on the parsed regex, not its source: ``\\b``, anchors, classes and lookarounds
    require none, so padding a pattern with them does not make it outrank others.
    """
    return _wording(_sre.parse(regex.pattern, regex.flags))


_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)


def _wording(items: Any) -> int:
    total = 0
    for op, value in items:
        if op == _sre.LITERAL:
            total += 1
        elif op in _REPEATS:  # (min, max, item): only the minimum is required
            total += value[0] * _wording(value[2])
        elif op == _sre.BRANCH:  # (None, branches): any branch will do, so the shortest
            total += min(_wording(branch) for branch in value[1])
        elif op == _sre.SUBPATTERN:  # (group, add flags, del flags, items)
            total += _wording(value[3])
        elif op == _sre.ATOMIC_GROUP:
            total += _wording(value)
    return total


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
