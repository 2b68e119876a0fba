"""``baton validate PLAN_FILE`` and ``baton schema plan``: check a plan file, print the contract."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import EXIT_FAILED, EXIT_USAGE, CliState, console, fail, print_json, safe_markup, state
from .main import app

if TYPE_CHECKING:
    from planner.plan import Plan

schema_app = typer.Typer(help="Print the JSON Schemas of Baton's documents.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@app.command("validate")
def validate(
    ctx: typer.Context,
    plan_file: Annotated[Path, typer.Argument(help="Plan document, JSON or YAML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Check a plan file against the registered tools; exit 1 listing every problem when invalid."""
    plan, problems = _check(state(ctx), plan_file)
    _report(plan_file, plan, problems, as_json)
    if plan is None or problems:
        raise typer.Exit(EXIT_FAILED)


def valid_plan_or_exit(cli: CliState, plan_file: Path, as_json: bool) -> Plan:
    """The plan in PLAN_FILE when valid; else report every problem as `baton validate` does, exit 1."""
    plan, problems = _check(cli, plan_file)
    if plan is None or problems:
        _report(plan_file, plan, problems, as_json)
        raise typer.Exit(EXIT_FAILED)
    return plan


def _check(cli: CliState, plan_file: Path) -> tuple[Plan | None, list[dict[str, Any]]]:
    """Read and validate a plan file: the plan (None when unreadable as one) and every problem.

    A configured secret's value written into it is a ``configured_secret`` problem and an
    argument holding ``[REDACTED]`` a ``masked_value`` one, found by the checks ``baton plan
    --file`` makes before storing a plan, and configured secret values are masked in every
    problem shown (a validation message may quote the document).
    """
    from planner import PlanFileError, read_plan_file
    from tools.redaction import redact

    from ..limits import BODY_MAX_BYTES
    from ..usecases.plan_checks import check_plan_document

    try:  # no larger than `baton plan --file` and the API take
        document, problems = read_plan_file(plan_file, max_bytes=BODY_MAX_BYTES)
    except PlanFileError as exc:
        fail(exc.message, EXIT_USAGE)
    plan, found = check_plan_document(cli.services, document, problems)
    return plan, redact([p.model_dump(mode="json") for p in found], cli.services.recognisable_secrets)


def _report(path: Path, plan: Any, problems: list[dict[str, Any]], as_json: bool) -> None:
    summary: dict[str, Any] = {"file": str(path), "ok": plan is not None and not problems}
    if plan is not None and not problems:
        summary.update(goal=plan.goal, steps=len(plan.steps), plan_hash=plan.plan_hash(),
                       order=plan.topological_order())
    summary["problems"] = problems
    if as_json:
        print_json(summary)
    elif summary["ok"]:
        _print_valid(summary)
    else:
        _print_problems(path, problems)


def _print_valid(summary: dict[str, Any]) -> None:
    console.print(f"[green]✓[/] {safe_markup(summary['file'])}: valid plan, "
                  f"{summary['steps']} step(s)", soft_wrap=True)
    console.print(f"  goal:  {safe_markup(summary['goal'])}", soft_wrap=True)
    console.print(f"  hash:  sha256:{summary['plan_hash']}")
    console.print(f"  order: {safe_markup(' → '.join(summary['order']))}", soft_wrap=True)


def _print_problems(path: Path, problems: list[dict[str, Any]]) -> None:
    console.print(f"[red]✗[/] {safe_markup(str(path))}: invalid plan, {len(problems)} problem(s)",
                  soft_wrap=True)
    for problem in problems:
        # A malformed id (or a message quoting one) must not break or repaint the line.
        step = f" step {safe_markup(problem['step'])}" if problem["step"] else ""
        console.print(f"  [bold]{problem['code']}[/]{step} at {safe_markup(problem['path'])}",
                      soft_wrap=True)
        console.print(f"      {safe_markup(problem['message'])}", soft_wrap=True)


@schema_app.command("plan")
def schema_plan() -> None:
    """Print the JSON Schema of the plan document."""
    from planner import plan_json_schema

    print_json(plan_json_schema())
