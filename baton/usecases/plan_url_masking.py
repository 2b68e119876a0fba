"""A new plan version without the credentials written into its URLs, before it is stored.

Each credential the policy rule against literal credentials in URLs refuses, and user
information as logs show it, is masked as ``***`` (:mod:`planner.url_literals`) in the goal, the
plan, its template parameters, the feedback, the error and the problems; a template parameter
or the goal spliced into such a URL wherever it is written (:mod:`planner.url_splices`), and
each value masking hid in the plan or in a model's reply (eight characters or more: the model
may have copied it from the goal's words) wherever the version writes it, the plan's arguments
apart where no URL of the plan was masked (they run as written). The
version stays as it was judged: masked, each URL is refused for the same parameter at the same
place; where it would not be, or no well-formed plan is left, it is stored INVALID with a
``url_credential`` problem naming each parameter, never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from executor.store.plans import NewVersion
from planner.base import PlanningTrace
from planner.plan import Plan, TemplateOrigin
from planner.problems import Problem, ProblemCode
from planner.versions import VersionStatus


def without_url_literals(goal: str, new: NewVersion, trace: PlanningTrace | None = None
                         ) -> tuple[str, NewVersion]:
    """``goal`` and ``new`` with each credential written into a URL that the policy refuses
    masked as ``***`` (:mod:`planner.url_literals`): in the plan (arguments, goal, each
    step's why), the template parameters, the feedback, the error and the problems. A template
    parameter or goal spliced into a URL whose credential was masked is masked wherever it is
    written (:mod:`planner.url_splices`: ``report?token=***``), and so is each value masking
    hid in the plan or in a model's reply in ``trace`` (at least eight characters long): the
    model may have copied it from the goal's or the feedback's words, where no URL shows it.

    The plan stays VALIDATED for the policy to judge: masked, each such URL is refused for
    the same parameter at the same place, and the denial names it. Where masking would
    change what the rule refuses or leave no well-formed plan, the version is
    stored INVALID instead, with a problem naming each parameter: never judged on a plan
    other than the one written.
    """
    from planner.url_literals import masked_document, masked_value
    from planner.url_splices import with_splices_masked

    wire = new.plan.to_wire() if new.plan is not None else None
    masked = masked_document(wire) if wire is not None else None
    document = masked_document(new.document)
    # A template's splice is written as it reads masked where it can be (report?token=***).
    splices = {**_hidden((wire, masked), (new.document, document), trace=trace),
               **_spliced(new, wire, masked)}
    update: dict[str, Any] = {
        "feedback": with_splices_masked(masked_value(new.feedback), splices),
        "error": with_splices_masked(masked_value(new.error), splices),
        # Masked as the plan is: the template check makes the plan again from them.
        "origin": None if new.origin is None else TemplateOrigin.model_validate(
            _spliced_params(masked_value(new.origin.model_dump(mode="json")), splices)),
        "problems": url_masked_problems(new.problems, splices),
        "document": with_splices_masked(document, splices)}
    if new.plan is not None and masked != wire:
        masked = with_splices_masked(masked, splices)
        lost = _refusals_lost(new.plan, masked)
        plan = _well_formed(masked)
        if plan is not None and not lost:
            update["plan"] = plan
        else:
            update.update(plan=None, document=masked, status=VersionStatus.INVALID,
                          problems=(*update["problems"], *(lost or _all_refused(new.plan))))
    elif new.plan is not None and splices:
        update["plan"] = _texts_masked(new.plan, splices)
    return with_splices_masked(masked_value(goal), splices), new.model_copy(update=update)


def _hidden(*masked: tuple[Any, Any], trace: PlanningTrace | None = None
            ) -> dict[str, str]:
    """Each value masking hid (``masked``: pairs of what was written and it masked), or hid in
    a model's reply in ``trace``, as ``***``."""
    from planner.url_literals import MASK, reply_hidden_values
    from planner.url_splices import hidden_values

    found = [value for written, shown in masked if shown != written
             for value in hidden_values(written, shown)]
    found += [value for exchange in (trace.exchanges if trace else ()) if exchange.reply
              for value in reply_hidden_values(exchange.reply)]
    return dict.fromkeys(found, MASK)


def _texts_masked(plan: Plan, masks: dict[str, str]) -> Plan:
    # A plan no URL of which was masked: its goal and each step's why only. An argument keeps
    # what it was written with, as the policy judges it and as it runs.
    from planner.url_splices import with_splices_masked

    wire = plan.to_wire()
    steps = [{**step, "why": with_splices_masked(step["why"], masks)} if "why" in step
             else step for step in wire["steps"]]
    return Plan.model_validate({**wire, "goal": with_splices_masked(wire["goal"], masks),
                                "steps": steps})


def _spliced(new: NewVersion, wire: dict[str, Any] | None, masked: Any) -> dict[str, str]:
    """Of the texts a template spliced into ``new``'s plan (its parameters, the goal), each
    part of a credential masking hid in ``wire`` (as ``masked``), and how it is written masked."""
    from planner.url_splices import spliced_masks, spliced_values

    if new.origin is None or wire is None or masked == wire:
        return {}
    return spliced_masks(wire, masked, spliced_values(new.origin.params, wire.get("goal")))


def _spliced_params(origin: dict[str, Any], splices: dict[str, str]) -> dict[str, Any]:
    # A number was spliced as its text: where that is masked, the parameter holds the mask.
    from planner.url_splices import with_splices_masked

    params = {name: splices.get(str(value), value) if isinstance(value, int | float)
              and not isinstance(value, bool) else with_splices_masked(value, splices)
              for name, value in origin["params"].items()}
    return {**origin, "params": params}


def url_masked_problems(problems: tuple[Problem, ...] | list[Problem],
                         splices: dict[str, str] | None = None) -> tuple[Problem, ...]:
    """``problems`` with URL credentials masked in their messages (one may quote an argument),
    and the spliced texts that are part of one (``splices``)."""
    from planner.url_literals import masked_value
    from planner.url_splices import with_splices_masked

    return tuple(p.model_copy(update={"message": with_splices_masked(
        masked_value(p.message), splices or {})}) for p in problems)


def _well_formed(document: dict[str, Any]) -> Plan | None:
    from pydantic import ValidationError

    try:
        return Plan.model_validate(document)
    except ValidationError:
        return None


def url_credentials(args: Any) -> list[dict[str, str]]:
    """What the policy rule against literal credentials in URLs refuses in a step's ``args``
    before the run: each string's path and parameter name, never a value."""
    from policies.inputs import scanned_strings  # as each step's policy input has them

    return scanned_strings(args, plan_strings_before=0)["url_credentials"]


def _url_problem(index: int, step_id: str, found: dict[str, str]) -> Problem:
    path = found["path"].replace("$.args", f"$.steps[{index}].args", 1)
    return Problem(code=ProblemCode.URL_CREDENTIAL, step=step_id, path=path, message=(
        f"carries a literal credential in URL parameter {found['param']}; it was not stored. "
        "Configure it as a secret and send it as ${secret:NAME} in a header instead"))


def _refusals_lost(plan: Plan, masked: dict[str, Any]) -> list[Problem]:
    """A problem for each credential the rule refuses in ``plan`` at an argument where it
    refuses none once masked (``masked``, its wire form), and for each step whose URL the
    policy reads otherwise once masked (its host, scheme or user information: urlsplit refused
    the user information, ``u]:pw@``, or reads the masked one).

    By argument, not by name: a value masked whole hides too what the rule read inside it
    once decoded (``?token=%23/token=…``), and the argument is refused all the same.
    """
    lost = []
    for index, (step, after) in enumerate(zip(plan.steps, masked["steps"], strict=True)):
        args = after.get("args", {})
        still = {found["path"] for found in url_credentials(args)}
        lost += [_url_problem(index, step.id, found) for found in url_credentials(step.args)
                 if found["path"] not in still]
        if _url_read(step.args) != _url_read(args):
            lost.append(_user_information_problem(index, step.id))
    return lost


def _all_refused(plan: Plan) -> list[Problem]:
    return [*(_url_problem(index, step.id, found) for index, step in enumerate(plan.steps)
              for found in url_credentials(step.args)),
            *(_user_information_problem(index, step.id) for index, step in enumerate(plan.steps)
              if _user_information(step.args))]


def _url_read(args: Any) -> dict[str, Any] | None:
    """The ``url`` argument of ``args`` as each step's policy input reads it: its host, its
    scheme, whether it carries user information (None: there is none)."""
    from policies.inputs import url_facts

    if not isinstance(args, Mapping) or "url" not in args:
        return None
    return url_facts(args["url"])


def _user_information(args: Any) -> bool:
    """Whether the rule against user information in the URL a step calls refuses the ``url``
    argument of ``args`` (``https://user:pw@host``, ``https://TOKEN@host``)."""
    return (_url_read(args) or {}).get("url_has_credentials", False) is True


def _user_information_problem(index: int, step_id: str) -> Problem:
    return Problem(code=ProblemCode.URL_CREDENTIAL, step=step_id,
                   path=f"$.steps[{index}].args.url", message=(
                       "its URL carries credentials before the host (user@host) that could not "
                       "be masked in place; they were not stored. Configure them as a secret "
                       "and send them as ${secret:NAME} in a header instead"))


__all__ = ["url_credentials", "url_masked_problems", "without_url_literals"]
