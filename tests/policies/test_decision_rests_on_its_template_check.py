"""A template-made version's decision rests on its template check too, on SQLite and PostgreSQL.

The check (is the template still there, pre-approved, by whom, does the plan still match it)
is part of the policy input but not of the bundle hash; the hash of the whole input is
stored with each decision. Before an approval and before every run the check is made again: a version whose
check differs, or whose decision has none on record (stored before it was kept), is decided
again; one whose check holds is not, and its runs ask the policy engine nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from baton.usecases.approving import approve
from baton.usecases.gates import NotApprovedError, require_approved
from baton.usecases.plans import plan_goal
from baton.usecases.templates import add_template_file
from executor.ledger import EventKind
from executor.store.schema import DecisionRow
from planner.versions import VersionStatus
from policies.approval import GateStatus
from policies.engine import failed_decision
from tests.support.gate_services import ALICE, BOB, ROOT

TEMPLATE = """\
name: overwrite-payroll
description: Overwrite payroll.csv with a fixed line.
pre_approved: true
example_goals: ["Overwrite payroll.csv"]
patterns: ["overwrite {target}"]
params:
  - {name: target, enum: [payroll.csv]}
plan:
  steps:
    - {id: save, tool: files.write, args: {path: "{{target}}", text: "changed", overwrite: true}}
"""


def _decision_events(services, plan_id):
    return services.ledger.events(subject=plan_id, kinds=[EventKind.DECISION.value])


def _engine_down(monkeypatch, services) -> None:
    """The policy engine answers nothing (an OPA outage): every decision is a deny."""
    engine = services.policy_engine
    monkeypatch.setattr(engine, "decide", lambda _input: failed_decision(
        "the OPA server did not answer", engine=engine.name, bundle_hash=engine.bundle_hash))


def _standard_change(opened, tmp_path) -> tuple[Path, str]:
    """A plan alice made from a template root pre-approved (no approval asked): the
    templates directory and the plan id."""
    templates = tmp_path / "templates"
    return templates, standard_change_in(opened(templates_dir=templates), tmp_path)


def standard_change_in(services, tmp_path) -> str:
    """Root saves TEMPLATE pre-approved through ``services``, then alice plans from it (no
    approval asked); the plan id."""
    source = tmp_path / "t.yaml"
    source.write_text(TEMPLATE)
    add_template_file(services, source, ROOT)
    stored = plan_goal(services, "Overwrite payroll.csv", ALICE)
    assert stored.status is VersionStatus.APPROVED  # a standard change: no approval asked
    require_approved(services, stored.plan_id)
    return stored.plan_id


def _edit(templates: Path, change) -> None:
    """Edit the saved template file in place (what someone with access to the directory can do)."""
    path = templates / "overwrite-payroll.v1.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def test_a_standard_change_whose_template_was_withdrawn_needs_approval_again(opened, tmp_path):
    templates, plan_id = _standard_change(opened, tmp_path)
    for path in Path(templates).glob("overwrite-payroll.v*.yaml"):
        path.unlink()  # withdrawn
    now = opened(templates_dir=templates)
    with pytest.raises(NotApprovedError, match="plan .* on changed since it was decided .*template "
                       "overwrite-payroll v1, which it was made from \\(now: not pre-approved.*"
                       "needs 1 more approval"):
        require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    assert approve(now, plan_id, BOB).status is GateStatus.APPROVED
    require_approved(now, plan_id)


EDITS = {
    "pre-approval removed": lambda t: t.update(pre_approved=False),
    "pre-approved by the requester": lambda t: t.update(approved_by="alice"),
    "steps edited": lambda t: t["plan"]["steps"][0]["args"].update(text="other"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_a_standard_change_whose_template_was_edited_needs_approval_again(opened, tmp_path,
                                                                         edit):
    templates, plan_id = _standard_change(opened, tmp_path)
    _edit(templates, edit)
    now = opened(templates_dir=templates)
    with pytest.raises(NotApprovedError, match="changed since it was decided.*needs 1 more"):
        require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    events = _decision_events(now, plan_id)
    assert len(events) == 2
    assert "changed since it was decided" in events[-1].payload["decided_again"]
    assert events[-1].payload["previous_input_hash"] == events[0].payload[
        "input_hash"] != events[-1].payload["input_hash"]
    assert events[0].payload["template_check_hash"] != events[-1].payload["template_check_hash"]


def test_a_standard_change_whose_template_still_stands_is_not_decided_again(opened, tmp_path,
                                                                           monkeypatch):
    templates, plan_id = _standard_change(opened, tmp_path)
    now = opened(templates_dir=templates)
    _engine_down(monkeypatch, now)  # not asked: nothing it decides on changed
    require_approved(now, plan_id)
    require_approved(now, plan_id)
    assert len(_decision_events(now, plan_id)) == 1


def test_runs_of_a_read_only_template_plan_ask_the_policies_nothing(opened, monkeypatch):
    """The shipped csv-aggregate template has nobody on record as its pre-approver: its plans
    are no standard change, but need no approval either (they only read)."""
    services = opened()
    stored = plan_goal(services, "Show the sum of the amount column of sales.csv", ALICE)
    assert stored.origin is not None and stored.origin.name == "csv-aggregate"
    assert stored.status is VersionStatus.APPROVED
    _engine_down(monkeypatch, services)
    for _ in range(3):
        require_approved(services, stored.plan_id)
    events = _decision_events(services, stored.plan_id)
    assert len(events) == 1
    assert events[0].payload["template_check"]["approved_by"] is None
    assert events[0].payload["template_check_hash"] and events[0].payload["input_hash"]


def test_a_template_edit_that_keeps_the_verdict_is_decided_again_once(opened, tmp_path,
                                                                     monkeypatch):
    """A plan that only reads needs no approver, standard change or not: an edit of its
    template (which ends the pre-approval: the file is no longer what was saved) changes the
    check, not the verdict."""
    templates = tmp_path / "templates"
    services = opened(templates_dir=templates)
    source = tmp_path / "t.yaml"
    source.write_text(TEMPLATE.replace(
        'tool: files.write, args: {path: "{{target}}", text: "changed", overwrite: true}',
        'tool: files.read, args: {path: "{{target}}"}'))
    add_template_file(services, source, ROOT)
    stored = plan_goal(services, "Overwrite payroll.csv", ALICE)
    assert stored.status is VersionStatus.APPROVED
    plan_id = stored.plan_id
    _edit(templates, lambda t: t.update(approved_by="bob"))
    now = opened(templates_dir=templates)
    require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.APPROVED
    assert len(_decision_events(now, plan_id)) == 2  # recorded with the check it was given
    _engine_down(monkeypatch, now)
    require_approved(now, plan_id)
    assert len(_decision_events(now, plan_id)) == 2


def test_a_decision_stored_without_its_input_hash_is_taken_again(opened, tmp_path,
                                                                   monkeypatch):
    templates, plan_id = _standard_change(opened, tmp_path)
    now = opened(templates_dir=templates)
    with Session(now.engine) as session:  # as a decision stored before the check was kept
        row = session.exec(select(DecisionRow).where(DecisionRow.plan_id == plan_id)).one()
        row.input_hash = None
        session.add(row)
        session.commit()
    _engine_down(monkeypatch, now)
    with pytest.raises(NotApprovedError, match="decided before the input its decision "
                       "rested on was recorded.*cannot judge it now"):
        require_approved(now, plan_id)  # fails closed
    monkeypatch.undo()
    require_approved(now, plan_id)
    assert len(_decision_events(now, plan_id)) == 2
    assert now.approval_store.latest_decision(plan_id, 1).input_hash is not None
    _engine_down(monkeypatch, now)
    require_approved(now, plan_id)  # taken again once, not at every run


def test_a_template_plan_that_needed_approval_is_decided_again_when_its_template_changed(
        opened, tmp_path):
    """Whatever the decision was: a custom policy may judge a template's check in any way."""
    templates = tmp_path / "templates"
    services = opened(templates_dir=templates)
    source = tmp_path / "t.yaml"
    source.write_text(TEMPLATE.replace("pre_approved: true", "pre_approved: false"))
    add_template_file(services, source, ALICE)
    stored = plan_goal(services, "Overwrite payroll.csv", ALICE)
    assert stored.status is VersionStatus.PENDING_APPROVAL
    for path in Path(templates).glob("overwrite-payroll.v*.yaml"):
        path.unlink()
    now = opened(templates_dir=templates)
    assert approve(now, stored.plan_id, BOB).status is GateStatus.APPROVED
    events = _decision_events(now, stored.plan_id)
    assert len(events) == 2
    assert "changed since it was decided" in events[-1].payload["decided_again"]
    require_approved(now, stored.plan_id)
    assert len(_decision_events(now, stored.plan_id)) == 2
