"""``baton demo``: a guided tour of the whole flow in a throw-away workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.rule import Rule
from rich.table import Table

from .common import EXIT_USAGE, console, fail, safe_markup
from .main import app

if TYPE_CHECKING:
    from executor.ledger import LedgerEvent, VerifyResult
    from executor.runner import StepProgress
    from planner.versions import StoredVersion
    from policies.approval import GateState
    from policies.contracts import Decision
    from tools import BatonError

    from ..settings import User
    from ..usecases.demo_workspace import DemoWorkspace

LEDGER_ROWS = 40


class ConsoleReporter:
    """Tells the demo's story on the terminal."""

    def section(self, title: str) -> None:
        """A chapter heading."""
        console.print()
        console.print(Rule(f"[bold]{safe_markup(title)}[/]", align="left"))

    def say(self, actor: User | None, text: str) -> None:
        """Who does what."""
        who = (f"[bold cyan]{safe_markup(actor.id)}[/] ({safe_markup(', '.join(actor.roles))})"
               if actor else "[bold]baton[/]")
        console.print(f"{who} {safe_markup(text)}")

    def plan(self, stored: StoredVersion, decision: Decision | None, gate: GateState) -> None:
        """The plan as a tree, then the policy decision and the gate."""
        from .render import render_plan_tree
        from .vetting_cmd import print_decision

        console.print(render_plan_tree(stored))
        if decision is not None:
            print_decision(decision, gate)

    def refused(self, actor: User, error: BatonError) -> None:
        """Baton said no."""
        console.print(f"[bold red]refused[/] ({safe_markup(error.code)}): "
                      f"{safe_markup(error.message)}")

    def progress(self, event: StepProgress) -> None:
        """One line per step state change, as it happens."""
        style = {"succeeded": "green", "failed": "red", "running": "yellow"}.get(
            event.status.value, "white")
        line = (f"  [dim]{safe_markup(event.run_id)}[/] step [bold]{safe_markup(event.step_id)}[/] "
                f"[{style}]{event.status.value}[/] (attempt {event.attempt})")
        if event.error:
            line += f" [red]{safe_markup(event.error)}[/]"
        console.print(line)

    def outputs(self, files: dict[str, str]) -> None:
        """What the run wrote."""
        for name, text in files.items():
            console.print(f"[bold]{safe_markup(name)}[/] in the workspace now holds:")
            for line in text.strip().split("\n"):  # each line as written, the breaks kept
                console.print(f"  {safe_markup(line)}")

    def ledger(self, events: list[LedgerEvent], verify: VerifyResult) -> None:
        """A short table of the ledger, then the chain check."""
        table = Table(title=f"ledger ({len(events)} events)", title_justify="left")
        for column in ("seq", "kind", "subject", "actor", "hash"):
            table.add_column(column)
        shown = events if len(events) <= LEDGER_ROWS else events[-LEDGER_ROWS:]
        for event in shown:
            table.add_row(str(event.seq), safe_markup(event.kind), safe_markup(event.subject),
                          safe_markup(event.actor), safe_markup(event.hash[:12]) + "…")
        console.print(table)
        if verify.ok:
            console.print(f"[bold green]audit verify: OK[/] — {verify.events} events, "
                          "every hash recomputed and every link checked")
        else:
            console.print(f"[bold red]audit verify: BROKEN[/] at event {verify.first_broken_seq}: "
                          f"{safe_markup(verify.reason or '')}")


@app.command("demo")
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Workspace to create (new or empty); default: a "
                                  "new temporary directory.")
    ] = None,
) -> None:
    """Tour the whole flow offline: plan, deny, approve, run, audit, in a throw-away workspace."""
    from ..settings_checks import shown_path
    from ..usecases.demo import run_demo
    from ..usecases.demo_workspace import (DemoDirectoryError, new_workspace_dir,
                                           prepare_workspace)

    if directory is not None and directory.exists() and (
            not directory.is_dir() or any(directory.iterdir())):
        fail(f"--dir {directory} is not a new or empty directory; the demo only writes into "
             "a fresh workspace", EXIT_USAGE)
    root = directory
    try:  # a directory the settings would refuse is refused before anything is written
        root = directory if directory is not None else new_workspace_dir()
        workspace = prepare_workspace(root)
    except DemoDirectoryError as exc:
        fail(exc.message, EXIT_USAGE)
    except OSError as exc:
        where = shown_path(root) if root is not None else "a temporary directory (TMPDIR)"
        fail(f"cannot create the demo workspace in {where}: "
             f"{exc.strerror or str(exc)}", EXIT_USAGE)
    console.print(f"[bold]Baton demo[/] in [cyan]{safe_markup(str(workspace.root))}[/] "
                  f"(settings: {safe_markup(workspace.config_path.name)}; users alice=analyst, "
                  "bob and carol=approvers)")
    result = run_demo(workspace, ConsoleReporter())
    console.print()
    console.print(f"[bold green]Demo complete.[/] Plan {safe_markup(result.plan_id)} ran as "
                  f"{safe_markup(result.run.id)}; plan {safe_markup(result.denied_plan_id)} "
                  "was denied.")
    _print_next_steps(workspace)


NEXT_GOAL = "Total the amount column of sales.csv and write it to total.json"


def _print_next_steps(workspace: DemoWorkspace) -> None:
    """How to carry on in the same workspace, in the terminal and in the browser."""
    console.print("\nCarry on in the terminal (the workspace's baton.toml is picked up there):")
    for line in (f"cd {workspace.root}", f'baton --as alice plan "{NEXT_GOAL}"',
                 "baton --as bob approve PLAN_ID", "baton --as alice run PLAN_ID",
                 "baton audit verify"):
        console.print(f"  {safe_markup(line)}", soft_wrap=True)
    console.print("Or in the browser (then open http://127.0.0.1:8080/ and sign in with a token):")
    console.print(f"  baton --config {safe_markup(str(workspace.config_path))} serve",
                  soft_wrap=True)
    for user, token in workspace.tokens.items():
        console.print(f"  {safe_markup(user)}: {safe_markup(token)}", soft_wrap=True)
