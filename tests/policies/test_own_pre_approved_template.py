"""Who pre-approved a template cannot use it for a standard change of their own, on SQLite
and PostgreSQL.

A user holding analyst and approver (or admin) could save a pre-approved template, plan a
goal it matches and run the plan with nobody else involved. The template now records who
pre-approved it (``approved_by``, stamped when saved); a plan whose requester or author is
that person needs a normal approval, and a template with nobody on record makes no standard
change.
"""

from __future__ import annotations

import pytest
import yaml

from baton.usecases.approving import approve
from baton.usecases.deciding import decision_for, vet_version
from baton.usecases.gates import NotApprovedError, require_approved
from baton.usecases.plans import plan_goal
from baton.usecases.templates import add_template_file, save_plan_as_template
from executor.ledger import EventKind
from planner.versions import VersionStatus
from policies.approval import GateStatus
from tests.support.gate_services import (
    ALICE,
    BOB,
    EVE,
    ROOT,
    store_version,
)

TEMPLATE = {
    "name": "overwrite-payroll", "description": "Overwrite payroll.csv with a fixed line.",
    "pre_approved": True, "example_goals": ["Overwrite payroll.csv"],
    "patterns": ["overwrite {target}"], "params": [{"name": "target", "enum": ["payroll.csv"]}],
    "plan": {"steps": [{"id": "save", "tool": "files.write", "args": {
        "path": "{{target}}", "text": "pay eve 1000000", "overwrite": True}}]},
}
GOAL = "Overwrite payroll.csv"


@pytest.fixture
def opened(opened, tmp_path):
    """``opened()``: Services on the test's database and templates directory (a process
    started now reads the templates on disk now)."""
    return lambda: opened(templates_dir=tmp_path / "templates")


def _template_file(tmp_path, **changes):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({**TEMPLATE, **changes}))
    return path


def test_a_pre_approvers_own_plan_from_their_template_needs_another_approver(opened, tmp_path):
    services = opened()
    saved = add_template_file(services, _template_file(tmp_path), EVE)
    assert saved.approved_by == "eve"
    stored = plan_goal(services, GOAL, EVE)
    assert stored.status is VersionStatus.PENDING_APPROVAL
    decided = decision_for(services, stored.plan_id)
    assert decided.decision.approvals.count == 1
    assert any(note.startswith("not a standard change: eve pre-approved template "
                               "overwrite-payroll v1") for note in decided.decision.notes)
    with pytest.raises(NotApprovedError):
        require_approved(services, stored.plan_id)
    assert approve(services, stored.plan_id, BOB).status is GateStatus.APPROVED
    require_approved(services, stored.plan_id)


def test_someone_elses_plan_from_the_template_is_a_standard_change(opened, tmp_path):
    services = opened()
    add_template_file(services, _template_file(tmp_path), EVE)
    stored = plan_goal(services, GOAL, ALICE)
    assert stored.status is VersionStatus.APPROVED
    require_approved(services, stored.plan_id)


def test_an_approved_by_written_in_the_file_is_replaced_by_who_saves_it(opened, tmp_path):
    services = opened()
    saved = add_template_file(services, _template_file(tmp_path, approved_by="bob"), EVE)
    assert saved.approved_by == "eve"
    assert services.template_library.get("overwrite-payroll").approved_by == "eve"
    event = services.ledger.events(subject="template:overwrite-payroll",
                                   kinds=[EventKind.TEMPLATE_SAVED.value])[-1]
    assert event.payload["approved_by"] == "eve"
    assert plan_goal(services, GOAL, EVE).status is VersionStatus.PENDING_APPROVAL
    plain = add_template_file(services, _template_file(tmp_path, pre_approved=False,
                                                       approved_by="bob"), ALICE)
    assert plain.approved_by is None


def test_a_template_pre_approved_from_a_plan_records_who_marked_it(opened):
    services = opened()
    plan = {"goal": "overwrite payroll.csv", "steps": [{"id": "save", "tool": "files.write", "args": {
        "path": "payroll.csv", "text": "pay eve 1000000", "overwrite": True}}]}
    version = store_version(services, plan)
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    saved = save_plan_as_template(services, version.plan_id, name="payroll", actor=ROOT,
                                  params={"target": "payroll.csv"}, pre_approved=True,
                                  bounds={"target": _enum("payroll.csv")})
    assert saved.approved_by == "root"


def _enum(*values):
    from planner.templates import ParamBounds

    return ParamBounds(enum=values)


def test_a_template_with_nobody_on_record_makes_no_standard_change(opened, tmp_path):
    """Copied in by hand (never saved by `templates add`): fails closed, saying that alone."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "overwrite-payroll.v1.yaml").write_text(yaml.safe_dump({**TEMPLATE, "version": 1}))
    services = opened()
    assert services.template_library.get("overwrite-payroll").approved_by is None
    stored = plan_goal(services, GOAL, ALICE)
    assert stored.status is VersionStatus.PENDING_APPROVAL
    notes = decision_for(services, stored.plan_id).decision.notes
    assert any("overwrite-payroll v1 no longer counts: template overwrite-payroll v1 was not "
               "saved by `baton templates add`" in note for note in notes), notes
    assert not any("nobody is on record" in note for note in notes)  # one reason, the true one


def test_a_standard_change_decided_before_the_record_needs_approval_to_run(opened, tmp_path):
    """Upgrading: an approved standard change whose template has nobody on record is decided
    again when it is run, and needs an approver."""
    services = opened()
    add_template_file(services, _template_file(tmp_path), ROOT)
    stored = plan_goal(services, GOAL, ALICE)
    assert stored.status is VersionStatus.APPROVED
    [path] = (tmp_path / "templates").glob("overwrite-payroll.v1.yaml")
    document = yaml.safe_load(path.read_text())
    del document["approved_by"]
    path.write_text(yaml.safe_dump(document))  # as a template saved by an older release
    later = opened()
    with pytest.raises(NotApprovedError, match="needs 1 more approval"):
        require_approved(later, stored.plan_id)
    assert later.plan_store.get(stored.plan_id).status is VersionStatus.PENDING_APPROVAL
