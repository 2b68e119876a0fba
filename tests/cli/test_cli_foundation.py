"""The foundation commands through the real entry point: tools, validate, schema, --version, --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton import __version__
from baton.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BUILTIN_TOOLS = {"files.list", "files.read", "files.write", "http.request", "json.query", "table.aggregate"}


def baton(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m baton`` as a user would run ``baton`` (same interpreter, same venv)."""
    return subprocess.run([sys.executable, "-m", "baton", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(autouse=True)
def _isolated(data_dir):
    """Every command runs in an empty directory: no baton.toml, no data of the developer's."""
    return data_dir


def test_version_and_help():
    version = baton("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"baton {__version__}"
    helped = baton("--help")
    assert helped.returncode == 0
    for command in ("tools", "validate", "schema"):
        assert command in helped.stdout


def test_console_script_is_installed_and_answers():
    script = Path(sys.executable).with_name("baton")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and __version__ in result.stdout


def test_tools_list_shows_every_builtin_tool_and_arg_dependent_effect():
    result = baton("tools", "list")
    assert result.returncode == 0, result.stderr
    for name in BUILTIN_TOOLS:
        assert name in result.stdout
    assert "read/write by args" in result.stdout


def test_tools_list_json_is_machine_readable():
    result = baton("tools", "list", "--json")
    assert result.returncode == 0, result.stderr
    tools = {t["name"]: t for t in json.loads(result.stdout)}
    assert BUILTIN_TOOLS <= set(tools)
    assert tools["files.write"]["effect"] == "write"
    assert tools["http.request"]["effect_depends_on_args"] is True
    assert "path" in tools["files.read"]["input_schema"]["properties"]


def test_tools_show_prints_schemas_effect_retry_and_timeout():
    result = baton("tools", "show", "files.read")
    assert result.returncode == 0, result.stderr
    for fragment in ("files.read", "effect:", "read", "retry:", "timeout:", "input schema",
                     "output schema", '"text"'):
        assert fragment in result.stdout


def test_tools_show_says_whether_the_tool_sends_the_key_and_if_its_args_set_the_timeout():
    shown = baton("tools", "show", "http.request")
    assert shown.returncode == 0, shown.stderr
    assert "sends key:   yes (Idempotency-Key)" in shown.stdout
    assert "timeout:     60s+ by args" in shown.stdout
    assert "sends key:   no" in baton("tools", "show", "files.read").stdout


def test_tools_show_json_round_trips_the_tool_info():
    result = baton("tools", "show", "table.aggregate", "--json")
    info = json.loads(result.stdout)
    assert info["name"] == "table.aggregate" and "retry" in info and "output_schema" in info


def test_tools_show_unknown_tool_fails_with_suggestions():
    result = baton("tools", "show", "file.read")
    assert result.returncode == 1
    assert "unknown tool" in result.stderr and "files.read" in result.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLES / "valid").iterdir()))
def test_every_valid_example_validates(name):
    result = baton("validate", str(EXAMPLES / "valid" / name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid plan" in result.stdout and "sha256:" in result.stdout and "order:" in result.stdout


@pytest.mark.parametrize("name, code", [
    ("unknown_tool.json", "unknown_tool"),
    ("cycle.json", "cycle"),
    ("bad_ref_field.json", "ref_unknown_field"),
    ("type_mismatch.yaml", "ref_type_mismatch"),
    ("typo_argument.json", "unknown_arg"),
    ("bad_ids_and_deps.yaml", "duplicate_id"),
    ("malformed.json", "malformed_document"),
    ("broken_secret_ref.json", "malformed_secret_ref"),
])
def test_every_invalid_example_fails_naming_its_problem(name, code):
    result = baton("validate", str(EXAMPLES / "invalid" / name))
    assert result.returncode == 1
    assert "invalid plan" in result.stdout and code in result.stdout


def test_validate_json_output_lists_every_problem():
    result = baton("validate", "--json", str(EXAMPLES / "invalid" / "typo_argument.json"))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    paths = {p["path"] for p in report["problems"]}
    assert {"$.steps[0].args.pth", "$.steps[1].args.colum", "$.steps[1].args.groupby",
            "$.steps[1].args.op"} <= paths


def test_validate_json_output_of_a_valid_plan_has_hash_and_order():
    result = baton("validate", "--json", str(EXAMPLES / "valid" / "sales_total.json"))
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] is True
    assert report["order"] == ["load", "total", "post"] and len(report["plan_hash"]) == 64


def test_validate_missing_file_is_a_usage_error():
    result = baton("validate", "no-such-plan.json")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_validate_respects_the_configured_step_limit(data_dir):
    (data_dir / "baton.toml").write_text("max_steps = 2\n")
    result = baton("validate", str(EXAMPLES / "valid" / "sales_total.json"))
    assert result.returncode == 1 and "too_many_steps" in result.stdout


def test_schema_plan_prints_the_plan_json_schema():
    result = baton("schema", "plan")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert set(schema["required"]) == {"goal", "steps"} and "Step" in schema["$defs"]


def test_cli_runner_validates_yaml_in_process():
    result = CliRunner().invoke(app, ["validate", str(EXAMPLES / "valid" / "region_report.yaml")])
    assert result.exit_code == 0, result.output
    assert "load → by_region → largest → summary → save" in result.output


def test_help_groups_commands_by_what_a_person_is_doing():
    from typer.testing import CliRunner

    from baton.cli.main import app

    text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"}).stdout
    panels = ["Start here", "Plan (analysts)", "Vet (approvers)", "Run", "Audit", "Set up and serve"]
    positions = [text.index(panel) for panel in panels[:4]]
    assert positions == sorted(positions)
    assert text.index("Vet (approvers)") < text.index("│ approve ") < text.index("─ Run ")


def test_a_database_that_fails_under_a_command_is_a_clear_error_not_a_traceback(tmp_path):
    import os
    import sqlite3

    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'broken.db'}"}

    def baton(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "baton", *args], capture_output=True,
                              text=True, timeout=120, env=env, check=False)

    first = baton("worker", "--once")  # a command that records creates the database
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(tmp_path / "broken.db") as conn:  # the schema is at head: not re-created
        conn.execute("DROP TABLE runs")
    broken = baton("runs", "list")
    assert broken.returncode == 1
    assert "error: the database's schema does not match this Baton's" in broken.stderr
    assert "no such table: runs" in broken.stderr
    assert "Traceback" not in broken.stderr
