"""A template file's YAML is parsed once per distinct text; every load still reads the file."""

from __future__ import annotations

import os

import pytest
import yaml

from planner.templates import TemplateError, TemplateLibrary, load_template_file, read_new_template
from planner.loading import strict_yaml_loader
from planner.templates import loader
from tests.support.call_counts import counted_calls

TEXT = ('name: cached\npatterns: ["list the files"]\n'
        "plan: {steps: [{id: a, tool: files.list, args: {path: aaaa}}]}\n")


@pytest.fixture(autouse=True)
def cold_cache():
    loader._parsed_yaml.cache_clear()
    yield
    loader._parsed_yaml.cache_clear()


@pytest.fixture
def parses(monkeypatch):
    """How many times the template YAML has been parsed since the test began."""
    return counted_calls(monkeypatch, loader.yaml, "load")


def test_two_loads_of_the_same_text_parse_it_once(tmp_path, parses):
    path = tmp_path / "cached.v1.yaml"
    path.write_text(TEXT)
    first = load_template_file(path)
    second = load_template_file(path)
    assert first == second
    assert parses[0] == 1
    (tmp_path / "copy.yaml").write_text(TEXT)  # the same text in another file: no new parse
    assert read_new_template(tmp_path / "copy.yaml").name == "cached"
    assert parses[0] == 1


def test_a_file_rewritten_with_the_same_size_and_mtime_is_read_afresh(tmp_path, parses):
    path = tmp_path / "cached.v1.yaml"
    path.write_text(TEXT)
    assert load_template_file(path).plan["steps"][0]["args"] == {"path": "aaaa"}
    stamp = os.stat(path)
    changed = TEXT.replace("aaaa", "bbbb")
    assert len(changed) == len(TEXT)
    path.write_text(changed)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as if within one tick
    assert os.stat(path).st_size == stamp.st_size
    assert load_template_file(path).plan["steps"][0]["args"] == {"path": "bbbb"}
    assert parses[0] == 2


def test_a_mapping_changed_by_its_reader_does_not_change_the_next_load(tmp_path):
    path = tmp_path / "cached.v1.yaml"
    path.write_text(TEXT)
    data = loader._read_mapping(path)
    pristine = yaml.load(TEXT, Loader=strict_yaml_loader("template"))  # noqa: S506
    assert data == pristine
    data.pop("name")
    data["plan"]["steps"][0]["args"]["path"] = "changed"
    data["patterns"].append("more")
    assert loader._read_mapping(path) == pristine
    # read_new_template drops version and approved_by; load_template_file then still sees them.
    (tmp_path / "mine.yaml").write_text(TEXT + "version: 1\n")
    read_new_template(tmp_path / "mine.yaml")
    assert loader._read_mapping(tmp_path / "mine.yaml")["version"] == 1


@pytest.mark.parametrize(("text", "fragment"), [
    ('name: x\npatterns: &p ["x"]\nexample_goals: *p\nplan: {steps: []}\n',
     ": anchors and aliases (&p, *p) are not allowed in a template (line 2, column 11)"),
    ('name: x\npatterns: ["x"\n', ", line 3, column 1: not valid YAML ("),
])
def test_a_refused_file_is_refused_the_same_way_every_time(tmp_path, text, fragment):
    path = tmp_path / "x.v1.yaml"
    path.write_text(text)
    messages = []
    for _ in range(2):
        with pytest.raises(TemplateError) as caught:
            TemplateLibrary.load([tmp_path])
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{path}{fragment}")


def test_the_cache_is_bounded():
    assert loader._parsed_yaml.cache_info().maxsize == 256
