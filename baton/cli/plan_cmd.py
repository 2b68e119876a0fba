"""``baton plan``, ``baton revise``, ``baton plans list|show``, ``baton templates list|show|add``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..limits import FEEDBACK_MAX_CHARS, GOAL_MAX_CHARS
from ..usecases.permissions import Action
from .common import (
    EXIT_FAILED,
    EXIT_USAGE,
    acting_user,
    console,
    fail,
    limit_option,
    print_error,
    print_json,
    reader,
    safe_markup,
    state,
    version_option,
)
from .main import app
from .template_options import (
    BOUND_OPTIONS_HELP,
    check_template_name,
    parse_bounds,
    parse_params,
    refuse_plan_options,
)

if TYPE_CHECKING:
    from planner.templates import TemplateError

    from ..usecases.templates import ShownTemplate

plans_app = typer.Typer(help="List and show stored plans and their versions.", no_args_is_help=True)
templates_app = typer.Typer(help="The plan library: templates that plan without a model.",
                            no_args_is_help=True)
app.add_typer(plans_app, name="plans")
app.add_typer(templates_app, name="templates")

PlannerOption = Annotated[
    str | None, typer.Option("--planner", help="llm or template (default: llm when configured).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

#: The most characters of a goal a table shows (``--json`` has it whole): a listing's cost
#: and length must not grow with a goal (one of 2 MB printed 200,004 lines).
LISTED_GOAL_CHARS = 200


def _planner_kind(value: str | None):  # noqa: ANN202
    from planner.base import PlannerKind

    if value is None:
        return None
    if value not in ("llm", "template"):
        fail(f"--planner must be llm or template, not {value!r}", EXIT_USAGE)
    return PlannerKind(value)


def _show(stored, as_json: bool, services) -> None:  # noqa: ANN001
    """A version as a tree, then its policy decision, whether it stands, and the approval
    gate. ``--json``: the version with ``decision``, ``gate`` and ``decision_stale``."""
    from ..usecases.deciding import decision_for, stale_decision
    from ..usecases.gates import gate_state
    from .render import render_plan_tree
    from .vetting_cmd import show_decision

    if as_json:
        decided = decision_for(services, stored.plan_id, stored.version)
        gate = gate_state(services, stored.plan_id, stored.version) if decided else None
        print_json({**stored.model_dump(mode="json"),
                    "decision": decided.decision.model_dump(mode="json") if decided else None,
                    "gate": gate.model_dump(mode="json") if gate else None,
                    "decision_stale": stale_decision(services, stored.plan_id, stored.version)})
        return
    console.print(render_plan_tree(stored))
    show_decision(services, stored.plan_id, stored.version)


@app.command("plan")
def plan(
    ctx: typer.Context,
    goal: Annotated[str | None, typer.Argument(help="The goal, in plain language.")] = None,
    planner: PlannerOption = None,
    as_json: JsonOption = False,
    file: Annotated[Path | None, typer.Option("--file", help="Submit a hand-written plan (JSON/YAML).")] = None,
) -> None:
    """Turn a goal (or a plan file) into a stored, validated plan version, decided by policy.

    Exit codes: 0 the plan can go ahead (approved, or pending approval); 1 it was denied by
    policy, is invalid, or planning failed (the stored plan, its decision and reasons are still
    printed, and with --json the stored version is still on stdout); 2 usage or configuration error.
    """
    from planner.base import PlanningError
    from planner.loading import PlanFileError
    from planner.problems import InvalidPlanError

    from ..usecases.plans import plan_from_file, plan_goal

    cli = state(ctx)
    if (goal is None) == (file is None):
        fail("give either a GOAL or --file PLAN_FILE", EXIT_USAGE)
    if file is not None and planner is not None:
        fail("--planner does not apply to --file: a plan file is validated as written", EXIT_USAGE)
    if goal is not None and len(goal) > GOAL_MAX_CHARS:
        fail(f"the goal is {len(goal)} characters long; at most {GOAL_MAX_CHARS} are taken "
             "(as over the API): shorten it", EXIT_USAGE)
    kind = _planner_kind(planner)
    user = acting_user(ctx, Action.PLAN_CREATE)
    try:
        if file is None:
            stored = plan_goal(cli.services, goal or "", user, kind)
        else:
            stored = plan_from_file(cli.services, file, user)
    except PlanFileError as exc:
        fail(exc.message, EXIT_USAGE)
    except (PlanningError, InvalidPlanError) as exc:
        recorded = getattr(exc, "stored", None)
        if recorded is None:  # nothing was stored (e.g. an empty goal): a plain failure
            raise
        # --json callers get the recorded INVALID version (its error and problems) on stdout.
        if as_json:
            _show(recorded, as_json, cli.services)
        else:
            print_error(_with_problems(exc), lines=True)  # an invalid plan's problems, one a line
        raise typer.Exit(EXIT_FAILED) from None
    _show(stored, as_json, cli.services)
    _exit_if_denied(stored)


def _with_problems(exc: Exception) -> str:
    """``exc``'s message, with the problems of the plan a template made under its first line.

    Its message says only how many there are (the problems are stored beside it, as
    ``plans show`` shows them); an invalid plan file's and a model's list them already.
    """
    message = getattr(exc, "message", str(exc))
    if getattr(exc, "code", None) != "template_invalid" or not getattr(exc, "problems", None):
        return message
    first, newline, rest = message.partition("\n")  # rest: where the failure is recorded
    return first + "".join(f"\n  - {problem}" for problem in exc.problems) + newline + rest


def _exit_if_denied(stored) -> None:  # noqa: ANN001
    """Exit 1 after showing a version policy denied: what was asked for (a plan that can go ahead) failed."""
    from planner.versions import VersionStatus

    if stored.status is VersionStatus.DENIED:
        raise typer.Exit(EXIT_FAILED)


@app.command("revise")
def revise(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="Plan id, e.g. p-3f2a9c1d.")],
    feedback: Annotated[str, typer.Argument(help="What should change.")],
    planner: PlannerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ask the planner for a new version that addresses FEEDBACK (and any rejection reason).

    Exit codes as for `baton plan`: 1 when the new version is denied by policy or planning failed.
    """
    from planner.base import PlanningError

    from ..usecases.plans import revise_plan

    cli = state(ctx)
    if len(feedback) > FEEDBACK_MAX_CHARS:  # before anything is recorded, as over the API
        fail(f"the feedback is {len(feedback)} characters long; at most {FEEDBACK_MAX_CHARS} "
             "are taken (as over the API): shorten it", EXIT_USAGE)
    user = acting_user(ctx, Action.PLAN_REVISE)
    try:
        stored = revise_plan(cli.services, plan_id, feedback, user, _planner_kind(planner))
    except PlanningError as exc:
        if exc.code != "template_invalid":
            raise
        print_error(_with_problems(exc), lines=True)
        raise typer.Exit(EXIT_FAILED) from None
    _show(stored, as_json, cli.services)
    _exit_if_denied(stored)


@plans_app.command("list")
def plans_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help=(
        "Only plans whose latest version has this status; pending_approval: the versions "
        "waiting for approval, approved ones whose approvals lapsed included."))] = None,
    limit: Annotated[int, limit_option(
        "At most this many plans, newest first; the table says when more follow.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The latest version of each plan, newest first; an approved one whose approvals lapsed
    (expired, or the approver lost the role) is marked: it cannot run until approved again
    (it waits for approval unless it ran to success)."""
    from planner.versions import VersionStatus

    from ..usecases.plan_listing import listed_plans
    from .render import add_id_column, print_table, shortened, status_text

    if status is not None and status not in {s.value for s in VersionStatus}:
        fail(f"--status must be one of {', '.join(s.value for s in VersionStatus)}", EXIT_USAGE)
    # One more than shown, to say whether more follow: else the newest 50 read as all there is.
    listed = listed_plans(reader(ctx, Action.PLAN_READ), status, limit + 1)
    more, listed = len(listed) > limit, listed[:limit]
    if as_json:
        print_json([{**entry.version.model_dump(mode="json"),
                     "approval_lapsed": entry.approval_lapsed} for entry in listed])
        return
    rows = [entry.version for entry in listed]
    table = Table()
    add_id_column(table, "plan", (r.plan_id for r in rows))
    add_id_column(table, "v", (str(r.version) for r in rows))
    for column in ("status", "planner", "requester", "created", "goal"):
        table.add_column(column, overflow="fold")  # wrapped, never cut: the ids keep their width
    for entry, r in zip(listed, rows, strict=True):
        shown_status = status_text(r.status) + (
            f"\n[yellow]{safe_markup(entry.approval_lapsed)}[/]" if entry.approval_lapsed else "")
        table.add_row(safe_markup(r.plan_id), str(r.version), shown_status, r.planner.value,
                      safe_markup(r.requester), r.created_at.strftime("%Y-%m-%d %H:%M"),
                      safe_markup(shortened(r.goal, LISTED_GOAL_CHARS)))
    if rows:
        print_table(console, table)
        if more:
            follow = ("wait for approval" if status == VersionStatus.PENDING_APPROVAL.value
                      else "plans follow")
            console.print(f"[dim]the newest {limit} shown; more {follow}: --limit N lists "
                          "up to N[/]")
    elif status == VersionStatus.PENDING_APPROVAL.value:
        console.print("[dim]no plan waits for approval[/]")
    elif status is not None:  # there may well be plans: none of them is in that status
        console.print(f"[dim]no plan's latest version has status {status}[/]")
    else:
        console.print("[dim]no plans yet: baton plan \"GOAL\"[/]")


@plans_app.command("show")
def plans_show(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="Plan id.")],
    version: Annotated[int | None, version_option("Version (default: latest).")] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Compare with the previous version.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one plan version with its policy decision and approval gate, or its diff against the
    previous version."""
    from ..usecases.plans import diff_with_previous, show_plan
    from .render import print_code, render_diff

    services = reader(ctx, Action.PLAN_READ)
    if not diff:
        _show(show_plan(services, plan_id, version), as_json, services)
        return
    previous, current, changes = diff_with_previous(services, plan_id, version)
    if as_json:
        print_json({"plan_id": plan_id, "from": previous.version, "to": current.version,
                    **changes.model_dump(mode="json")})
        return
    console.print(f"[bold]{safe_markup(plan_id)}[/] v{previous.version} → v{current.version}")
    console.print(render_diff(changes))
    if changes.text:
        print_code(console, changes.text, "diff")


@templates_app.command("list")
def templates_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The newest version of every template."""
    from ..usecases.templates import list_templates

    shown = list_templates(reader(ctx, Action.TEMPLATE_READ))
    if as_json:
        print_json([_template_json(s) for s in shown])
        return
    from .render import add_id_column, print_table, shortened

    table = Table()
    add_id_column(table, "template", (s.template.name for s in shown))
    add_id_column(table, "v", (str(s.template.version) for s in shown))
    for column in ("pre-approved", "params", "example goal"):
        table.add_column(column, overflow="fold")  # wrapped, never cut: the names keep their width
    for s in shown:
        t = s.template
        table.add_row(safe_markup(t.name), str(t.version), safe_markup(_pre_approval_cell(s)),
                      safe_markup(", ".join(p.name for p in t.params)),
                      safe_markup(shortened(t.example_goals[0] if t.example_goals
                                            else t.description, LISTED_GOAL_CHARS)))
    print_table(console, table)


def _template_json(shown: ShownTemplate) -> dict:
    """A template's document, as its file lays it out, and where its pre-approval stands
    (the file's own ``approved_by`` is what the file says, not who pre-approved it)."""
    return {**shown.template.to_document(),
            "pre_approval": shown.pre_approval.model_dump(mode="json")}


def _pre_approval_cell(shown: ShownTemplate) -> str:
    """The list's pre-approved column: who, or why a pre-approval the file claims does not
    count; empty for a template that claims none."""
    from planner.templates import PreApprovalState

    standing = shown.pre_approval
    if standing.counts:
        return f"yes ({standing.approved_by})"
    if standing.state is PreApprovalState.NONE:
        return ""
    # Short: the table wraps each cell in its column; `templates show` says it in full.
    said = {PreApprovalState.SHIPPED: "shipped with Baton, pre-approved by nobody",
            PreApprovalState.NOT_SAVED: "not saved by `baton templates add`",
            PreApprovalState.CHANGED: "changed on disk since it was saved",
            PreApprovalState.UNRECORDED_CONTENT: "saved by an earlier Baton: re-save it"}
    return "no: " + (said.get(standing.state) or "; ".join(standing.problems)
                     or "nobody on record")


def _pre_approval_comment(shown: ShownTemplate) -> str:
    """Where a template's pre-approval stands, as YAML comment lines above its document."""
    from planner.templates import PreApprovalState

    standing = shown.pre_approval
    if standing.counts:
        line = (f"pre-approved by {standing.approved_by}, as saved by `baton templates add` "
                "(the file is unchanged since)")
    elif standing.state is PreApprovalState.NONE:
        return ""
    else:
        line = ("its pre-approval does not count: "
                + ("; ".join(standing.problems) or _pre_approval_cell(shown).removeprefix("no: ")))
    return f"# {line}\n"


@templates_app.command("show")
def templates_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Template name.")],
    version: Annotated[int | None, version_option("Version (default: newest).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one template version as YAML (or JSON)."""
    from planner.templates import template_yaml

    from ..usecases.templates import show_template
    from .render import print_code

    check_template_name(name, f"{name!r}")
    shown = show_template(reader(ctx, Action.TEMPLATE_READ), name, version)
    if as_json:
        print_json(_template_json(shown))
    else:
        print_code(console, _pre_approval_comment(shown) + template_yaml(shown.template), "yaml")


@templates_app.command("add")
def templates_add(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="A template YAML file to add.")] = None,
    from_plan: Annotated[str | None, typer.Option("--from-plan", help="Plan id to save as a template.")] = None,
    version: Annotated[int | None, version_option("Plan version (default: latest).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Template name (with --from-plan).")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", metavar="NAME=PATH|VALUE", help="NAME=$.steps.ID.args.X or NAME=literal.")] = None,
    param_pattern: Annotated[list[str] | None, typer.Option(
        "--param-pattern", metavar="NAME=REGEX", help="Values of parameter NAME must match REGEX in full.")] = None,
    param_enum: Annotated[list[str] | None, typer.Option(
        "--param-enum", metavar="NAME=V1,V2,...", help="The only values parameter NAME may take.")] = None,
    param_min: Annotated[list[str] | None, typer.Option(
        "--param-min", metavar="NAME=N", help="Smallest value of number parameter NAME.")] = None,
    param_max: Annotated[list[str] | None, typer.Option(
        "--param-max", metavar="NAME=N", help="Largest value of number parameter NAME.")] = None,
    description: Annotated[str, typer.Option("--description", help="What the template does.")] = "",
    pre_approved: Annotated[bool, typer.Option(
        "--pre-approved", help="Instances are standard changes (needs the approver or admin "
                               "role as well as template.add; every parameter bounded).")] = False,
) -> None:
    """Add a template from a YAML file, or from a stored plan (chosen values become parameters).

    A pre-approved template must bound every parameter: its instances inside the bounds
    need no approval (--param-pattern, --param-enum, or --param-min and --param-max).
    """
    from planner.loading import file_problem
    from planner.templates import TemplateError

    from ..usecases.templates import add_template_file, save_plan_as_template

    cli = state(ctx)
    if (file is None) == (from_plan is None):
        fail("give either FILE.yaml or --from-plan PLAN_ID", EXIT_USAGE)
    if file is not None:
        refuse_plan_options({
            "--name": name is not None, "--param": bool(param), "--version": version is not None,
            "--description": bool(description), "--pre-approved": pre_approved,
            "--param-pattern": bool(param_pattern), "--param-enum": bool(param_enum),
            "--param-min": bool(param_min), "--param-max": bool(param_max)})
    else:
        if not name:
            fail("--from-plan needs --name NAME", EXIT_USAGE)
        check_template_name(name, f"--name {name!r}")
        params = parse_params(param or [])
        bounds = parse_bounds(params, pattern=param_pattern or [], enum=param_enum or [],
                              minimum=param_min or [], maximum=param_max or [])
    user = acting_user(ctx, Action.TEMPLATE_ADD)
    if file is not None:
        problem = file_problem(file, "template file")  # missing, a directory, a device, a pipe
        if problem is not None:
            fail(problem, EXIT_USAGE)
        template = add_template_file(cli.services, file, user)
    else:
        try:
            template = save_plan_as_template(
                cli.services, from_plan or "", name=name or "", params=params, actor=user,
                version=version, description=description, pre_approved=pre_approved,
                bounds=bounds)
        except TemplateError as exc:
            _refuse_bound_options(exc)
            raise
    console.print(f"[green]✓[/] saved template [bold]{safe_markup(template.name)}[/] "
                  f"v{template.version}"
                  f"{' (pre-approved)' if template.pre_approved else ''}; "
                  f"pattern: {safe_markup(template.patterns[0])}", soft_wrap=True)


def _refuse_bound_options(exc: TemplateError) -> None:
    """A template refused over its bound options is a usage error saying what to give
    instead; any other refusal is left to the caller to raise."""
    from planner.templates.authoring import NUMBER_BOUNDS_ON_OTHER_TYPE

    if exc.code == "unbounded_parameter":  # the options left out are what is wrong
        fail(f"--pre-approved: {exc.message}; on the command line: {BOUND_OPTIONS_HELP}",
             EXIT_USAGE)
    if exc.code == NUMBER_BOUNDS_ON_OTHER_TYPE:  # --param-min/--param-max on text
        fail(f"--param-min/--param-max: {exc.message}; bound it with --param-pattern "
             "NAME=REGEX or --param-enum NAME=V1,V2,...", EXIT_USAGE)
