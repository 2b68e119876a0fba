"""Rich renderings shared by commands: plan trees, diffs and templates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from planner.diff import PlanDiff
from planner.plan import Step, is_reference
from planner.versions import StoredVersion, VersionStatus

STATUS_STYLE = {
    VersionStatus.INVALID: "bold red", VersionStatus.DENIED: "bold red",
    VersionStatus.REJECTED: "red", VersionStatus.VALIDATED: "cyan",
    VersionStatus.PENDING_APPROVAL: "yellow", VersionStatus.APPROVED: "bold green",
    VersionStatus.SUPERSEDED: "dim",
}


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


def render_plan_tree(stored: StoredVersion) -> Tree:
    """The stored version as a tree: header (id, version, hash, status, origin), then each step."""
    header = (f"[bold]{stored.plan_id}[/] v{stored.version}  {status_text(stored.status)}  "
              f"[dim]sha256:{stored.plan_hash[:16]}…[/]")
    tree = Tree(header)
    tree.add(f"goal: {escape(stored.plan.goal)}")
    source = f"planner: {stored.planner.value}"
    if stored.origin is not None:
        params = ", ".join(f"{k}={v!r}" for k, v in stored.origin.params.items())
        source += f" (template {stored.origin.name} v{stored.origin.version}: {escape(params)})"
    tree.add(source + f"  requester: {escape(stored.requester)}  by: {escape(stored.created_by)}")
    if stored.feedback:
        tree.add(f"feedback: [italic]{escape(stored.feedback)}[/]")
    if stored.error:
        tree.add(f"[red]error:[/] {escape(stored.error)}")
    for problem in stored.problems:
        tree.add(f"[red]problem:[/] {escape(str(problem))}")
    if stored.document is not None:
        tree.add("[dim]document (not a well-formed plan):[/] "
                 + escape(json.dumps(stored.document, ensure_ascii=False)[:400]))
    steps = tree.add(f"steps ({len(stored.plan.steps)})")
    for step in stored.plan.steps:
        _add_step(steps, step)
    return tree


def _add_step(parent: Tree, step: Step) -> None:
    label = f"[bold]{step.id}[/] → [magenta]{escape(step.tool)}[/]"
    if step.depends_on:
        label += f"  [dim]after {escape(', '.join(step.depends_on))}[/]"
    node = parent.add(label)
    if step.why:
        node.add(f"[italic dim]why: {escape(step.why)}[/]")
    for key, value in step.args.items():
        line = Text(f"{key}: ")
        line.append_text(_value_text(value))
        node.add(line)


def _value_text(value: Any) -> Text:
    """Arguments as compact JSON with every reference highlighted."""
    if is_reference(value):
        return Text(f"⟵ {value['ref']}", style="bold yellow")
    if isinstance(value, dict):
        text = Text("{")
        for index, (key, item) in enumerate(value.items()):
            text.append(", " if index else "")
            text.append(f"{key}: ")
            text.append_text(_value_text(item))
        return text + Text("}")
    if isinstance(value, list):
        text = Text("[")
        for index, item in enumerate(value):
            text.append(", " if index else "")
            text.append_text(_value_text(item))
        return text + Text("]")
    return Text(json.dumps(value, ensure_ascii=False), style="green")


def render_diff(diff: PlanDiff) -> Tree:
    """A summary tree of a plan diff (the text diff is printed separately)."""
    tree = Tree("[bold]changes[/]" if not diff.empty else "[dim]no changes[/]")
    if diff.goal_changed:
        tree.add("goal changed")
    for sid in diff.added:
        tree.add(f"[green]+ step {sid}[/]")
    for sid in diff.removed:
        tree.add(f"[red]- step {sid}[/]")
    for change in diff.changed:
        tree.add(f"[yellow]~ step {change.step}[/]: {escape(', '.join(change.paths))}")
    if diff.reordered:
        tree.add("steps reordered")
    return tree


def print_code(console: Any, text: str, lexer: str) -> None:
    """Print ``text`` highlighted on a terminal, verbatim otherwise: long lines are never cut."""
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(text, lexer, theme="ansi_dark", background_color="default",
                             word_wrap=True))
    else:  # a pipe or file: exact text (a cropped diff line would hide the change)
        console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
