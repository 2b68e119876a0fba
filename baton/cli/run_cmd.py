"""``baton run``, ``baton runs list|show``, ``baton resume``, ``baton cancel``, ``baton worker``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table

from ..plain_data import jsonable
from ..usecases.permissions import Action
from .common import (EXIT_FAILED, acting_user, console, err_console, print_json, reader,
                     safe_markup, state, version_option)
from .main import app
from .render import add_id_column, keep_columns_visible, print_table, shortened

if TYPE_CHECKING:
    from baton.services import Services
    from executor.draining import Drain
    from executor.errors import RunLeftError
    from executor.records import RunRecord
    from executor.runner import StepProgress

runs_app = typer.Typer(help="List and show runs.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
# The most characters of an error or output a step table shows; ``runs show --json`` has all.
LIVE_TEXT_CHARS = 80
SHOWN_TEXT_CHARS = 100
STATUS_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow", "pending": "dim",
                "cancelled": "magenta", "queued": "dim"}


class _Progress:
    """A live table of steps, updated from the runner's step events.

    The table appears with the first step event, so a run that is refused (unknown plan or run,
    not approved, owned elsewhere) leaves nothing on the screen but its error. A pipe or file
    gets the final table once, at the end (rich's live display ends one there without a newline,
    gluing the summary line to the table's border). Enabled or not, it learns the run's id when
    the run is recorded and from the events, for the message of a Ctrl-C.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.created_id: str | None = None  # recorded, perhaps before any step event
        self.run_id: str | None = None  # a step event came: the run was running here
        self.rows: dict[str, tuple[str, int, str]] = {}
        self.live = None

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(self._table())
            self.live.__exit__(None, None, None)
        elif self.enabled and self.rows:
            print_table(console, self._table())

    def created(self, run_id: str) -> None:
        self.created_id = run_id

    def __call__(self, event: StepProgress) -> None:
        self.run_id = event.run_id
        self.rows[event.step_id] = (event.status.value, event.attempt, event.error or "")
        if self.live is None and self.enabled and console.is_terminal:
            from rich.live import Live

            self.live = Live(self._table(), console=console, refresh_per_second=8, transient=False)
            self.live.__enter__()
        if self.live is not None:
            self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(title="steps", show_lines=False)
        add_id_column(table, "step", self.rows)
        for column in ("status", "attempt", "error"):
            table.add_column(column, overflow="fold")
        for sid, (status, attempt, error) in self.rows.items():
            style = STATUS_STYLE.get(status, "")
            table.add_row(safe_markup(sid), f"[{style}]{status}[/]", str(attempt),
                          safe_markup(shortened(error, LIVE_TEXT_CHARS)))
        keep_columns_visible(table)  # live on a terminal: never a zero-width column
        return table


def _summary(record: RunRecord) -> None:
    style = STATUS_STYLE.get(record.status.value, "")
    console.print(f"run [bold]{safe_markup(record.id)}[/] of {safe_markup(record.plan_id)} "
                  f"v{record.version}: "
                  f"[{style}]{record.status.value}[/]")
    if record.error:
        console.print(f"  cause: {safe_markup(record.error)}")


def _interrupted(progress: _Progress, resumed: str | None = None) -> NoReturn:
    """Ctrl-C: the run stays as it is, its owner gone, for ``baton resume`` to finish; say which.

    Exit 130, as a shell reports a command ended by SIGINT.
    """
    run_id = progress.run_id or progress.created_id or resumed
    if run_id is None:  # interrupted while the run was being recorded: it may not exist
        message = ("interrupted before the run was recorded; `baton runs list` shows whether "
                   "it was created (finish one with `baton resume RUN_ID`)")
    else:
        left = "left running" if progress.run_id else "left as it was"  # no step began here
        message = f"interrupted: run {run_id} {left}; finish it with `baton resume {run_id}`"
    err_console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(130)


def _left(left: RunLeftError, stopped_by: list[int]) -> NoReturn:
    """A signal drained the run (see :class:`_DrainingSignals`): left unfinished, its lease given
    back; say which run, and how to finish it. Exit as a shell reports the signal: 143 for
    SIGTERM, 130 for Ctrl-C (nothing on stdout, ``--json`` too, as after a Ctrl-C)."""
    import signal

    run_id = left.run_id
    err_console.print(f"stopped: run {run_id} left unfinished; finish it with "
                      f"`baton resume {run_id}` (or let a worker take it over)",
                      soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(130 if stopped_by[:1] == [signal.SIGINT] else EXIT_SIGTERM)


def _stopping(run_id: str, in_flight: tuple[str, ...], grace_left_s: float) -> None:
    """Say, as the run first sees its drain, that it starts no more steps and how long the
    steps in flight get (a Ctrl-C shows nothing happening for up to the grace otherwise)."""
    said = f"stopping: run {run_id} starts no more steps"
    running = f"{len(in_flight)} step running" if len(in_flight) == 1 else \
        f"{len(in_flight)} steps running"
    if in_flight and grace_left_s > 0:
        said += (f"; {running} get{'s' if len(in_flight) == 1 else ''} up to "
                 f"{round(grace_left_s, 1):g} s to end (Ctrl-C again to stop at once)")
    elif in_flight:  # no grace: they are left in flight now
        said += f"; {running} left in flight"
    err_console.print(said, soft_wrap=True, markup=False, highlight=False)


def _drain(services: Services) -> Drain:
    """The drain of a run in the foreground: ``[executor] drain_grace_s``, said when seen."""
    from executor.draining import Drain

    return Drain(services.settings.executor.drain_grace_s, on_seen=_stopping)


def _exit_for(record: RunRecord, as_json: bool) -> None:
    if as_json:
        print_json(jsonable(record))
    else:
        _summary(record)
    if record.status.value in ("failed", "cancelled"):
        raise typer.Exit(EXIT_FAILED)


@app.command("run")
def run(ctx: typer.Context, plan_id: str,
        version: Annotated[int | None, version_option("Plan version (default: latest).")] = None,
        detach: Annotated[bool, typer.Option("--detach", help="Queue it for `baton worker`.")] = False,
        concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, max=256,
                                                        help="Steps at once.")] = None,
        as_json: JsonOption = False) -> None:
    """Run an approved plan version (exit 0 when it succeeds, 1 when it fails or is cancelled;
    SIGTERM or Ctrl-C: start no new step, give running ones the drain grace, leave the rest
    for `baton resume`, exit 143 or 130; a second Ctrl-C stops at once)."""
    from baton.usecases.runs import start_run
    from executor.errors import RunLeftError

    cli = state(ctx)
    user = acting_user(ctx, Action.RUN_START)
    progress = _Progress(enabled=not (as_json or detach))
    drain = _drain(cli.services)
    signals = _DrainingSignals(drain, ctrl_c=True)

    def created(run_id: str) -> None:
        progress.created(run_id)
        if not detach:  # queued: a worker's to drain
            signals.arm()

    try:
        with progress, signals:
            record = start_run(cli.services, plan_id, user, version=version,
                               concurrency=concurrency, detach=detach, observer=progress,
                               created=created, detail=as_json, drain=drain)
    except KeyboardInterrupt:
        _interrupted(progress)
    except RunLeftError as left:
        _left(left, signals.stopped_by)
    if detach:
        if as_json:
            print_json(jsonable(record))
        else:
            console.print(record.id)
        return
    _exit_for(record, as_json)


@app.command("resume")
def resume(ctx: typer.Context, run_id: str, as_json: JsonOption = False) -> None:
    """Take over a run whose owner is gone and finish it (a failed run restarts its failed step;
    SIGTERM or Ctrl-C as for `baton run`)."""
    from baton.usecases.runs import resume_run
    from executor.errors import RunLeftError

    cli = state(ctx)
    user = acting_user(ctx, Action.RUN_START)  # resuming runs the rest of the run
    progress = _Progress(enabled=not as_json)
    signals = _DrainingSignals(_drain(cli.services), ctrl_c=True)
    try:
        with progress, signals:
            signals.arm()  # the run exists: a signal from now on drains it
            record = resume_run(cli.services, run_id, user, observer=progress, detail=as_json,
                                drain=signals.drain)
    except KeyboardInterrupt:
        _interrupted(progress, resumed=run_id)
    except RunLeftError as left:
        _left(left, signals.stopped_by)
    _exit_for(record, as_json)


@app.command("cancel")
def cancel(ctx: typer.Context, run_id: str, as_json: JsonOption = False) -> None:
    """Ask a run to stop: no new steps start, running ones finish, it ends cancelled."""
    from baton.usecases.runs import cancel_run

    cli = state(ctx)
    record = cancel_run(cli.services, run_id, acting_user(ctx, Action.RUN_CANCEL))
    if as_json:
        print_json(jsonable(record))
    else:
        console.print(f"cancel requested for {safe_markup(record.id)} "
                      f"(now {record.status.value})")


# SIGTERM ends a worker as a shell reports it, once its drain is over.
EXIT_SIGTERM = 143


@app.command("worker")
def worker(ctx: typer.Context,
           once: Annotated[bool, typer.Option("--once", help="Stop when no run is waiting.")] = False) -> None:
    """Run queued runs and runs whose owner's lease expired (SIGTERM: claim no more, start no
    new step, give running ones the drain grace, leave the rest to another worker, exit 143)."""
    from executor.draining import Drain

    cli = state(ctx)
    cli.use_logging("info", json=True)
    # The policies are read now: they change on a restart, not at the first run's check.
    cli.services.policy_engine  # noqa: B018
    drain = Drain(cli.services.settings.executor.drain_grace_s)
    try:
        with _DrainingSignals(drain) as signals:
            signals.arm()
            count = _work(cli.services, once, drain)
    except KeyboardInterrupt:  # Ctrl-C: exit 130 as typer would (main's exit is not held up
        raise typer.Exit(130) from None  # by a tool's thread, whichever way a command ends)
    console.print(f"worker ran {count} run(s)")
    if drain.requested:
        raise typer.Exit(EXIT_SIGTERM)


class _DrainingSignals:
    """In its block, once armed, SIGTERM requests ``drain`` (a service manager's stop: the
    process finishes what it called, starts nothing more); with ``ctrl_c`` the first SIGINT
    too, and a SIGINT once it is requested stops at once, as a Ctrl-C did before drains (a
    tool that hangs is not waited for). After the block each signal is as it was. One ignored
    or handled already (by a program embedding the CLI) is left so, as outside the main thread.

    Armed by ``baton run`` once its run is recorded: a signal before that stops it as ever,
    recording no run, never one left for a worker to run after a Ctrl-C.
    """

    def __init__(self, drain: Drain, *, ctrl_c: bool = False) -> None:
        import signal

        self.drain = drain
        self.stopped_by: list[int] = []  # the signals that requested the drain, in order
        # Python's own handlers: SIGTERM ends the process, SIGINT raises KeyboardInterrupt.
        self._ours = {signal.SIGTERM: signal.SIG_DFL}
        if ctrl_c:
            self._ours[signal.SIGINT] = signal.default_int_handler
        self._previous: dict[int, object] = {}
        self._open = False

    def __enter__(self) -> _DrainingSignals:
        self._open = True
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        self._open = False
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def arm(self) -> None:
        """From now on the signals drain (once; nothing outside the block)."""
        import signal
        import threading

        if (not self._open or self._previous
                or threading.current_thread() is not threading.main_thread()):
            return
        self._previous = {signum: signal.signal(signum, self._stop)
                          for signum, default in self._ours.items()
                          if signal.getsignal(signum) is default}

    def _stop(self, signum: int, _frame: object) -> None:  # takes no lock: see Drain
        import signal

        if signum == signal.SIGINT and self.drain.requested:
            raise KeyboardInterrupt
        self.stopped_by.append(signum)
        self.drain.request()


# How often a worker waiting for its settings file to load looks at it again (a stat).
SETTINGS_RETRY_S = 1.0


def _work(services: Services, once: bool, drain: Drain) -> int:
    """Run queued runs as ``run_worker`` does, claiming none while the settings file does not
    load (the approval check would refuse the run, and it would end failed over a half-saved
    file): a worker waits for the file to load; ``--once`` raises its ``SettingsFileError``,
    leaving the runs not run yet queued. Once ``drain`` is requested it claims nothing more
    and returns when its run is ended or left (see ``executor.draining``)."""
    import time

    from baton.settings_reload import SettingsFileError, SettingsWait
    from baton.usecases.runs import run_worker

    settings = SettingsWait(lambda: services.settings, "worker")
    if once:
        settings.raise_problem()
        count = run_worker(services, once=True, should_stop=settings.blocked, drain=drain)
        if not drain.requested:
            settings.raise_problem()  # stopped claiming as the file broke
        return count
    count = 0
    while not drain.requested:  # until Ctrl-C or SIGTERM
        if settings.blocked():
            time.sleep(SETTINGS_RETRY_S)
            continue
        try:  # it looks before each claim, and stops claiming once the file breaks
            count += run_worker(services, should_stop=settings.blocked, drain=drain)
        except SettingsFileError as exc:  # broke as the pass began (its runner reads them)
            settings.waits(exc)
    return count


@runs_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Recent runs, newest first."""
    from baton.usecases.runs import list_runs

    records = list_runs(reader(ctx, Action.RUN_READ))
    if as_json:
        print_json([r.model_dump(mode="json", exclude={"steps"}) for r in records])
        return
    table = Table()
    add_id_column(table, "run", (r.id for r in records))
    add_id_column(table, "plan", (r.plan_id for r in records))
    for column in ("v", "status", "by", "created", "error"):  # "v" as in `baton plans list`
        table.add_column(column, overflow="fold")  # wrapped, never cut: the ids keep their width
    for r in records:
        table.add_row(safe_markup(r.id), safe_markup(r.plan_id), str(r.version),
                      f"[{STATUS_STYLE.get(r.status.value, '')}]{r.status.value}[/]",
                      safe_markup(r.requested_by), f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                      safe_markup(r.error or ""))
    print_table(console, table)


@runs_app.command("show")
def show(ctx: typer.Context, run_id: str, as_json: JsonOption = False) -> None:
    """One run: steps, attempts, errors, outputs (or their artifact URIs) and timings."""
    from baton.usecases.runs import show_run

    record = show_run(reader(ctx, Action.RUN_READ), run_id)
    if as_json:
        print_json(jsonable(record))
        return
    _summary(record)
    table = Table()
    add_id_column(table, "step", (s.step_id for s in record.steps))
    for column in ("tool", "status", "attempts", "output / error", "took"):
        table.add_column(column, overflow="fold")
    for s in record.steps:
        took = f"{(s.ended_at - s.started_at).total_seconds():.3f}s" if s.started_at and s.ended_at else ""
        detail = s.error or s.output_uri or _output_text(s.output)
        table.add_row(safe_markup(s.step_id), safe_markup(s.tool),
                      f"[{STATUS_STYLE.get(s.status.value, '')}]{s.status.value}[/]",
                      str(s.attempts), safe_markup(shortened(detail, SHOWN_TEXT_CHARS)), took)
        for a in s.attempt_log:
            if a.error:
                table.add_row("", "", f"  #{a.attempt} {a.status.value}", "",
                              safe_markup(shortened(a.error, SHOWN_TEXT_CHARS)), "")
    print_table(console, table)


def _output_text(output: object) -> str:
    """A step's output as the JSON text the run stored ("" when it has none)."""
    import json

    return "" if output is None else json.dumps(output, ensure_ascii=False, default=str)
