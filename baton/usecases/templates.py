"""Template use cases: list, show, add a YAML file, save an approved plan as a template.

A pre-approved template turns its instances into standard changes, so only an
approver (or admin) may mark one, and only from an approved plan version. Who marked it
is recorded (``approved_by``): their own plans from it are not standard changes. The save is
recorded in the ledger (``template_saved``) with the SHA-256 of the file written, and a
pre-approval counts only while the file holds those bytes (:func:`pre_approval_standing`):
a file written or edited by other means makes no standard change, whatever it says.

Templates are read by everyone who may read them and copied into every plan made
from them: one holding a configured secret's value is never saved, and one saved
before the secret was configured is shown masked (the plans made from it hold the
value, and are refused as such when stored).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from executor.ledger import EventKind
from planner.arg_checks import shorten
from planner.base import PlanningError
from planner.templates import (
    ParamBounds,
    PreApprovalState,
    SavedRecord,
    Template,
    TemplateError,
    TemplateLibrary,
    TemplateMatcher,
    TemplatePlanner,
    pre_approval_of,
    read_new_template,
    saved_file_digest,
    template_from_plan,
    wording_problem,
)
from planner.versions import StoredVersion, VersionStatus

from ..services import Services
from ..settings import User
from .permissions import ROLE_ACTIONS, ActionNotAllowedError

PRE_APPROVING_ROLES = frozenset({"approver", "admin"})
_UNUSABLE = frozenset({VersionStatus.INVALID, VersionStatus.DENIED, VersionStatus.REJECTED})


class PreApprovalStanding(BaseModel):
    """Whether a template version's pre-approval counts now, and why not."""

    model_config = ConfigDict(frozen=True)

    state: PreApprovalState = Field(description="Where its pre-approval stands with the ledger.")
    approved_by: str | None = Field(
        default=None, description="Who saved it pre-approved, as the ledger records it.")
    counts: bool = Field(description="Its plans within bounds are standard changes (when "
                                     "someone other than approved_by asks for and writes them).")
    problems: tuple[str, ...] = Field(
        default=(), description="Why a pre-approval the file claims does not count.")


class ShownTemplate(BaseModel):
    """A template version as readers see it, with where its pre-approval stands."""

    model_config = ConfigDict(frozen=True)

    template: Template = Field(description="The template, configured secret values masked.")
    pre_approval: PreApprovalStanding = Field(description="Whether its pre-approval counts.")


def list_templates(services: Services) -> list[ShownTemplate]:
    """The newest version of every template, by name, as shown (secret values masked)."""
    library = services.template_library
    return [_shown(services, library, t) for t in library]


def show_template(services: Services, name: str, version: int | None = None) -> ShownTemplate:
    """One template version (newest when None), as shown (secret values masked)."""
    library = services.template_library
    return _shown(services, library, library.get(name, version))


def _shown(services: Services, library: TemplateLibrary, template: Template) -> ShownTemplate:
    from tools.redaction import redact

    standing = pre_approval_standing(services, library, template)
    problems = tuple(redact(list(standing.problems), services.recognisable_secrets))
    return ShownTemplate(template=template.masked(services.recognisable_secrets),
                         pre_approval=standing.model_copy(update={"problems": problems}))


def pre_approval_standing(services: Services, library: TemplateLibrary,
                          template: Template) -> PreApprovalStanding:
    """Whether ``template``'s pre-approval counts now: saved pre-approved by ``templates add``
    (its ``template_saved`` event), its file unchanged since, and its giver still one who may
    give it (``policy_input.pre_approval_problems``). Reads the ledger only for a template
    that says it is pre-approved and does not ship with Baton."""
    from .policy_input import pre_approval_problems

    found = pre_approval_of(template, library.source(template.name, template.version),
                            _saved_records(services, template.name))
    if found.problem is not None:
        problems: tuple[str, ...] = (found.problem,)
    elif found.on_record:
        problems = pre_approval_problems(services, found.approved_by)
    else:
        problems = ()
    return PreApprovalStanding(state=found.state, approved_by=found.approved_by,
                               counts=found.on_record and bool(found.approved_by) and not problems,
                               problems=problems)


def _saved_records(services: Services, name: str) -> Iterator[SavedRecord]:
    """The ``template_saved`` events of template ``name`` as records, read lazily (a generator:
    nothing is queried unless iterated). One indexed query by subject, not a scan of the
    ledger. An event that does not read as one (a malformed payload) is passed over: it
    records no save, so it pre-approves nothing."""
    for event in services.ledger.iter_events(subject=_subject(name),
                                             kinds=[EventKind.TEMPLATE_SAVED.value]):
        try:
            yield SavedRecord.model_validate({**event.payload, "seq": event.seq})
        except ValidationError:
            continue


def _subject(name: str) -> str:
    """The ledger subject of template ``name``'s events."""
    return f"template:{name}"


def save_plan_as_template(
    services: Services, plan_id: str, *, name: str, params: dict[str, str], actor: User,
    version: int | None = None, description: str = "", pre_approved: bool = False,
    bounds: dict[str, ParamBounds] | None = None,
) -> Template:
    """Turn a stored plan version into the next version of template ``name``.

    ``bounds`` limits the values of the parameters it names; a pre-approved template
    needs every parameter bounded (TemplateError, code ``unbounded_parameter``).
    """
    user = services.settings.user_named(actor.id)
    if pre_approved:  # who may, before reading anything
        _check_may_pre_approve(user)
    with _masked_errors(services):
        return _save_plan_as_template(services, plan_id, user, name=name, params=params,
                                      version=version, description=description,
                                      pre_approved=pre_approved, bounds=bounds)


def _save_plan_as_template(
    services: Services, plan_id: str, user: User, *, name: str, params: dict[str, str],
    version: int | None, description: str, pre_approved: bool,
    bounds: dict[str, ParamBounds] | None,
) -> Template:
    stored = services.plan_store.get(plan_id, version)
    if stored.status in _UNUSABLE:
        raise TemplateError(f"plan {plan_id} v{stored.version} is {stored.status.value}; "
                            "only a valid plan can become a template")
    _refuse_held_secrets(services, stored)
    if pre_approved and stored.status is not VersionStatus.APPROVED:
        raise TemplateError(f"plan {plan_id} v{stored.version} is {stored.status.value}, not "
                            "approved; only an approved plan can become a pre-approved template")
    try:
        template = template_from_plan(stored.plan, name=name, params=params,
                                      description=description, pre_approved=pre_approved,
                                      bounds=bounds)
    except ValidationError as exc:  # a name given on the command line that a template cannot have
        raise TemplateError(f"cannot save plan {plan_id} v{stored.version} as a template: "
                            f"{_refused_fields(exc)}") from exc
    return _save(services, template, user, source=f"{plan_id} v{stored.version}")


def _refuse_held_secrets(services: Services, stored: StoredVersion) -> None:
    """A version stored before its secret was configured holds the value: a template made
    from it would hold it too, shown to every reader of templates and copied into plans."""
    from .plans import held_secrets

    held = held_secrets(services, stored)
    if held:
        raise TemplateError(f"cannot save plan {stored.plan_id} v{stored.version} "
                            f"as a template: {held}")


_MODEL_NOUNS = {"Template": "template", "TemplateParam": "parameter"}


def _refused_fields(exc: ValidationError) -> str:
    """One line naming each field a template model refused, with the value given."""
    noun = _MODEL_NOUNS.get(exc.title, exc.title)
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "value"
        given = repr(error.get("input"))
        given = given if len(given) <= 60 else given[:59] + "…"
        problems.append(f"{noun} {field} {given}: {error['msg']}")
    return "; ".join(problems)


def add_template_file(services: Services, path: Path | str, actor: User) -> Template:
    """Check a template file (patterns, example goals → valid plans) and save it as a new version."""
    user = services.settings.user_named(actor.id)
    with _masked_errors(services):
        template = read_new_template(Path(path))
        if template.pre_approved:
            _check_may_pre_approve(user)
        return _save(services, template, user, source=str(path))


@contextmanager
def _masked_errors(services: Services) -> Iterator[None]:
    """A template error quoting what was given (an example goal, a regex, a name) says it
    with configured secret values masked."""
    from tools.redaction import redact

    try:
        yield
    except TemplateError as exc:
        masked = redact(exc.message, services.recognisable_secrets)
        if masked == exc.message:
            raise
        raise TemplateError(masked, code=exc.code) from None  # the cause quotes the value


def _check_may_pre_approve(user: User) -> None:
    """A role refusal like the role table's own (the CLI exits 2, as for any other)."""
    if not PRE_APPROVING_ROLES & set(user.roles):
        roles = ", ".join(user.roles) or "no roles"
        raise ActionNotAllowedError(
            f"user {user.id!r} ({roles}) may not mark a template pre-approved; that needs "
            f"the role {' or '.join(r for r in ROLE_ACTIONS if r in PRE_APPROVING_ROLES)}")


def _save(services: Services, template: Template, user: User, *, source: str) -> Template:
    _refuse_secret_values(services, template)  # first: other checks quote the examples
    # A pattern requiring no wording would match goals meant for other templates (ranked
    # last, it still takes every goal nothing else matches): refused here, where it is
    # written, not where it is loaded (a saved one would make every plan fail).
    catch_all = wording_problem(template)
    if catch_all is not None:
        raise TemplateError(catch_all)
    _check_examples(services, template)
    # Who pre-approved it is whoever saves it: the policies do not make their own plans
    # from it standard changes (four eyes), and a template without it makes none.
    template = template.model_copy(
        update={"approved_by": user.id if template.pre_approved else None})

    def record(stored: Template, path: Path) -> None:
        # Called by the library with the version it claimed, before the file is live: a
        # database that cannot record leaves no template behind (a pre-approved one would
        # make standard changes the ledger never shows), and the event describes the very
        # file that goes live, whatever another save of this name did meanwhile.
        # The digest of the very bytes that go live: a pre-approval counts only while the
        # file holds them (pre_approval_standing), never for a file edited or put there since.
        services.ledger.append(EventKind.TEMPLATE_SAVED, _subject(stored.name), user.id, {
            "name": stored.name, "version": stored.version, "pre_approved": stored.pre_approved,
            "approved_by": stored.approved_by, "source": source, "file": str(path),
            "file_sha256": saved_file_digest(stored),
        })

    stored, _ = services.template_library.save(template, record=record)
    return stored


def _refuse_secret_values(services: Services, template: Template) -> None:
    """A configured secret's value anywhere in the template: refused, naming each place and
    secret (never the value), as a plan holding one is."""
    from planner.secret_literals import template_secret_problems

    found = template_secret_problems(template.to_document(), services.recognisable_secrets)
    if found:
        places = "; ".join(f"{problem.path}: {problem.message}" for problem in found)
        raise TemplateError(
            f"template {template.name} was not saved: {places}. Every reader of templates "
            "would see the value, and every plan made from the template would hold it; where "
            "a tool takes a secret (an HTTP header), write ${secret:NAME} instead",
            code="configured_secret")


def _check_examples(services: Services, template: Template) -> None:
    """Every example goal must select this template and give a valid plan (fail before saving)."""
    planner = TemplatePlanner(TemplateLibrary([template]), max_steps=services.settings.max_steps)
    for goal in template.example_goals:
        missed = _missed_example(planner.matcher, template, goal)
        shown = shorten(goal)  # an example of 19,000 characters made one error line of it
        if missed:
            raise TemplateError(f"template {template.name}: {missed}")
        try:
            planner.plan(goal, services.registry)
        except PlanningError as exc:
            details = "".join(f"\n  - {p}" for p in exc.problems)
            raise TemplateError(f"template {template.name}: example goal {shown!r} does not "
                                f"give a valid plan: {exc.message}{details}") from exc


def _missed_example(matcher: TemplateMatcher, template: Template, goal: str) -> str | None:
    """Why the template's own patterns do not select ``goal``, or None when they do.

    Said about this template, not as the planner's "no template matches … nearest" reply.
    """
    found, misses = matcher.match(goal)
    goal = shorten(goal)  # as quoted below: one long example must not flood the message
    if found is not None:
        return None
    if misses:
        problems = "; ".join(problem for miss in misses for problem in miss.problems)
        return f"example goal {goal!r} fits the wording of template {template.name} but: {problems}"
    if len(template.patterns) == 1:
        return f"example goal {goal!r} does not match the template's own pattern {template.patterns[0]!r}"
    patterns = ", ".join(repr(p) for p in template.patterns)
    return f"example goal {goal!r} matches none of the template's own patterns: {patterns}"
