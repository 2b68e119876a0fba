"""``baton tools list|show``: the tools plans may call, as the planner and policies see them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..usecases.permissions import Action
from .common import EXIT_FAILED, console, fail, print_json, reader
from .main import app

tools_app = typer.Typer(help="The tools plans may call.", no_args_is_help=True)
app.add_typer(tools_app, name="tools")


def effect_label(info: Any) -> str:
    """'read', 'write', or 'read/write by args' when the call's arguments decide."""
    return "read/write by args" if info.effect_depends_on_args else info.effect.value


def timeout_label(info: Any) -> str:
    """'60s', or '60s+ by args' when a call's arguments may lengthen it."""
    return f"{info.timeout_s:g}s" + ("+ by args" if info.timeout_depends_on_args else "")


@tools_app.command("list")
def list_tools(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List every registered tool with its effect, timeout and tags."""
    services = reader(ctx, Action.TOOLS_READ)
    infos = [spec.info(secret_values=services.secret_values) for spec in services.registry]
    if as_json:
        print_json([info.model_dump(mode="json") for info in infos])
        return
    from rich import box
    from rich.table import Table

    table = Table(title=f"{len(infos)} tools", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    # Names and effects are what people grep for: never split them across lines.
    for column in ("name", "effect", "idem.", "sends key", "timeout"):
        table.add_column(column, no_wrap=True)
    table.add_column("tags", overflow="fold")
    table.add_column("description", overflow="fold", ratio=1)
    for info in infos:
        table.add_row(
            escape(info.name), effect_label(info), "yes" if info.idempotent else "no",
            "yes" if info.sends_idempotency_key else "no", timeout_label(info),
            escape(" ".join(info.tags)),
            escape(info.description.splitlines()[0] if info.description else ""),
        )
    console.print(table)


@tools_app.command("show")
def show_tool(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Tool name, e.g. files.read.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show one tool: description, input and output schema, effect, retry policy, timeout."""
    services = reader(ctx, Action.TOOLS_READ)
    registry = services.registry
    if name not in registry:
        close = registry.closest(name)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `baton tools list`"
        fail(f"unknown tool {name!r}{hint}", EXIT_FAILED)
    info = registry.get(name).info(secret_values=services.secret_values)
    if as_json:
        print_json(info.model_dump(mode="json"))
        return
    retry = info.retry
    lines = [
        f"[bold]{escape(info.name)}[/]",
        escape(info.description),
        "",
        f"effect:      {effect_label(info)}",
        f"idempotent:  {'yes' if info.idempotent else 'no'}",
        f"sends key:   {'yes (Idempotency-Key)' if info.sends_idempotency_key else 'no'}",
        f"timeout:     {timeout_label(info)}",
        f"retry:       up to {retry.max_attempts} attempts, backoff {retry.initial_backoff_s:g}s "
        f"×{retry.multiplier:g} (max {retry.max_backoff_s:g}s, jitter {retry.jitter:g})",
        f"secrets:     {escape(', '.join(info.secrets)) or '-'}",
        f"tags:        {escape(', '.join(info.tags)) or '-'}",
    ]
    if info.region:
        lines.append(f"region:      {escape(info.region)}")
    for line in lines:
        console.print(line, soft_wrap=True)
    for title, schema in (("input schema", info.input_schema), ("output schema", info.output_schema)):
        console.print(f"\n[bold]{title}[/]")
        console.print(escape(json.dumps(schema, indent=2)), soft_wrap=True)
