"""Template files read scalars as plans do: YAML 1.1's times, zero-padded codes and yes stay text."""

from __future__ import annotations

from planner.templates import TemplateLibrary, load_template_file, read_new_template

TEMPLATE = """\
name: meet
description: Post the meeting time.
patterns: ["post the meeting time"]
plan:
  steps:
    - id: post
      tool: http.request
      args: {method: POST, url: "https://hooks.example.com/m",
             json: {at: 12:30, branch: 017, flags: 0x1F, ok: yes, day: 2024-01-01, n: 1e3}}
      why: post it
"""


def test_template_scalars_read_as_in_a_plan(tmp_path):
    path = tmp_path / "meet.yaml"
    path.write_text(TEMPLATE)
    template = read_new_template(path)
    args = template.to_document()["plan"]["steps"][0]["args"]
    assert args["json"] == {"at": "12:30", "branch": "017", "flags": "0x1F", "ok": "yes",
                            "day": "2024-01-01", "n": 1000.0}


def test_a_saved_template_reads_back_the_same_text(tmp_path):
    source = tmp_path / "meet.yaml"
    source.write_text(TEMPLATE.replace("n: 1e3", "n: '1e3', m: '-2E5', t: '12:30'"))
    library = TemplateLibrary(writable_dir=tmp_path / "library")
    saved, path = library.save(read_new_template(source))
    assert load_template_file(path) == saved
    args = saved.to_document()["plan"]["steps"][0]["args"]["json"]
    assert (args["n"], args["m"], args["t"]) == ("1e3", "-2E5", "12:30")
