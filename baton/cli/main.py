"""The root ``baton`` command: global options, command registration and error handling."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer
from rich.markup import escape

from tools import BatonError

from .. import __version__
from ..settings import ConfigError, UnknownUserError
from ..usecases.errors import UsageError
from ..usecases.permissions import ActionNotAllowedError
from .common import EXIT_FAILED, EXIT_USAGE, CliState, err_console
from .text_arguments import TextCheckedGroup

HELP = """Baton: goals become typed plans of tool calls, vetted by policy and people,
run by a durable executor, every step recorded in a tamper-evident ledger.

Start with `baton demo`. Typical flow: `baton plan "GOAL"` (analyst) →
`baton approve PLAN_ID` (approver) → `baton run PLAN_ID` → `baton audit verify`.
"""

app = typer.Typer(
    name="baton",
    cls=TextCheckedGroup,  # undecodable or NUL text in any argument: a usage error, not a crash
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Each module adds its commands to ``app`` when imported. Keep them light at
# import time: heavy libraries are imported inside the commands.
COMMAND_MODULES = [
    "baton.cli.tools_cmd",
    "baton.cli.validate_cmd",
    "baton.cli.serve_cmd",
    "baton.cli.demo_cmd",
    "baton.cli.token_cmd",
    "baton.cli.audit_cmd",
    "baton.cli.plan_cmd",
    "baton.cli.vetting_cmd",
    "baton.cli.run_cmd",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baton {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this user (default: $BATON_USER).")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Settings file (default: $BATON_CONFIG or ./baton.toml).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Global options."""
    ctx.obj = CliState(config_path=config, acting_user=as_user)
    # Logs go to stderr so that stdout stays clean for --json; serve/worker log more, as JSON.
    ctx.obj.use_logging("warning")


for _module in COMMAND_MODULES:
    importlib.import_module(_module)

# `baton --help` lists commands by what a person is doing, in the order of the flow.
HELP_PANELS: dict[str, tuple[str, ...]] = {
    "Start here": ("demo",),
    "Plan (analysts)": ("plan", "revise", "plans", "templates", "validate"),
    "Vet (approvers)": ("approve", "reject", "policy"),
    "Run": ("run", "runs", "resume", "cancel", "worker"),
    "Audit": ("audit",),
    "Set up and serve": ("tools", "schema", "serve", "token"),
}
def _arrange_help() -> None:
    rank = {name: i for i, name in enumerate(n for ns in HELP_PANELS.values() for n in ns)}
    panel_of = {name: panel for panel, names in HELP_PANELS.items() for name in names}
    for info in [*app.registered_commands, *app.registered_groups]:
        name = info.name or getattr(info.callback, "__name__", "")
        info.rich_help_panel = panel_of.get(name, "Other")
    app.registered_commands.sort(key=lambda c: rank.get(c.name or "", len(rank)))
    app.registered_groups.sort(key=lambda g: rank.get(g.name or "", len(rank)))


_arrange_help()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``baton`` console script; returns the exit code."""
    try:
        app(args=argv, prog_name="baton", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_FAILED
    except (ConfigError, UnknownUserError, ActionNotAllowedError, UsageError) as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
        return EXIT_USAGE
    except BatonError as exc:
        from executor.store.migrate import schema_mismatch

        # A StoreError raised from a column or table the database lacks: no retry will help.
        message = schema_mismatch(exc) or exc.message
        err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
        return EXIT_FAILED
    except Exception as exc:
        from executor.store.db import database_failure, is_database_error
        from executor.store.migrate import schema_mismatch

        if not is_database_error(exc):
            raise
        mismatch = schema_mismatch(exc)
        if mismatch is not None:  # not a database that is down: no retry, no resume
            err_console.print(f"[bold red]error:[/] {escape(mismatch)}", soft_wrap=True)
            return EXIT_FAILED
        err_console.print(f"[bold red]error:[/] the database failed: {escape(database_failure(exc))}"
                          " (nothing recorded before this was lost; retry, or `baton resume` a "
                          "run, once it is back)", soft_wrap=True)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
