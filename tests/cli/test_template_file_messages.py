"""`baton templates add` and `baton plan` name what is wrong with a template file.

An example goal its own patterns miss is said as such (not as the planner's "no
template matches … nearest: t-bad (1.00)"), and a malformed YAML file in
templates_dir is one line naming the file, the line and the column. That file fails
every plan rather than being skipped: skipping a broken newer version would quietly
plan with the older one it replaces.
"""

from __future__ import annotations


def _one_error_line(result) -> str:
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    return line


def test_an_example_goal_its_own_patterns_miss_is_named_as_such(cli, data_dir):
    (data_dir / "t-bad.yaml").write_text(
        "name: t-bad\nexample_goals: ['Read the notes file']\npatterns: ['read {path} now']\n"
        "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
        "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")
    refused = cli("--as", "alice", "templates", "add", "t-bad.yaml")
    assert refused.returncode == 1, refused
    line = _one_error_line(refused)
    assert ("example goal 'Read the notes file' does not match the template's own pattern "
            "'read {path} now'") in line
    assert "nearest" not in line and "no template matches" not in line


def test_an_example_goal_whose_value_breaks_a_bound_names_the_bound(cli, data_dir):
    (data_dir / "t-bad.yaml").write_text(
        "name: t-bad\nexample_goals: ['Read Notes.TXT']\npatterns: ['read {path}']\n"
        "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
        "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")
    refused = cli("--as", "alice", "templates", "add", "t-bad.yaml")
    assert refused.returncode == 1, refused
    line = _one_error_line(refused)
    assert "example goal 'Read Notes.TXT' fits the wording of template t-bad but" in line
    assert "path: 'Notes.TXT' does not match ^[a-z.]+$" in line


def test_a_malformed_yaml_file_in_templates_dir_is_one_line_naming_file_and_line(cli, data_dir):
    templates = data_dir / ".baton" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    broken = templates / "broken.v1.yaml"
    broken.write_text('name: broken\npatterns: [\n  - "x {a}"\n')
    result = cli("--as", "alice", "plan", "Copy a.csv to b.csv")
    assert result.returncode == 1, result
    line = _one_error_line(result)
    assert f"{broken}, line 3, column 3: not valid YAML" in line
    assert "fix or remove the file" in line


def test_an_example_goal_none_of_several_patterns_match_lists_them(cli, data_dir):
    (data_dir / "t-bad.yaml").write_text(
        "name: t-bad\nexample_goals: ['Read the notes file']\n"
        "patterns: ['read {path} now', 'open {path}']\n"
        "params: [{name: path, pattern: '^[a-z.]+$'}]\n"
        "plan: {steps: [{id: load, tool: files.read, args: {path: '{{path}}'}}]}\n")
    refused = cli("--as", "alice", "templates", "add", "t-bad.yaml")
    assert refused.returncode == 1, refused
    assert ("example goal 'Read the notes file' matches none of the template's own patterns: "
            "'read {path} now', 'open {path}'") in _one_error_line(refused)
