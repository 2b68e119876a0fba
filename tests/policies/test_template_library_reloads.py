"""A long-running process (``baton serve``, ``baton worker``) sees the templates directory as
it is now, on SQLite and PostgreSQL: a template withdrawn or edited while it runs ends the
standard change of its plans there too, and one added is planned from at once.

The library used to be read once per process: the server kept approving and running plans
of a withdrawn pre-approved template with no approver at all.
"""

from __future__ import annotations

import os

import pytest

from baton.usecases.gates import NotApprovedError, require_approved
from baton.usecases.plans import plan_goal
from planner.versions import VersionStatus
from tests.policies.test_decision_rests_on_its_template_check import _edit, standard_change_in
from tests.support.gate_services import ALICE


def test_a_template_withdrawn_while_the_process_runs_ends_its_standard_change(opened, tmp_path):
    templates = tmp_path / "templates"
    services = opened(templates_dir=templates)  # one process throughout, as a server is
    plan_id = standard_change_in(services, tmp_path)
    for path in templates.glob("overwrite-payroll.v*.yaml"):
        path.unlink()
    with pytest.raises(NotApprovedError, match="template"):
        require_approved(services, plan_id)
    assert "overwrite-payroll" not in services.template_library.names()


def test_a_template_edited_in_place_while_the_process_runs_is_read_again(opened, tmp_path):
    templates = tmp_path / "templates"
    services = opened(templates_dir=templates)
    plan_id = standard_change_in(services, tmp_path)
    path = templates / "overwrite-payroll.v1.yaml"
    stat = path.stat()
    _edit(templates, lambda document: document.update(pre_approved=False))
    # Its modification time put back (a copy keeping times, `touch -r`): the change time,
    # which no one can set, still tells.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(NotApprovedError, match="template"):
        require_approved(services, plan_id)


def test_a_template_added_by_another_process_is_planned_from_at_once(opened, tmp_path):
    templates = tmp_path / "templates"
    services = opened(templates_dir=templates)
    assert "overwrite-payroll" not in services.template_library.names()
    writer = opened(templates_dir=templates)  # `baton templates add` beside the server
    standard_change_in(writer, tmp_path)
    assert "overwrite-payroll" in services.template_library.names()
    stored = plan_goal(services, "Overwrite payroll.csv", ALICE)
    assert stored.status is VersionStatus.APPROVED


def test_an_unchanged_directory_is_not_read_again(opened, tmp_path):
    templates = tmp_path / "templates"
    services = opened(templates_dir=templates)
    standard_change_in(services, tmp_path)
    first = services.template_library
    assert services.template_library is first
