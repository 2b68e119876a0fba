"""Judging a plan document as storing it would, storing nothing (``baton validate``,
``baton policy eval``, ``POST /policy/decision``).

Apart from ``plans`` so that ``baton validate`` does not import the store (SQLModel and
the executor cost it a quarter of a second at start-up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.plan import Plan
    from planner.problems import Problem

    from ..services import Services


def check_plan_document(services: Services, document: Any,
                        read_problems: Iterable[Problem] = ()) -> tuple[Plan | None, tuple[Problem, ...]]:
    """Judge ``document`` as storing it would, storing nothing: the plan (None unless valid)
    and every problem, configured secret values masked in each.

    Beside validation's problems: a configured secret's value anywhere in it
    (``configured_secret``) and the mask mark in an argument (``masked_value``), the checks
    ``plan_from_document`` makes before storing. ``read_problems`` (the document could not be
    read as a plan) skip validation; the secret scan still runs.
    """
    from planner.json_values import storable
    from planner.secret_literals import configured_secret_problems, masked_mark_problems
    from planner.validation import validate_plan

    problems, plan = list(read_problems), None
    if not problems:
        report = validate_plan(document, services.registry, max_steps=services.settings.max_steps)
        plan, problems = report.plan, list(report.problems)
    secrets = services.recognisable_secrets
    # The copy storing would keep, cut at the depth records allow: the raw document may nest
    # deeper than the scan can recurse (validation refuses it as too deep; the scan of it
    # raised RecursionError, a 500).
    found, _ = configured_secret_problems(storable(document), secrets) if secrets else ((), None)
    marks = masked_mark_problems(plan) if plan is not None else ()
    every = (*masked_problems(problems, secrets), *found, *marks)
    return (None if every else plan), every


def masked_problems(problems: Iterable[Problem], secrets: Mapping[str, str | None]
                    ) -> tuple[Problem, ...]:
    """``problems`` with configured secret values masked in their messages, steps and paths."""
    from tools.redaction import redact

    return tuple(p.model_copy(update={"message": redact(p.message, secrets),
                                      "step": redact(p.step, secrets),
                                      "path": redact(p.path, secrets)}) for p in problems)
