"""``baton audit show|verify|export``: read, check and hand over the hash-chained ledger."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..usecases.permissions import Action
from .common import (EXIT_FAILED, EXIT_USAGE, console, err_console, fail, limit_option,
                     print_json, reader, safe_markup)
from .export_file import out_path
from .main import app

if TYPE_CHECKING:
    from executor.ledger_export import ExportFormat

    from ..services import Services

audit_app = typer.Typer(help="The audit ledger: show, verify, export.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

PAYLOAD_PREVIEW_CHARS = 90


@audit_app.command("show")
def show(
    ctx: typer.Context,
    subject: Annotated[str | None, typer.Option("--subject", help="Only events about this plan/run id.")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only this event kind (repeatable).")] = None,
    limit: Annotated[int, limit_option("Show the latest N matching events.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show the latest ledger events, oldest first."""
    from executor.ledger import EventKind
    from executor.ledger_export import event_record

    known = {k.value for k in EventKind}
    unknown = sorted(set(kind or ()) - known)
    if unknown:
        fail(f"unknown event kind {', '.join(unknown)}; known kinds: "
             f"{', '.join(sorted(known))}", EXIT_USAGE)
    from ..usecases.ledger import shown_events

    # Shown masked: a payload stored before its secret was configured still holds the value.
    services = reader(ctx, Action.LEDGER_READ)
    latest = shown_events(services, services.ledger.latest(subject=subject, kinds=kind or None,
                                                           limit=limit))
    if as_json:
        print_json([event_record(e) for e in latest])
        return
    from rich.table import Table

    from planner.problems import printable

    from .render import add_id_column, print_table

    table = Table(title=f"{len(latest)} events", title_justify="left")
    # The seq and the subject (a plan, run or template id) are copied into the next command.
    add_id_column(table, "seq", (str(e.seq) for e in latest))
    table.add_column("at", overflow="fold")
    table.add_column("kind", overflow="fold")
    add_id_column(table, "subject", (printable(e.subject) for e in latest))
    for column in ("actor", "payload"):
        table.add_column(column, overflow="fold")
    for event in latest:
        payload = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
        if len(payload) > PAYLOAD_PREVIEW_CHARS:
            payload = payload[: PAYLOAD_PREVIEW_CHARS - 1] + "…"
        # Payloads quote goals, reasons and tool errors: JSON leaves C1 controls and bidi
        # overrides as they are.
        table.add_row(str(event.seq), event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                      safe_markup(event.kind), safe_markup(event.subject),
                      safe_markup(event.actor), safe_markup(payload))
    print_table(console, table)


@audit_app.command("verify")
def verify(
    ctx: typer.Context,
    expect_head: Annotated[str | None, typer.Option(
        "--expect-head", metavar="SEQ:HASH",
        help="A head recorded earlier outside Baton; the chain must still pass through it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Recompute the hash chain; exit 1 naming the first broken event."""
    from executor.ledger import head_text, parse_head

    try:
        anchor = parse_head(expect_head) if expect_head is not None else None
    except ValueError as exc:
        fail(f"--expect-head {exc}", EXIT_USAGE)
    ledger = reader(ctx, Action.LEDGER_READ).ledger
    result = ledger.verify(expect_head=anchor)
    verified = result.head if result.ok else None  # what was verified, not a head appended since
    head = head_text(verified) if verified else None
    if as_json:
        print_json({"ok": result.ok, "events": result.events, "first_broken_seq": result.first_broken_seq,
                    "reason": result.reason, "head": head})
    elif result.ok:
        console.print(f"ledger intact: {result.events} events", soft_wrap=True)
        if head:
            console.print(f"head {head}  (record it elsewhere; check later with "
                          f"--expect-head)", soft_wrap=True)
    else:
        err_console.print(f"[bold red]ledger broken at event {result.first_broken_seq}:[/] "
                          f"{safe_markup(result.reason or '')}", soft_wrap=True)
    if not result.ok:
        raise typer.Exit(EXIT_FAILED)


@audit_app.command("export")
def export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or cloudevents (CloudEvents 1.0, structured).")] = "jsonl",
    subject: Annotated[str | None, typer.Option("--subject", help="Only events about this plan/run id.")] = None,
    out: Annotated[Path | None, typer.Option("--out", parser=out_path,
                                             help="Write to this file (default: stdout).")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", metavar="URI",
        # Plain words: rich would read "[audit]" as a style and ":ledger:" as an emoji.
        help="CloudEvents source of every event (a URI-reference); default: the "
             "audit.cloudevents_source setting, else one naming this ledger "
             "(by its first event's hash).")] = None,
) -> None:
    """Write the ledger as JSON lines or CloudEvents, one event per line, in chain order.

    Configured secret values in payloads are masked: such an event no longer re-hashes from
    the export (``baton audit verify`` checks the stored chain).
    """
    from executor.ledger_export import ExportFormat, cloudevents_source_problem

    from ..usecases.ledger import export_events

    try:
        chosen = ExportFormat(fmt.lower())
    except ValueError:
        fail(f"unknown format {fmt!r}; use jsonl or cloudevents", EXIT_USAGE)
    if source is not None:
        if chosen is not ExportFormat.CLOUDEVENTS:
            fail("--source applies only to --format cloudevents", EXIT_USAGE)
        problem = cloudevents_source_problem(source)
        if problem:
            fail(f"--source {problem}", EXIT_USAGE)
    services = reader(ctx, Action.LEDGER_READ)
    source = source if source is not None else services.settings.audit.cloudevents_source
    if out is None:
        from .streams import utf8_stdout

        with utf8_stdout() as stdout:  # JSON lines are UTF-8, whatever the locale's encoding
            count = export_events(services, stdout, chosen, subject, source=source)
    else:
        count = _export_to_file(services, out, chosen, subject, source)
    err_console.print(f"exported {count} events ({chosen.value})", soft_wrap=True)


def _export_to_file(services: Services, out: Path, fmt: ExportFormat, subject: str | None,
                    source: str | None) -> int:
    """Export into ``out``, replaced only by a whole export; never the database or data_dir."""
    from executor.store.db import sqlite_file

    from ..usecases.ledger import export_events
    from .export_file import EndedBySignal, out_problem, replaced_on_success

    database = sqlite_file(services.engine)
    problem = out_problem(out, services.settings.data_dir, database.path if database else None)
    if problem:
        fail(problem, EXIT_USAGE)
    try:
        with replaced_on_success(out) as handle:
            return export_events(services, handle, fmt, subject, source=source)
    except OSError as exc:  # a missing directory, no permission, a full disk
        fail(f"cannot write {out}: {exc.strerror or str(exc)}")
    except EndedBySignal as ended:  # the temporary file is gone: exit as a shell reports it
        raise typer.Exit(128 + ended.signum) from None
