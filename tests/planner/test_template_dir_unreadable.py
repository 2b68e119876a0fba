"""A templates directory that cannot be read fails every plan, naming it; it is never empty.

``Path.glob`` answered a directory without read permission with no files, so a stricter
newer version there was skipped and the older, looser one it replaces planned the goal
(a reviewer's ``chmod 000 .baton/templates``: copy-file v2 refused the target, v1 took it).
"""

from __future__ import annotations

import sys

import pytest

from baton.services import Services
from baton.settings import Settings
from baton.usecases.demo_workspace import prepare_workspace
from planner.templates import SHIPPED_DIR, TemplateError, TemplateLibrary
from planner.templates.freshness import directory_marks
from tests.support.unreadable_dirs import (
    mode,
    python_where_modes_bind,
    refuse_listing,
    refuse_stat,
    run_where_modes_bind,
)

GOAL = "Copy sales.csv to secrets.csv"


def _stricter_copy_file(templates) -> None:
    """copy-file v2: the shipped v1 with a target that must be backup/NAME.csv."""
    shipped = (SHIPPED_DIR / "copy-file.v1.yaml").read_text(encoding="utf-8")
    loose = "    pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$'\n"
    assert shipped.count(loose) == 2
    head, _, tail = shipped.rpartition(loose)
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "copy-file.v2.yaml").write_text(
        f"{head}    pattern: '^backup/[a-z]+\\.csv$'\n{tail}", encoding="utf-8")


def _refused_for_the_directory(exc: pytest.ExceptionInfo, directory) -> None:
    message = exc.value.message
    assert f"cannot read templates directory {directory}" in message, message
    assert "Permission denied" in message, message


def test_a_templates_dir_that_cannot_be_listed_is_an_error_naming_it(tmp_path, monkeypatch):
    _stricter_copy_file(tmp_path)
    refuse_listing(monkeypatch, tmp_path)
    with pytest.raises(TemplateError) as refused:
        TemplateLibrary.load([SHIPPED_DIR, tmp_path])
    _refused_for_the_directory(refused, tmp_path)


def test_a_templates_dir_under_a_parent_that_cannot_be_searched_is_an_error(tmp_path,
                                                                          monkeypatch):
    templates = tmp_path / "templates"
    _stricter_copy_file(templates)
    refuse_stat(monkeypatch, templates)  # Path.is_dir said "no directory" on Python 3.13
    with pytest.raises(TemplateError) as refused:
        TemplateLibrary.load([SHIPPED_DIR, templates])
    _refused_for_the_directory(refused, templates)
    with pytest.raises(TemplateError):
        directory_marks([SHIPPED_DIR, templates])


def test_a_templates_dir_that_does_not_exist_is_still_empty(tmp_path):
    library = TemplateLibrary.load([SHIPPED_DIR, tmp_path / "none", tmp_path / "f" / "x"])
    assert library.get("copy-file").version == 1
    assert directory_marks([tmp_path / "none"]) == ((str(tmp_path / "none"), ()),)


def test_the_marks_of_a_dir_that_cannot_be_listed_are_an_error_not_an_empty_dir(tmp_path,
                                                                              monkeypatch):
    _stricter_copy_file(tmp_path)
    refuse_listing(monkeypatch, tmp_path)
    with pytest.raises(TemplateError) as refused:
        directory_marks([SHIPPED_DIR, tmp_path])
    _refused_for_the_directory(refused, tmp_path)


def test_a_library_read_before_its_dir_became_unreadable_is_not_used_again(tmp_path,
                                                                         monkeypatch):
    """A server read the stricter v2; the directory then cannot be read: no plan, not v1."""
    templates = tmp_path / "templates"
    _stricter_copy_file(templates)
    services = Services(Settings(data_dir=tmp_path / ".baton", templates_dir=templates))
    assert services.template_library.get("copy-file").version == 2
    refuse_listing(monkeypatch, templates)
    for _ in range(2):  # and not cached as an empty directory by the first refusal
        with pytest.raises(TemplateError) as refused:
            services.template_library  # noqa: B018 - the property raises
        _refused_for_the_directory(refused, templates.resolve())


def test_a_chmod_000_templates_dir_fails_the_plan_instead_of_planning_with_v1(tmp_path):
    """The reviewer's reproduction, with the modes binding as they do for any user."""
    workspace = prepare_workspace(tmp_path / "demo").root
    templates = workspace / ".baton" / "templates"
    _stricter_copy_file(templates)
    assert TemplateLibrary.load([SHIPPED_DIR, templates]).get("copy-file").version == 2
    with mode(templates, 0o000):
        planned = run_where_modes_bind(sys.executable, "-m", "baton", "--as", "alice", "plan",
                                       GOAL, cwd=workspace)
    assert planned.returncode == 1, (planned.stdout, planned.stderr)
    assert f"cannot read templates directory {templates}: Permission denied" in planned.stderr
    assert "copy-file" not in planned.stdout + planned.stderr


_LOAD = """
import sys
from pathlib import Path
from planner.templates import SHIPPED_DIR, TemplateError, TemplateLibrary
from planner.templates.freshness import directory_marks
for directory in map(Path, sys.argv[1:]):
    for read in (lambda: TemplateLibrary.load([SHIPPED_DIR, directory]).get("copy-file").version,
                 lambda: len(directory_marks([SHIPPED_DIR, directory])[1][1])):
        try:
            print(directory.name, read())
        except TemplateError as exc:
            print(directory.name, "refused:", exc.message)
"""


def test_what_load_and_marks_make_of_each_mode_of_the_dir(tmp_path):
    """No read permission: the directory is refused. Read but no search: its file is.
    An unreadable folder inside it: nothing changes, templates are never read from one."""
    for name in ("none", "search-only", "write-search", "read-only", "sub"):
        _stricter_copy_file(tmp_path / name)
    (tmp_path / "sub" / "old").mkdir()
    (tmp_path / "sub" / "old" / "copy-file.v3.yaml").write_text("not: [a template", "utf-8")
    with (mode(tmp_path / "none", 0o000), mode(tmp_path / "search-only", 0o111),
          mode(tmp_path / "write-search", 0o333), mode(tmp_path / "read-only", 0o444),
          mode(tmp_path / "sub" / "old", 0o000)):
        done = python_where_modes_bind(_LOAD, args=[str(p) for p in sorted(tmp_path.iterdir())])
    assert done.returncode == 0, done.stderr
    said: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        name, _, what = line.partition(" ")
        said.setdefault(name, []).append(what)
    for name in ("none", "search-only", "write-search"):
        assert said[name] == [f"refused: cannot read templates directory {tmp_path / name}: "
                              "Permission denied; fix or remove it (every "
                              "template is read to plan)"] * 2, said[name]
    file = tmp_path / "read-only" / "copy-file.v2.yaml"
    assert [what.split(": cannot read template:")[0] for what in said["read-only"]] == [
        f"refused: {file}"] * 2, said["read-only"]
    assert said["sub"] == ["2", "1"]
