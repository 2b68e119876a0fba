"""Whether a template file's pre-approval is on record, decided without I/O.

A pre-approved template turns plans into standard changes that run with no approver, so what
a file says about itself counts for nothing: anyone who can write the templates directory can
write ``pre_approved: true, approved_by: bob``, or widen a saved template's bounds. Only
``baton templates add`` may pre-approve (it checks the saver's role), and it records each save
in the ledger (``template_saved``) with the SHA-256 of the bytes it wrote. A template's
pre-approval counts only while its file holds those very bytes: :func:`pre_approval_of`
compares the file's digest (:class:`TemplateSource`, kept by the library as it reads each
file) with what the ledger recorded for that name and version (:class:`SavedRecord`).

Templates shipped with Baton are never saved by ``templates add``: they name nobody as their
pre-approver, so they make no standard change (the policies require one), whatever the file
says.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from .model import Template


def file_digest(data: bytes) -> str:
    """The SHA-256 (hex) of a template file's bytes, as a ``template_saved`` event records it."""
    return hashlib.sha256(data).hexdigest()


class TemplateSource(NamedTuple):
    """Where the library read a template version from."""

    path: str
    """The file."""
    sha256: str | None
    """:func:`file_digest` of the bytes read (None: never read from a file)."""
    shipped: bool
    """Read from the templates Baton ships (``SHIPPED_DIR``)."""


class SavedRecord(BaseModel):
    """What one ``template_saved`` event says about the version it saved."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(description="The event's place in the ledger.")
    version: int = Field(description="The version saved.")
    pre_approved: bool = Field(description="Saved pre-approved.")
    approved_by: str | None = Field(default=None, description="Who saved it pre-approved.")
    file_sha256: str | None = Field(
        default=None, description="SHA-256 of the file saved; None in events recorded before "
        "Baton recorded it.")


class PreApprovalState(str, enum.Enum):
    """Where a template version's pre-approval stands with the ledger."""

    NONE = "none"
    """The file does not mark it pre-approved: nothing to check."""
    ON_RECORD = "on_record"
    """Saved pre-approved by ``templates add``, and its file holds what was saved."""
    SHIPPED = "shipped"
    """Ships with Baton: nobody pre-approved it, so it makes no standard change."""
    NOT_SAVED = "not_saved"
    """No ``template_saved`` event records this version: put there by other means."""
    CHANGED = "changed"
    """Its file no longer holds what its ``template_saved`` event recorded."""
    UNRECORDED_CONTENT = "unrecorded_content"
    """Saved by an earlier Baton, which recorded no digest: it cannot be told unchanged."""


class PreApproval(BaseModel):
    """Whether a template version's pre-approval is on record, and who gave it."""

    model_config = ConfigDict(frozen=True)

    state: PreApprovalState = Field(description="Where it stands with the ledger.")
    approved_by: str | None = Field(
        default=None, description="Who saved it pre-approved, as the ledger records it (never "
        "the file's own claim); None: nobody on record.")
    problem: str | None = Field(
        default=None, description="Why the file's pre-approval does not count; None when it "
        "is on record, when there is none, or for a shipped template.")
    event_seq: int | None = Field(
        default=None, description="The template_saved event judged by, when there is one.")

    @property
    def on_record(self) -> bool:
        """Saved pre-approved and unchanged since (whether its giver may still give it is
        judged with the settings, by the caller)."""
        return self.state is PreApprovalState.ON_RECORD


def pre_approval_of(template: Template, source: TemplateSource | None,
                    records: Iterable[SavedRecord]) -> PreApproval:
    """Whether ``template``'s pre-approval is on record, given where the library read it and
    the ``template_saved`` records of its name (any versions, any order).

    ``records`` is iterated only for a template that says it is pre-approved and does not ship
    with Baton: a lazy reader of the ledger is asked nothing for the others.
    """
    if not template.pre_approved:
        return PreApproval(state=PreApprovalState.NONE)
    if source is not None and source.shipped:
        return PreApproval(state=PreApprovalState.SHIPPED)
    name = f"template {template.name} v{template.version}"
    mine = sorted((r for r in records if r.version == template.version), key=lambda r: r.seq)
    if not mine:
        return PreApproval(state=PreApprovalState.NOT_SAVED, problem=(
            f"{name} was not saved by `baton templates add`: no template_saved event in the "
            "ledger records it, and a file's own pre_approved and approved_by count for "
            "nothing"))
    digest = source.sha256 if source is not None else None
    matching = [r for r in mine if digest is not None and r.file_sha256 == digest]
    if matching:
        record = matching[-1]
        return PreApproval(state=PreApprovalState.ON_RECORD, event_seq=record.seq,
                           approved_by=record.approved_by if record.pre_approved else None)
    latest = mine[-1]
    approved_by = latest.approved_by if latest.pre_approved else None
    if all(r.file_sha256 is None for r in mine):
        return PreApproval(state=PreApprovalState.UNRECORDED_CONTENT, approved_by=approved_by,
                           event_seq=latest.seq, problem=(
                               f"{name} was saved by an earlier Baton, which did not record its "
                               f"file's contents (ledger event {latest.seq}), so the file cannot "
                               "be told unchanged since; re-save it with `baton templates add "
                               "FILE` as a user who may pre-approve it"))
    return PreApproval(state=PreApprovalState.CHANGED, approved_by=approved_by,
                       event_seq=latest.seq, problem=(
                           f"{name} changed on disk since it was saved: its file no longer "
                           f"holds what ledger event {latest.seq} (template_saved) recorded; "
                           "put the saved file back, or save the change with `baton templates "
                           "add FILE` as a user who may pre-approve it"))
