"""``baton tools list|show``: the tools plans may call, as the planner and policies see them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from planner.problems import printable

from ..usecases.permissions import Action
from .common import EXIT_FAILED, console, fail, print_json, reader, safe_markup
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
    from .render import print_table

    print_table(console, _tools_table(infos))
    console.print("idem.: calling twice with one key is safe; key: sends the step's "
                  "Idempotency-Key; by args: read/write by args (each call's arguments "
                  "decide); 60s+: a call may ask for longer. More: baton tools show NAME")


def _tools_table(infos: list[Any]) -> Any:
    """The tools as a table that an 80-column terminal shows whole.

    Each description sits under its tool's name, in the one column that takes the width
    left: beside five columns of their own it got one character a line at 80 columns. The
    labels are short (explained under the table) and the tags one under another. A name
    is never split or cut (people grep for it and copy it): where even that does not fit,
    the table prints wider than the console (``print_table``). Names, descriptions and tags
    come from tables and packages: their control characters print escaped (``printable``).
    """
    from rich import box
    from rich.console import Group
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(infos)} tools", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, show_edge=False, collapse_padding=True, expand=True)
    names = [printable(info.name) for info in infos]
    longest_name = max((len(name) for name in names), default=0)
    # +1: rich counts the cell's right padding in min_width.
    table.add_column("name / description", ratio=1, min_width=longest_name + 1)
    for column in ("effect", "idem.", "key", "timeout"):
        table.add_column(column, no_wrap=True)
    tags = [[printable(tag) for tag in info.tags] for info in infos]
    longest_tag = max((len(tag) for row in tags for tag in row), default=0)
    table.add_column("tags", width=min(max(longest_tag, 4), 16), overflow="fold")
    for info, name, row_tags in zip(infos, names, tags, strict=True):
        description = printable(_first_line(info.description))
        table.add_row(
            Group(Text(name, style="bold"), Padding(Text(description), (0, 0, 0, 2))),
            "by args" if info.effect_depends_on_args else info.effect.value,
            "yes" if info.idempotent else "no", "yes" if info.sends_idempotency_key else "no",
            f"{info.timeout_s:g}s" + ("+" if info.timeout_depends_on_args else ""),
            Text(" ".join(row_tags)),
        )
    return table


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
        f"[bold]{safe_markup(info.name)}[/]",
        # Indented, as `tools list` shows it under the name: a description's own lines cannot
        # pass for the fields below (a table's "effect:      read" above the real "write").
        *(f"  {safe_markup(line)}" for line in info.description.split("\n")),
        "",
        f"effect:      {effect_label(info)}",
        f"idempotent:  {'yes' if info.idempotent else 'no'}",
        f"sends key:   {'yes (Idempotency-Key)' if info.sends_idempotency_key else 'no'}",
        f"timeout:     {timeout_label(info)}",
        f"retry:       up to {retry.max_attempts} attempts, backoff {retry.initial_backoff_s:g}s "
        f"×{retry.multiplier:g} (max {retry.max_backoff_s:g}s, jitter {retry.jitter:g})",
        f"secrets:     {safe_markup(', '.join(info.secrets)) or '-'}",
        f"tags:        {safe_markup(', '.join(info.tags)) or '-'}",
    ]
    if info.region:
        lines.append(f"region:      {safe_markup(info.region)}")
    if info.endpoint_url:  # credentials masked by info() (user:***@host, api_key=***)
        lines.append(f"endpoint:    {safe_markup(info.endpoint_url)}")
    for line in lines:
        console.print(line, soft_wrap=True)
    for title, schema in (("input schema", info.input_schema), ("output schema", info.output_schema)):
        console.print(f"\n[bold]{title}[/]")
        console.print(escape(json.dumps(schema, indent=2)), soft_wrap=True)


def _first_line(description: str) -> str:
    """A description's first line for the list; the list's footer points to ``tools show``
    for the rest. Only ``\n`` breaks a line: other line separators (``\u2028``) are shown
    escaped, as ``tools show`` shows them, not taken for the end of the line."""
    return description.split("\n", 1)[0] if description else ""
