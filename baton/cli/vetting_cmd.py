"""``baton approve``, ``baton reject``, ``baton policy eval|input|test|show``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..limits import COMMENT_MAX_CHARS, REASON_MAX_CHARS
from ..usecases.permissions import Action
from .common import (
    EXIT_FAILED,
    EXIT_USAGE,
    acting_user,
    console,
    err_console,
    fail,
    print_json,
    reader,
    safe_markup,
    state,
    version_option,
)
from .main import app

if TYPE_CHECKING:
    from policies.approval import ApprovalRecord, GateState
    from policies.contracts import Decision

    from ..services import Services
    from ..usecases.policy_input import StoredVersionInput

policy_app = typer.Typer(help="Inspect, evaluate and test the policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
VersionOption = Annotated[int | None, version_option("Version (default: latest).")]

_STYLE = {"denied": "bold red", "needs_approval": "bold yellow", "allowed": "bold green",
          "pending": "bold yellow", "approved": "bold green", "rejected": "bold red",
          "superseded": "dim"}


def print_decision(decision: Decision, gate: GateState | None = None,
                   stale: str | None = None) -> None:
    """Show a decision (and the gate) in colour: denied with reasons, pending with who is needed;
    ``stale``: why it will be taken again before an approval or a run."""
    outcome = decision.outcome.value
    label = {"denied": "DENIED", "needs_approval": "NEEDS APPROVAL", "allowed": "ALLOWED"}[outcome]
    console.print(f"[{_STYLE[outcome]}]policy: {label}[/] (risk {decision.risk}, engine "
                  f"{safe_markup(decision.engine)}, bundle "
                  f"{safe_markup(decision.bundle_hash[:12])})")
    print_stale(stale)
    for reason in decision.deny:
        console.print(f"  [red]✗[/] {safe_markup(reason)}")
    if gate is not None:
        style = _STYLE.get(gate.status.value, "bold")
        needs = (f"needs {gate.missing_count} more approval(s) from a user with role "
                 f"{' or '.join(gate.eligible_roles)}")
        line = f"[{style}]gate: {gate.status.value}[/]"
        if gate.status.value == "pending":  # roles are policy data: approver[eu], ops[/x]
            line += f" — {safe_markup(needs)}"
        console.print(line)
        for record in gate.valid_approvals:
            console.print(f"  [green]✓[/] approved by {safe_markup(record.actor)}")
        # Every other reason the gate gives (an approval expired or its approver lost the
        # role, a held secret, a rejection): printed once, the decision's own denials above.
        shown = {needs, *decision.deny}
        for reason in gate.reasons:
            if reason not in shown:
                console.print(f"  [red]✗[/] {safe_markup(reason)}")
    for note in decision.notes:
        console.print(f"  [dim]•[/] {safe_markup(note)}")


def print_stale(why: str | None) -> None:
    """The line saying a stored decision no longer settles the version (nothing when it stands)."""
    if why is not None:
        console.print(f"[bold yellow]decision: to be taken again before approval or run:[/] "
                      f"{safe_markup(why)}", soft_wrap=True)


def show_decision(services: Services, plan_id: str, version: int) -> None:
    """Print the stored decision and gate of one version (``baton plan`` calls this)."""
    from ..usecases.deciding import decision_for, stale_decision
    from ..usecases.gates import gate_state

    stored = decision_for(services, plan_id, version)
    if stored is not None:
        print_decision(stored.decision, gate_state(services, plan_id, version),
                       stale_decision(services, plan_id, version))


def _hash_option(done: str) -> Any:
    """``--hash``: the version the approver reviewed, shared by approve and reject."""
    return typer.Option(
        "--hash", metavar="PLAN_HASH",
        help="The hash of the version you reviewed (at least 12 hex characters, sha256: "
             f"optional, as `baton plans show` prints it): refused if that version is not "
             f"the one {done}.")


def _check_hash_usage(plan_hash: str | None) -> None:
    """A malformed --hash is a usage error, before anyone is looked up."""
    from tools import BatonError

    from ..usecases.approving import pinned_hash

    if plan_hash is not None:
        try:
            pinned_hash(plan_hash)
        except BatonError as exc:
            fail(f"--hash: {exc.message}", EXIT_USAGE)


def _check_length(option: str, text: str | None, limit: int) -> None:
    """Text longer than the API and the web forms take is a usage error, before anyone is
    looked up: the same limit wherever it is written (:mod:`baton.limits`)."""
    if text is not None and len(text) > limit:
        fail(f"{option} is {len(text)} characters long; at most {limit} are taken (as over the "
             "API): shorten it", EXIT_USAGE)


def _acted(done: str, plan_id: str, record: ApprovalRecord, actor: str) -> str:
    """The line naming the version and hash acted on: without --hash, whatever was latest."""
    return (f"{done} {safe_markup(plan_id)} v{record.version} (sha256:{record.plan_hash[:16]}…) "
            f"as {safe_markup(actor)}")


@app.command("approve")
def approve_cmd(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="Plan id, e.g. p-3f2a9c1d.")],
    version: VersionOption = None,
    plan_hash: Annotated[str | None, _hash_option("approved")] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="A note kept with the approval.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a plan version as the acting user (--as or BATON_USER).

    Without --version or --hash the latest version is approved, whatever it is when the
    approval lands; the line printed names its version and hash.
    """
    from ..usecases.approving import GATE_COMPLETE_NOW, NO_APPROVAL_NOW, approve

    _check_length("--comment", comment, COMMENT_MAX_CHARS)
    _check_hash_usage(plan_hash)
    cli = state(ctx)
    user = acting_user(ctx, Action.PLAN_APPROVE)
    gate = approve(cli.services, plan_id, user, version=version, plan_hash=plan_hash,
                   comment=comment)
    if as_json:
        print_json(gate.model_dump(mode="json"))
        return
    if NO_APPROVAL_NOW in gate.reasons:  # a standard change again: nothing was recorded
        shown = cli.services.plan_store.get(plan_id, version).version
        console.print(f"[bold green]{safe_markup(plan_id)} v{shown}: {NO_APPROVAL_NOW}[/] "
                      f"(no approval recorded as {safe_markup(user.id)}); it may run")
        show_decision(cli.services, plan_id, shown)
        return
    mine = next(r for r in gate.valid_approvals if r.actor == user.id)
    if GATE_COMPLETE_NOW in gate.reasons:  # approvals that count again: nothing was recorded
        console.print(f"[bold green]{safe_markup(plan_id)} v{mine.version}: {GATE_COMPLETE_NOW}"
                      f"[/] (no new approval recorded: {safe_markup(user.id)}'s already "
                      "counts); it may run")
        show_decision(cli.services, plan_id, mine.version)
        return
    console.print(_acted("approved", plan_id, mine, user.id))
    show_decision(cli.services, plan_id, mine.version)


@app.command("reject")
def reject_cmd(
    ctx: typer.Context,
    plan_id: Annotated[str, typer.Argument(help="Plan id, e.g. p-3f2a9c1d.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; the planner and requester read it.")],
    version: VersionOption = None,
    plan_hash: Annotated[str | None, _hash_option("rejected")] = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a plan version with a reason; the version is ended (revise to make a new one).

    Without --version or --hash the latest version is rejected, whatever it is when the
    rejection lands; the line printed names its version and hash.
    """
    from ..usecases.approving import reject

    if not reason.strip():  # a usage error like a missing --reason, before anyone is looked up
        fail("--reason is empty: say why; the planner and requester read it", EXIT_USAGE)
    _check_length("--reason", reason, REASON_MAX_CHARS)
    _check_hash_usage(plan_hash)
    cli = state(ctx)
    user = acting_user(ctx, Action.PLAN_REJECT)
    gate = reject(cli.services, plan_id, user, reason=reason, version=version,
                  plan_hash=plan_hash)
    if as_json:
        print_json(gate.model_dump(mode="json"))
        return
    assert gate.rejection is not None  # reject returns the gate its rejection ended
    console.print(_acted("[bold red]rejected[/]", plan_id, gate.rejection, user.id)
                  + f": {safe_markup(gate.rejection.comment or '')}")


@policy_app.command("eval")
def policy_eval(
    ctx: typer.Context,
    plan_file: Annotated[Path, typer.Argument(help="Plan file (JSON or YAML).")],
    as_json: JsonOption = False,
) -> None:
    """Show the decision the policies take on PLAN_FILE for the acting user; nothing is stored.

    The file is validated first, as by `baton validate`: an invalid plan exits 1 listing every
    problem, and no decision is taken on it. A plan the policies deny exits 1 as well; one
    they allow, or send for approval, exits 0.
    """
    cli = state(ctx)
    policy_input = _policy_input(ctx, plan_file, as_json)
    from ..usecases.deciding import shown_decision

    decision = shown_decision(cli.services, cli.services.policy_engine.decide(policy_input))
    if as_json:
        print_json(decision.model_dump(mode="json"))
    else:
        print_decision(decision)
    if not decision.allow:
        raise typer.Exit(EXIT_FAILED)


@policy_app.command("input")
def policy_input_cmd(
    ctx: typer.Context,
    plan_file: Annotated[Path | None, typer.Argument(
        metavar="PLAN_FILE", help="Plan file (JSON or YAML).")] = None,
    plan_id: Annotated[str | None, typer.Option(
        "--plan-id", help="A stored plan instead of a file: the input its decision is taken on."
    )] = None,
    version: Annotated[int | None, version_option(
        "With --plan-id: the version (default: latest).")] = None,
) -> None:
    """Print the JSON input the policies read for PLAN_FILE and the acting user (--as), or for
    a stored version (--plan-id).

    For a file it is the document `baton policy eval` decides on, built the same way: write
    rules and fixtures against it. Steps carry their arguments' strings (`strings`, each with
    its `path`), not the arguments themselves. An invalid plan exits 1 listing every problem.
    For a stored version it is the input its decision is taken on: its requester and author,
    the tools a reviser added (`author.added_tools`), the template check, as of its latest
    decision's time; stderr says whether it still hashes as that decision's input.
    """
    if (plan_file is None) == (plan_id is None):
        fail("give a PLAN_FILE or --plan-id PLAN_ID (one of them)", EXIT_USAGE)
    if plan_file is not None:
        if version is not None:
            fail("--version goes with --plan-id, not with a PLAN_FILE", EXIT_USAGE)
        from tools.redaction import redact

        print_json(redact(_policy_input(ctx, plan_file, as_json=False),
                          state(ctx).services.recognisable_secrets))
        return
    assert plan_id is not None
    from ..usecases.policy_input import stored_version_input

    found = stored_version_input(reader(ctx, Action.POLICY_DECIDE), plan_id, version)
    print_json(found.document)
    err_console.print(_input_note(plan_id, found), soft_wrap=True)


def _input_note(plan_id: str, found: StoredVersionInput) -> str:
    """What the printed input of a stored version is as of, and whether its decision rests on
    it (one line, for stderr)."""
    where = f"{safe_markup(plan_id)} v{found.version}"
    when = found.as_of.isoformat(timespec="seconds")
    if not found.decided:
        return f"[dim]{where} has no decision yet: its input as of now ({when})[/]"
    if found.hash_matches is None:
        return (f"[dim]{where}: as of its decision ({when}), which was stored without an "
                "input hash to compare[/]")
    if found.hash_matches:
        return f"[dim]{where}: the input its decision ({when}) was taken on (the hash matches)[/]"
    return (f"[yellow]{where}: rebuilt as of its decision ({when}), it differs from the input "
            "that decision was taken on: roles, tools' specs or the template check changed "
            "since; an open version is decided again before its next approval or run[/]")


def _policy_input(ctx: typer.Context, plan_file: Path, as_json: bool) -> dict[str, Any]:
    """The policy input for PLAN_FILE, validated first, with the acting user as requester."""
    from datetime import UTC, datetime

    from policies.contracts import PolicyContext
    from policies.inputs import build_policy_input

    from ..usecases.policy_input import requester_of
    from .validate_cmd import valid_plan_or_exit

    cli = state(ctx)
    user = acting_user(ctx, Action.POLICY_DECIDE)
    plan = valid_plan_or_exit(cli, plan_file, as_json)
    return build_policy_input(plan, cli.services.registry,
                              requester=requester_of(cli.services, user.id),
                              context=PolicyContext(now=datetime.now(UTC)))


@policy_app.command("test")
def policy_test(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Run every policy fixture against the active engine; exit 1 on any failure."""
    from policies.fixtures_runner import fixture_suite, run_fixtures

    settings = reader(ctx, Action.POLICY_DECIDE).settings
    suite = fixture_suite(policies_dir=settings.policies_dir, policy_data=settings.policy_data,
                          opa_url=settings.opa_url)
    engine = suite.engine
    results = run_fixtures(engine, suite.directory)
    failed = [r for r in results if not r.passed]
    if as_json:
        print_json({"engine": engine.name, "bundle_hash": engine.bundle_hash,
                    "fixtures": str(suite.directory), "policy_data_applied": suite.configured_data,
                    "passed": len(results) - len(failed), "failed": len(failed),
                    "failures": {r.name: list(r.failures) for r in failed}})
    else:
        for r in results:
            mark = "[green]PASS[/]" if r.passed else "[red]FAIL[/]"
            console.print(f"{mark} {safe_markup(r.name)}")
            for failure in r.failures:
                console.print(f"     {safe_markup(failure)}")
        console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed "
                      f"(engine {safe_markup(engine.name)})")
        if not suite.configured_data:
            console.print("Baton's own fixtures ran with the shipped policy data: \\[policy.data] "
                          "in the settings does not apply to them.")
    if failed or not results:
        raise typer.Exit(EXIT_FAILED)


@policy_app.command("show")
def policy_show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The active policy files, the data's top-level keys, the bundle hash and the engine."""
    from tools.url_credentials import hide_url_credentials

    services = reader(ctx, Action.POLICY_DECIDE)
    engine = services.policy_engine
    bundle = engine.bundle  # type: ignore[attr-defined]
    opa_url = services.settings.opa_url
    info = {"engine": engine.name, "opa_url": opa_url and hide_url_credentials(opa_url),
            "bundle_hash": engine.bundle_hash, "directory": str(bundle.directory),
            "files": [name for name, _ in bundle.modules], "data_keys": sorted(bundle.data),
            "fixtures": str(bundle.fixtures_dir)}
    if as_json:
        print_json(info)
        return
    # Unset or empty reads "-", as in `baton tools show`; never Python's None.
    shown = {**info, "opa_url": info["opa_url"] or "- (not set: the embedded engine decides)"}
    for key, value in shown.items():
        text = ", ".join(value) if isinstance(value, list) else str(value)
        console.print(f"[bold]{key}[/]: {safe_markup(text or '-')}")
