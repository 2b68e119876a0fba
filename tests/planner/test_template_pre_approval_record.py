"""Whether a template file's pre-approval is on record, judged without I/O.

Found by review: a file written by hand into the templates directory with ``pre_approved:
true`` and ``approved_by: bob`` made standard changes bob never saw, and a pre-approved
template edited on disk (its bounds widened) kept making them. A template's pre-approval now
counts only when a ``template_saved`` event records that very version saved pre-approved,
with the SHA-256 of the very bytes its file holds now. The library keeps that digest of each
file it reads, and which files ship with Baton.
"""

from __future__ import annotations

import hashlib

import pytest

from planner.templates import (
    SHIPPED_DIR,
    PreApprovalState,
    SavedRecord,
    Template,
    TemplateLibrary,
    TemplateSource,
    pre_approval_of,
    saved_file_digest,
    template_yaml,
)

TEMPLATE = Template.model_validate({
    "name": "copy-pre", "pre_approved": True, "example_goals": ["Clone a.csv to b.csv"],
    "patterns": ["clone {source} to {target}"],
    "params": [{"name": "source", "pattern": r"^[a-z]{1,20}\.csv$"},
               {"name": "target", "pattern": r"^[a-z]{1,20}\.csv$"}],
    "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{source}}"}},
                       {"id": "save", "tool": "files.write",
                        "args": {"path": "{{target}}", "text": {"ref": "load.text"}}}]},
})
SAVED = TEMPLATE.model_copy(update={"approved_by": "dana"})
DIGEST = saved_file_digest(SAVED)
SOURCE = TemplateSource(path="/t/copy-pre.v1.yaml", sha256=DIGEST, shipped=False)


def _record(**changes: object) -> SavedRecord:
    fields = {"seq": 7, "version": 1, "pre_approved": True, "approved_by": "dana",
              "file_sha256": DIGEST}
    return SavedRecord.model_validate({**fields, **changes})


def test_a_saved_file_holds_the_bytes_its_digest_is_of(tmp_path):
    library = TemplateLibrary.load([tmp_path], writable_dir=tmp_path)
    saved, path = library.save(SAVED)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert saved_file_digest(saved) == digest
    assert library.source("copy-pre", 1) == TemplateSource(str(path), digest, shipped=False)


def test_the_library_keeps_the_digest_of_each_file_it_reads(tmp_path):
    path = tmp_path / "copy-pre.v1.yaml"
    path.write_text("# written by hand\n" + template_yaml(SAVED))
    source = TemplateLibrary.load([tmp_path]).source("copy-pre", 1)
    assert source is not None and not source.shipped
    assert source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != DIGEST


def test_the_shipped_templates_are_marked_as_shipped():
    library = TemplateLibrary.load([SHIPPED_DIR])
    source = library.source("csv-aggregate", 1)
    assert source is not None and source.shipped
    assert TemplateLibrary([TEMPLATE]).source("copy-pre", 1) is None  # in memory: no file


def test_a_version_saved_pre_approved_and_unchanged_is_on_record():
    found = pre_approval_of(SAVED, SOURCE, [_record(version=2, file_sha256="0" * 64), _record()])
    assert found.state is PreApprovalState.ON_RECORD
    assert (found.approved_by, found.problem, found.event_seq) == ("dana", None, 7)


def test_a_file_no_event_records_is_not_pre_approved_whatever_it_says():
    claimed = TEMPLATE.model_copy(update={"approved_by": "bob"})
    found = pre_approval_of(claimed, SOURCE._replace(sha256="1" * 64), [_record(version=2)])
    assert found.state is PreApprovalState.NOT_SAVED
    assert found.approved_by is None  # the file's own approved_by counts for nothing
    assert found.problem is not None
    assert found.problem.startswith(
        "template copy-pre v1 was not saved by `baton templates add`")


def test_a_file_changed_since_it_was_saved_is_not_pre_approved():
    found = pre_approval_of(SAVED, SOURCE._replace(sha256="1" * 64), [_record(seq=9)])
    assert found.state is PreApprovalState.CHANGED
    assert found.approved_by == "dana"  # who the ledger says pre-approved what was saved
    assert found.problem is not None
    assert found.problem.startswith("template copy-pre v1 changed on disk since it was saved")
    assert "event 9" in found.problem


def test_a_version_saved_before_digests_were_recorded_fails_closed():
    found = pre_approval_of(SAVED, SOURCE, [_record(file_sha256=None)])
    assert found.state is PreApprovalState.UNRECORDED_CONTENT
    assert found.approved_by == "dana"
    assert found.problem is not None and "re-save it" in found.problem


def test_a_template_in_memory_has_no_file_to_match_a_record():
    found = pre_approval_of(SAVED, None, [_record()])
    assert found.state is PreApprovalState.CHANGED


def test_a_shipped_template_names_nobody_and_asks_the_ledger_nothing():
    shipped = SOURCE._replace(shipped=True)
    found = pre_approval_of(SAVED, shipped, [_record()])
    assert found.state is PreApprovalState.SHIPPED
    assert (found.approved_by, found.problem) == (None, None)


@pytest.mark.parametrize("records", [[], [_record()]])
def test_a_template_not_marked_pre_approved_has_nothing_to_check(records):
    plain = TEMPLATE.model_copy(update={"pre_approved": False})
    found = pre_approval_of(plain, SOURCE, records)
    assert found.state is PreApprovalState.NONE
    assert (found.approved_by, found.problem) == (None, None)


class _Unread:
    """Records that fail the test if read: the ledger is asked only when it must be."""

    def __iter__(self):  # noqa: ANN204
        raise AssertionError("the ledger was read")


@pytest.mark.parametrize(("template", "source"), [
    (TEMPLATE.model_copy(update={"pre_approved": False}), SOURCE),
    (SAVED, SOURCE._replace(shipped=True)),
], ids=["not pre-approved", "shipped"])
def test_the_records_are_not_read_when_nothing_is_to_be_checked(template, source):
    assert pre_approval_of(template, source, _Unread()).problem is None
