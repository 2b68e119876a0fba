"""Rich renderings shared by commands: plan trees, diffs and templates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from planner.arg_checks import shorten
from planner.diff import PlanDiff
from planner.plan import Step, is_reference
from planner.problems import printable
from planner.versions import StoredVersion, VersionStatus

from .common import safe_markup

STATUS_STYLE = {
    VersionStatus.INVALID: "bold red", VersionStatus.DENIED: "bold red",
    VersionStatus.REJECTED: "red", VersionStatus.VALIDATED: "cyan",
    VersionStatus.PENDING_APPROVAL: "yellow", VersionStatus.APPROVED: "bold green",
    VersionStatus.SUPERSEDED: "dim",
}


#: ``text`` as it is when at most ``limit`` characters, else cut to ``limit``, ending in "…".
shortened = shorten


def status_text(status: VersionStatus) -> str:
    """The status as rich markup."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status.value}[/]"


def add_id_column(table: Table, header: str, ids: Iterable[str]) -> None:
    """Add a column of ids that is never wrapped or cut, however narrow the terminal or pipe.

    An id is copied into the next command, so it must print whole: the table's other columns
    wrap and shrink instead.
    """
    widest = max((cell_len(value) for value in ids), default=0)
    table.add_column(header, no_wrap=True, min_width=max(widest, cell_len(header)))


#: The narrowest a column other than an id column gets, when its header is shorter.
MIN_COLUMN_WIDTH = 4


def keep_columns_visible(table: Table) -> None:
    """Give every column that is not an id column at least its header's width (or 4 cells).

    Rich shrinks the columns it may wrap to fit the console, down to nothing: without a
    minimum, a table whose ids fill the width would print empty zero-width columns.
    """
    for column in table.columns:
        if not column.no_wrap:
            header = cell_len(column.header) if isinstance(column.header, str) else 0
            column.min_width = max(column.min_width or 0, header, MIN_COLUMN_WIDTH)


def print_table(console: Console, table: Table) -> None:
    """Print a table with id columns (``add_id_column``) whole, however narrow the console.

    The other columns wrap down to their headers' width; when even that does not fit, the
    table is printed wider than the console (a terminal wraps its lines, a pipe keeps them):
    a cut id or a vanished column would mislead, a long line does not.
    """
    keep_columns_visible(table)
    width = _drawing_width(console, table)
    if width == console.width:
        console.print(table)
    else:  # console.print(width=...) is clamped to the console's width, a renderable is not
        console.print(_AtWidth(table, width), crop=False)


def _drawing_width(console: Console, table: Table) -> int:
    """The width to give rich so that it draws every column at least at its min_width.

    Given less than the columns' min_widths, rich shrinks columns to nothing. Given more, it
    shrinks the widest wrappable columns first and then widens any left under its min_width,
    so the table it draws can pass the width it was given (by a cell or by many): ask for
    less while that fits the console, else for as much as it draws.
    """
    target = console.width
    narrowest = _narrowest(table)
    width = target
    for _ in range(8):  # rich overshoots by a cell or two: a few tries find the width
        if width < narrowest:
            break
        drawn = _drawn_width(console, table, width)
        if drawn <= target:
            return width
        width -= drawn - target
    # Too wide for the console: at least as wide as its words, so that only long ones wrap.
    words = Measurement.get(console, console.options.update_width(10_000), table).minimum
    width = max(target, narrowest, words)
    for _ in range(8):
        drawn = _drawn_width(console, table, width)
        if drawn <= width:
            break
        width = drawn
    return width


def _narrowest(table: Table) -> int:
    """The table's width with every column at its min_width (or one cell) and its padding."""
    _, right, _, left = table.padding
    cells = sum((column.min_width or 1) + left + right for column in table.columns)
    if table.box is None:
        return cells
    return cells + len(table.columns) - 1 + (2 if table.show_edge else 0)


def _drawn_width(console: Console, table: Table, width: int) -> int:
    lines = Segment.split_lines(console.render(table, console.options.update_width(width)))
    return max((Segment.get_line_length(line) for line in lines), default=0)


class _AtWidth:
    """A table drawn at a fixed width, whatever the console's."""

    def __init__(self, table: Table, width: int) -> None:
        self.table, self.width = table, width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.table, options.update_width(self.width))


def render_plan_tree(stored: StoredVersion) -> Tree:
    """The stored version as a tree: header (id, version, hash, status, origin), then each step.

    Every text in it is ``safe_markup``: a goal or a ``why`` holding escape sequences must not erase
    or rewrite the lines an approver reads (a step's URL among them).
    """
    header = (f"[bold]{safe_markup(stored.plan_id)}[/] v{stored.version}  "
              f"{status_text(stored.status)}  [dim]sha256:{stored.plan_hash[:16]}…[/]")
    tree = Tree(header)
    tree.add(f"goal: {safe_markup(stored.plan.goal)}")
    source = f"planner: {stored.planner.value}"
    if stored.origin is not None:
        params = ", ".join(f"{k}={v!r}" for k, v in stored.origin.params.items())
        source += (f" (template {safe_markup(stored.origin.name)} v{stored.origin.version}: "
                   f"{safe_markup(params)})")
    tree.add(source + f"  requester: {safe_markup(stored.requester)}  "
                      f"by: {safe_markup(stored.created_by)}")
    if stored.feedback:
        tree.add(f"feedback: [italic]{safe_markup(stored.feedback)}[/]")
    if stored.error:
        tree.add(f"[red]error:[/] {safe_markup(stored.error)}")
    for problem in stored.problems:
        tree.add(f"[red]problem:[/] {safe_markup(str(problem))}")
    if stored.document is not None:
        tree.add("[dim]document (not a well-formed plan):[/] "
                 + safe_markup(json.dumps(stored.document, ensure_ascii=False)[:400]))
    steps = tree.add(f"steps ({len(stored.plan.steps)})")
    for step in stored.plan.steps:
        _add_step(steps, step)
    return tree


def _add_step(parent: Tree, step: Step) -> None:
    label = f"[bold]{safe_markup(step.id)}[/] → [magenta]{safe_markup(step.tool)}[/]"
    if step.depends_on:
        label += f"  [dim]after {safe_markup(', '.join(step.depends_on))}[/]"
    node = parent.add(label)
    if step.why:
        node.add(f"[italic dim]why: {safe_markup(step.why)}[/]")
    for key, value in step.args.items():
        line = Text(f"{printable(key)}: ")
        line.append_text(_value_text(value))
        node.add(line)


def _value_text(value: Any) -> Text:
    """Arguments as compact JSON with every reference highlighted, control characters escaped.

    JSON escapes only C0 controls: DEL, C1 controls and bidi overrides are escaped too.
    """
    if is_reference(value):
        return Text(f"⟵ {printable(str(value['ref']))}", style="bold yellow")
    if isinstance(value, dict):
        text = Text("{")
        for index, (key, item) in enumerate(value.items()):
            text.append(", " if index else "")
            text.append(f"{printable(key)}: ")
            text.append_text(_value_text(item))
        return text + Text("}")
    if isinstance(value, list):
        text = Text("[")
        for index, item in enumerate(value):
            text.append(", " if index else "")
            text.append_text(_value_text(item))
        return text + Text("]")
    return Text(printable(json.dumps(value, ensure_ascii=False)), style="green")


def render_diff(diff: PlanDiff) -> Tree:
    """A summary tree of a plan diff (the text diff is printed separately)."""
    tree = Tree("[bold]changes[/]" if not diff.empty else "[dim]no changes[/]")
    if diff.goal_changed:
        tree.add("goal changed")
    for sid in diff.added:
        tree.add(f"[green]+ step {safe_markup(sid)}[/]")
    for sid in diff.removed:
        tree.add(f"[red]- step {safe_markup(sid)}[/]")
    for change in diff.changed:
        tree.add(f"[yellow]~ step {safe_markup(change.step)}[/]: "
                 f"{safe_markup(', '.join(change.paths))}")
    if diff.reordered:
        tree.add("steps reordered")
    return tree


def print_code(console: Any, text: str, lexer: str) -> None:
    """Print ``text`` highlighted on a terminal, verbatim otherwise: long lines are never cut.

    Each line's control and format characters are escaped (``printable``): YAML and JSON
    leave C1 controls and bidi overrides as they are.
    """
    text = "\n".join(printable(line) for line in text.split("\n"))
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(text, lexer, theme="ansi_dark", background_color="default",
                             word_wrap=True))
    else:  # a pipe or file: exact text (a cropped diff line would hide the change)
        console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
