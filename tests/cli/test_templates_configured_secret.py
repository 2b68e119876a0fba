"""A configured secret's value never gets into a stored template, nor out of one stored earlier.

Templates are read by everyone who may read templates and copied into every plan made
from them: `templates add` refuses one holding a secret's value, naming where and which
secret, never the value (as plans are refused). One stored before the secret was
configured is shown masked, and the plans made from it are refused like any plan holding
the value.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from tools.redaction import REDACTED

SECRET = "crm-SuperSecret-0042"
NOTE = {
    "name": "note-it",
    "description": "Write a note",
    "example_goals": ["Write the note to notes.txt"],
    "patterns": ["write the note to {path}"],
    "params": [{"name": "path", "pattern": "^[A-Za-z0-9.-]+$"},
               {"name": "text", "default": "hello", "description": "What the note says."}],
    "plan": {"steps": [{"id": "save", "tool": "files.write",
                        "args": {"path": "{{path}}", "text": "{{text}}"}}]},
}


def _note(change) -> dict:
    document = copy.deepcopy(NOTE)
    change(document)
    return document


# Each template is valid as written: only the secret's value makes it wrong.
IN_FILE = {
    "description": (lambda t: t.update(description=f"posts with {SECRET}"), "$.description"),
    "example goal": (lambda t: t["example_goals"].append(f"Write the note to {SECRET}"),
                     "$.example_goals[1]"),
    "pattern": (lambda t: t["patterns"].append(f"write the note [for {SECRET}] to {{path}}"),
                "$.patterns[1]"),
    "parameter default": (lambda t: t["params"][1].update(default=SECRET),
                          "$.params[1].default"),
    "parameter enum": (lambda t: t["params"][1].update(enum=["hello", SECRET]),
                       "$.params[1].enum[1]"),
    "parameter pattern": (lambda t: t["params"][0].update(pattern=f"^([a-z.]+|{SECRET})$"),
                          "$.params[0].pattern"),
    "parameter description": (lambda t: t["params"][1].update(description=SECRET),
                              "$.params[1].description"),
    "plan argument": (lambda t: t["plan"]["steps"][0]["args"].update(text=f"{{{{text}}}} {SECRET}"),
                      "$.plan.steps[0].args.text"),
}


@pytest.fixture
def configured(cli, data_dir):
    """The cli fixture's workspace with CRM_TOKEN configured as a secret."""
    _configure_secret(data_dir)
    return cli


def _configure_secret(data_dir) -> None:
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(config + f'\n[secrets]\nCRM_TOKEN = "{SECRET}"\n')


def _stored_text(data_dir) -> str:
    folder = data_dir / ".baton" / "templates"
    return "".join(path.read_text() for path in folder.glob("*")) if folder.is_dir() else ""


def _refused(result, path: str, data_dir, cli, name: str) -> None:
    """Exit 1, one line naming the path and the secret, never the value; nothing saved."""
    assert result.returncode == 1, result
    assert SECRET not in result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "not saved" in line, line
    assert f"{path}: holds the value of the configured secret CRM_TOKEN" in line, line
    assert SECRET not in _stored_text(data_dir)
    listed = json.loads(cli("templates", "list", "--json").stdout)
    assert name not in [t["name"] for t in listed]


@pytest.mark.parametrize(("change", "path"), IN_FILE.values(), ids=IN_FILE.keys())
def test_templates_add_file_refuses_a_secret_value_naming_where_it_is(configured, data_dir,
                                                                     change, path):
    (data_dir / "note.yaml").write_text(yaml.safe_dump(_note(change)))
    added = configured("--as", "alice", "templates", "add", "note.yaml")
    _refused(added, path, data_dir, configured, "note-it")


FROM_PLAN = {
    "description": (["--description", f"posts with {SECRET}"], "$.description"),
    "enum": (["--param", "target=b.csv", "--param-enum", f"target=b.csv,{SECRET}"],
             "$.params[0].enum[1]"),
    "pattern": (["--param", "target=b.csv", "--param-pattern", f"target=^(b\\.csv|{SECRET})$"],
                "$.params[0].pattern"),
}


@pytest.mark.parametrize(("options", "path"), FROM_PLAN.values(), ids=FROM_PLAN.keys())
def test_templates_add_from_plan_refuses_a_secret_value_naming_where_it_is(configured, plan_id,
                                                                          data_dir, options, path):
    added = configured("--as", "alice", "templates", "add", "--from-plan", plan_id,
                       "--name", "copy-export", *options)
    _refused(added, path, data_dir, configured, "copy-export")


def test_every_place_holding_the_value_is_named_once(configured, data_dir):
    def everywhere(t: dict) -> None:
        for change, _ in IN_FILE.values():
            change(t)

    (data_dir / "note.yaml").write_text(yaml.safe_dump(_note(everywhere)))
    added = configured("--as", "alice", "templates", "add", "note.yaml")
    assert added.returncode == 1 and SECRET not in added.stderr
    for _, path in IN_FILE.values():
        assert f"{path}: holds the value of the configured secret CRM_TOKEN" in added.stderr


def test_a_template_without_secret_values_is_still_saved(configured, data_dir):
    (data_dir / "note.yaml").write_text(yaml.safe_dump(NOTE))
    added = configured("--as", "alice", "templates", "add", "note.yaml")
    assert added.returncode == 0, added.stderr


@pytest.fixture
def stored_earlier(cli, data_dir) -> None:
    """note-it saved with the value everywhere, then the value configured as CRM_TOKEN."""
    def everywhere(t: dict) -> None:
        for change, _ in IN_FILE.values():
            change(t)

    (data_dir / "note.yaml").write_text(yaml.safe_dump(_note(everywhere)))
    added = cli("--as", "alice", "templates", "add", "note.yaml")
    assert added.returncode == 0, added.stderr
    assert SECRET in _stored_text(data_dir)
    _configure_secret(data_dir)


@pytest.mark.parametrize("argv", [
    ["templates", "show", "note-it"], ["templates", "show", "note-it", "--json"],
    ["templates", "show", "note-it", "--version", "1"],
    ["templates", "list"], ["templates", "list", "--json"],
], ids=["show", "show --json", "show --version", "list", "list --json"])
def test_a_template_stored_before_its_secret_was_configured_is_shown_masked(cli, stored_earlier,
                                                                           argv):
    shown = cli("--as", "dave", *argv)
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    if argv[0:2] != ["templates", "list"] or "--json" in argv:  # the table shows one goal
        assert REDACTED in shown.stdout, shown.stdout


def test_show_masks_every_field_and_keeps_the_rest(cli, stored_earlier):
    shown = json.loads(cli("templates", "show", "note-it", "--json").stdout)
    assert shown["description"] == f"posts with {REDACTED}"
    assert shown["example_goals"] == ["Write the note to notes.txt",
                                      f"Write the note to {REDACTED}"]
    assert shown["params"][1]["default"] == REDACTED
    assert shown["params"][1]["enum"] == ["hello", REDACTED]
    assert shown["plan"]["steps"][0]["args"] == {"path": "{{path}}",
                                                 "text": f"{{{{text}}}} {REDACTED}"}
    assert (shown["name"], shown["version"]) == ("note-it", 1)


@pytest.mark.parametrize("goal", ["Write the note to notes.txt", f"Write the note to {SECRET}"])
def test_a_plan_made_from_such_a_template_is_refused_like_any_plan_holding_the_value(
        cli, stored_earlier, data_dir, goal):
    planned = cli("--as", "alice", "plan", goal, "--planner", "template")
    assert planned.returncode == 1, planned
    assert SECRET not in planned.stdout + planned.stderr
    said = " ".join(planned.stderr.split())
    assert "configured_secret" in said and "CRM_TOKEN" in said, said
    [stored] = json.loads(cli("plans", "list", "--json").stdout)
    assert stored["status"] == "invalid"
    assert "configured_secret" in {problem["code"] for problem in stored["problems"]}
    assert SECRET not in json.dumps(stored)
    ran = cli("--as", "alice", "run", stored["plan_id"])
    assert ran.returncode != 0 and not (data_dir / "ws" / "notes.txt").exists()


def test_a_template_named_after_a_secret_value_is_refused_without_quoting_the_name(cli, data_dir):
    lower = "crm-lowercase-secret-0042"  # a value a template name can take
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(config + f'\n[secrets]\nCRM_LOWER = "{lower}"\n')
    (data_dir / "note.yaml").write_text(yaml.safe_dump({**NOTE, "name": lower}))
    added = cli("--as", "alice", "templates", "add", "note.yaml")
    assert added.returncode == 1, added
    assert lower not in added.stdout + added.stderr and lower not in _stored_text(data_dir)
    assert "$.name: holds the value of the configured secret CRM_LOWER" in added.stderr


def test_another_template_error_quoting_a_secret_value_says_it_masked(configured, data_dir):
    broken = _note(lambda t: t["params"][0].update(pattern=f"^({SECRET}"))  # not a regex
    (data_dir / "note.yaml").write_text(yaml.safe_dump(broken))
    added = configured("--as", "alice", "templates", "add", "note.yaml")
    assert added.returncode == 1, added
    assert "is not a valid regex" in added.stderr and REDACTED in added.stderr
    assert SECRET not in added.stdout + added.stderr
