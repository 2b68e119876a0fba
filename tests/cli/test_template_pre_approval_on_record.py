"""A template's pre-approval counts only as the ledger records it, on SQLite and PostgreSQL.

Found by review: the library kept a template file's own ``pre_approved`` and ``approved_by``,
and nothing compared a file with its ``template_saved`` event. A file written by hand into
``.baton/templates`` saying ``pre_approved: true, approved_by: bob`` made alice's write plans
standard changes that ran with no approval (bob never saw it, the ledger held nothing), and a
template an admin saved pre-approved, then widened on disk, kept making standard changes with
the widened bounds. Now ``templates add`` records the SHA-256 of the file it saves, and a
template counts as pre-approved only while its file holds those very bytes; otherwise its
plans need the approvals a plan of their own would, and the decision says why.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from baton.cli.common import console
from baton.services import Services
from baton.settings import load_settings
from executor.ledger import EventKind
from executor.store.migrate import upgrade
from planner.templates import Template, template_yaml
from tests.support.cli_in_process import in_process_baton
from tests.support.gate_services import BACKENDS, database_url

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]

[users.bob]
roles = ["approver"]

[users.root]
roles = ["admin"]
"""
TEMPLATE = {
    "name": "copy-pre", "description": "Copy one CSV file to another.", "pre_approved": True,
    "example_goals": ["Clone a.csv to b.csv"], "patterns": ["clone {source} to {target}"],
    "params": [{"name": "source", "pattern": r"^[a-z]{1,20}\.csv$"},
               {"name": "target", "pattern": r"^[a-z]{1,20}\.csv$"}],
    "plan": {"steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "{{source}}"}},
        {"id": "save", "tool": "files.write",
         "args": {"path": "{{target}}", "text": {"ref": "load.text"}}}]},
}
NOT_SAVED = "template copy-pre v1 was not saved by `baton templates add`"
CHANGED = "template copy-pre v1 changed on disk since it was saved"


@pytest.fixture(params=BACKENDS)
def cli(request, tmp_path, monkeypatch, capsys):
    """``baton`` in-process in a fresh workspace, its database on each backend in turn."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "baton.toml").write_text(CONFIG)
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    with database_url(request.param, tmp_path) as url:
        monkeypatch.setenv("BATON_DATABASE_URL", url)
        with in_process_baton(capsys) as run:
            yield run


def _templates() -> Path:
    return Path(".baton") / "templates"


def _plan(cli, goal: str, user: str = "alice") -> dict:  # noqa: ANN001
    planned = cli("--as", user, "plan", "--json", goal)
    assert planned.stdout, planned.stderr
    return json.loads(planned.stdout)


def _notes(planned: dict) -> str:
    return "\n".join(planned["decision"]["notes"])


def _listed(cli) -> dict[str, dict]:  # noqa: ANN001
    listed = cli("templates", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {t["name"]: t for t in json.loads(listed.stdout)}


def _add(cli, document: dict, user: str = "root") -> None:  # noqa: ANN001
    Path("t.yaml").write_text(yaml.safe_dump(document))
    added = cli("--as", user, "templates", "add", "t.yaml")
    assert added.returncode == 0, added.stderr


def test_a_template_written_by_hand_is_never_a_standard_change(cli, monkeypatch):
    _templates().mkdir(parents=True)
    (_templates() / "copy-pre.v1.yaml").write_text(
        yaml.safe_dump({**TEMPLATE, "approved_by": "bob"}))
    planned = _plan(cli, "Clone a.csv to b.csv")
    assert planned["origin"]["name"] == "copy-pre"  # usable for planning
    assert planned["status"] == "pending_approval"
    assert NOT_SAVED in _notes(planned)
    assert "standard change: made from" not in _notes(planned)
    assert cli("--as", "alice", "run", planned["plan_id"]).returncode != 0
    assert not Path("ws/b.csv").exists()
    shown = _listed(cli)["copy-pre"]["pre_approval"]
    assert (shown["state"], shown["counts"], shown["approved_by"]) == ("not_saved", False, None)
    assert NOT_SAVED in " ".join(shown["problems"])
    monkeypatch.setattr(console, "_width", 200)
    table = cli("templates", "list").stdout
    assert "no: not saved by `baton templates add`" in table
    assert NOT_SAVED in cli("templates", "show", "copy-pre").stdout


def test_a_hand_written_template_added_by_an_admin_makes_standard_changes(cli):
    _templates().mkdir(parents=True)
    (_templates() / "copy-pre.v1.yaml").write_text(yaml.safe_dump(TEMPLATE))
    _add(cli, TEMPLATE)  # saved as v2, the one that matches
    planned = _plan(cli, "Clone a.csv to b.csv")
    assert planned["origin"]["version"] == 2
    assert planned["status"] == "approved"
    assert "standard change: made from pre-approved template copy-pre v2" in _notes(planned)
    shown = _listed(cli)["copy-pre"]["pre_approval"]
    assert (shown["state"], shown["counts"], shown["approved_by"]) == ("on_record", True, "root")
    assert "root" in cli("templates", "show", "copy-pre").stdout.splitlines()[0]


def test_a_pre_approved_template_edited_on_disk_makes_no_standard_change(cli):
    _add(cli, TEMPLATE)
    before = _plan(cli, "Clone a.csv to b.csv")
    assert before["status"] == "approved"  # a standard change while the file is as saved
    path = _templates() / "copy-pre.v1.yaml"
    document = yaml.safe_load(path.read_text())
    for param in document["params"]:
        param["pattern"] = r"^[^\s]{1,200}$"  # widened by hand
    path.write_text(yaml.safe_dump(document, sort_keys=False))

    widened = _plan(cli, "Clone a.csv to ../a.csv")
    assert widened["status"] == "pending_approval"
    assert CHANGED in _notes(widened)
    # The standard change decided before the edit is decided again before it runs.
    refused = cli("--as", "alice", "run", before["plan_id"])
    assert refused.returncode != 0
    assert CHANGED in " ".join(refused.stderr.split())
    assert not Path("ws/b.csv").exists()
    shown = _listed(cli)["copy-pre"]["pre_approval"]
    assert (shown["state"], shown["counts"], shown["approved_by"]) == ("changed", False, "root")


def test_a_template_put_back_as_it_was_saved_counts_again(cli):
    _add(cli, TEMPLATE)
    path = _templates() / "copy-pre.v1.yaml"
    saved = path.read_bytes()
    path.write_bytes(saved + b"# an edit\n")
    assert _plan(cli, "Clone a.csv to b.csv")["status"] == "pending_approval"
    path.write_bytes(saved)
    assert _plan(cli, "Clone a.csv to c.csv")["status"] == "approved"


def test_the_save_event_records_the_digest_of_the_file_it_saved(cli):
    _add(cli, TEMPLATE)
    audit = cli("audit", "show", "--subject", "template:copy-pre", "--json")
    assert audit.returncode == 0, audit.stderr
    [event] = [e for e in json.loads(audit.stdout) if e["kind"] == "template_saved"]
    digest = hashlib.sha256((_templates() / "copy-pre.v1.yaml").read_bytes()).hexdigest()
    assert event["payload"]["file_sha256"] == digest


def test_a_template_saved_before_digests_were_recorded_makes_no_standard_change(cli):
    """As an earlier Baton saved it: the file and an event without the file's digest."""
    services = Services(load_settings())
    upgrade(services.engine)
    _templates().mkdir(parents=True)
    path = _templates() / "copy-pre.v1.yaml"
    saved = {**TEMPLATE, "version": 1, "approved_by": "root"}
    path.write_text(template_yaml(Template.model_validate(saved)))
    services.ledger.append(EventKind.TEMPLATE_SAVED, "template:copy-pre", "root", {
        "name": "copy-pre", "version": 1, "pre_approved": True, "approved_by": "root",
        "source": "t.yaml", "file": str(path.resolve())})
    services.engine.dispose()
    planned = _plan(cli, "Clone a.csv to b.csv")
    assert planned["status"] == "pending_approval"
    assert "re-save it" in _notes(planned)
    shown = _listed(cli)["copy-pre"]["pre_approval"]
    assert (shown["state"], shown["counts"]) == ("unrecorded_content", False)


def test_the_shipped_pre_approved_template_is_shown_as_naming_nobody(cli):
    shown = _listed(cli)["csv-aggregate"]["pre_approval"]
    assert (shown["state"], shown["counts"], shown["approved_by"]) == ("shipped", False, None)
    planned = _plan(cli, "Show the sum of the total column of a.csv")
    assert planned["status"] == "approved"  # read-only: no approval needed either way
