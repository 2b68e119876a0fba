"""Template files read scalars as plans do: YAML 1.1's times, zero-padded codes and yes stay text."""

from __future__ import annotations

from planner.templates import read_new_template

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
