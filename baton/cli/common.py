"""Shared CLI plumbing: the invocation state, output helpers and exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from planner.base import MAX_VERSION
from planner.problems import printable

from ..services import Services
from ..settings import (ConfigError, Settings, UnknownUserError, User, load_settings,
                        settings_path)
from ..settings_users import role_table_in_force
from ..usecases.permissions import Action
from .streams import ReplacingStream

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_DATA_DIR = Settings.model_fields["data_dir"].default


# No emoji codes: ":ledger:" in a CloudEvents source or a payload must print as written.
# Text a narrow stdout (ASCII, Latin-1) cannot encode prints as "?" rather than crash a command.
console = Console(file=ReplacingStream("stdout"), highlight=False, emoji=False)
err_console = Console(file=ReplacingStream("stderr"), stderr=True, highlight=False, emoji=False)


@dataclass
class CliState:
    """What the global options decided, shared by every command of one invocation."""

    config_path: str | None = None
    acting_user: str | None = None
    log_level: str = "warning"
    log_json: bool = False
    # Set by ``reader`` before the services are built: the command must not create a database.
    reads_only: bool = False
    # Judge policies in this process (set by the root callback for commands that judge a plan
    # or two and exit): the evaluator processes that keep servers, workers and runs from
    # growing (policies.isolated_rego) would only add their start, about 0.7 s.
    policy_in_process: bool = False
    _services: Services | None = field(default=None, repr=False)

    def use_logging(self, level: str, *, json: bool = False) -> None:
        """Log at ``level`` (JSON lines for servers) from now on, on stderr.

        Once the settings are loaded every configured secret is masked, whatever the command:
        a tool that logs its token in ``baton run`` must not print it where the worker would not.
        """
        from ..logging import configure_logging

        self.log_level, self.log_json = level, json
        secrets = self._services.secret_values if self._services is not None else ()
        configure_logging(level, json=json, secret_values=secrets)

    @property
    def settings(self) -> Settings:
        """The loaded settings (a configuration problem exits with code 2)."""
        return self.services.settings

    @property
    def services(self) -> Services:
        """The composition root for this invocation."""
        if self._services is None:
            settings = load_settings(self.config_path)
            if self.acting_user is not None:
                if not self.acting_user:  # not "unset": it must never fall back to BATON_USER
                    raise UnknownUserError("--as was given an empty user id; name a user "
                                           "declared under [users.USER], or leave --as out "
                                           "to act as BATON_USER")
                settings = settings.model_copy(update={"user": self.acting_user})
            # Writers too: a database they cannot open is named with the setting that gave it.
            self._services = Services(settings,
                                      database_from=database_origin(settings, self.config_path),
                                      existing_database_only=self.reads_only)
            self._services.policy_in_process = self.policy_in_process
            self.use_logging(self.log_level, json=self.log_json)  # now with the secrets to mask
        return self._services

    def user(self) -> User:
        """The acting user: ``--as`` or ``BATON_USER``, which must be declared in settings."""
        try:
            return self.settings.user_named(self.settings.user)
        except UnknownUserError:
            where = settings_path(self.config_path)
            if self.settings.user and not where.exists():  # users are declared only there
                raise UnknownUserError(
                    f"unknown user {self.settings.user!r}: no settings file was found (no "
                    f"{where.name} in {where.resolve().parent}); run where baton.toml is, "
                    "or pass --config FILE or set BATON_CONFIG") from None
            raise


def acting_user(ctx: typer.Context, action: Action) -> User:
    """The acting user, once the role table grants them ``action`` (the API's 403 exits 2 here).

    The table is the settings' own, with the roles their policy data adds; one command
    checks one action, so it is worked out once per settings loaded.
    """
    cli = state(ctx)
    user = cli.user()
    role_table_in_force(cli.settings).require(user, action)
    return user


def reader(ctx: typer.Context, action: Action) -> Services:
    """Services for a read-only command; a named acting user must be granted ``action``.

    Reading needs no acting user (the files are the operator's), but a named one is held to
    the same table as over the API. A SQLite database that does not exist is an error naming
    its path and setting, never created.
    """
    cli = state(ctx)
    cli.reads_only = True  # a typo in data_dir must not verify a new, empty ledger
    if cli.settings.user:
        acting_user(ctx, action)
    return cli.services


def database_origin(settings: Settings, config_path: str | None,
                    environ: Mapping[str, str] | None = None) -> str:
    """Which setting, set where, gave the database's location ("data_dir in ./baton.toml")."""
    env = os.environ if environ is None else environ
    setting, variable = (("database_url", "BATON_DATABASE_URL") if settings.database_url
                         else ("data_dir", "BATON_DATA_DIR"))
    if env.get(variable):  # an empty variable counts as unset, as in load_settings
        return f"{setting}, set by {variable}"
    if setting == "data_dir" and "data_dir" not in settings.model_fields_set:
        return f"the default data_dir, {DEFAULT_DATA_DIR} in the working directory"
    return f"{setting} in {settings_path(config_path, env).resolve()}"


def version_option(help_text: str) -> Any:
    """A ``--version N`` option: 0, negatives and huge N are usage errors (never "latest")."""
    return typer.Option("--version", min=1, max=MAX_VERSION, help=help_text)


#: The largest ``--limit``: far past any listing, and far below the 2**63 - 1 a database's
#: LIMIT takes (a listing may read one more row than it shows, to tell whether more follow).
MAX_LIMIT = 2**31 - 1


def limit_option(help_text: str) -> Any:
    """A ``--limit N`` option: 0, negatives and N past ``MAX_LIMIT`` are usage errors."""
    return typer.Option("--limit", min=1, max=MAX_LIMIT, help=help_text)


def state(ctx: typer.Context) -> CliState:
    """The ``CliState`` of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def print_json(value: Any) -> None:
    """Write ``value`` as indented JSON to stdout (for scripts)."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")


def safe_markup(text: str) -> str:
    """Free text (a goal, a reason, a user id, an error) as rich markup that prints it as written.

    Its control and format characters are escaped as ``printable`` writes them (``\\x1b``,
    ``\\n``, ``\\u202e``), as step ids are: text from a plan, a tool or a command line must
    not move the cursor, erase or reorder what an approver reads, nor break its line.
    """
    return escape(printable(text))


def print_error(message: str, *, lines: bool = False) -> None:
    """Print ``error: MESSAGE`` to stderr, ``message`` escaped as by ``safe_markup``.

    One line, whatever it quotes; ``lines``: a message written as several lines (an invalid
    plan's list of problems) keeps its line breaks, each line escaped.
    """
    parts = message.split("\n") if lines else [message]
    text = "\n".join(printable(part) for part in parts)
    err_console.print(Text.assemble(("error:", "bold red"), " ", text), soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print an error to stderr (``print_error``) and exit with ``code``.

    ``message`` is plain text, never markup: it quotes what the user typed ("[/x]" is a
    user id to refuse, not a closing tag to crash on).
    """
    print_error(message)
    raise typer.Exit(code)


__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "MAX_LIMIT",
    "MAX_VERSION",
    "CliState",
    "ConfigError",
    "acting_user",
    "console",
    "database_origin",
    "err_console",
    "fail",
    "limit_option",
    "print_error",
    "print_json",
    "reader",
    "safe_markup",
    "state",
    "version_option",
]
