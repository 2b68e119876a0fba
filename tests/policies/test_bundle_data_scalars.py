"""Policy data YAML reaches Rego as plans read YAML: YAML 1.2/JSON scalars, not YAML 1.1's."""

from __future__ import annotations

from policies.bundle import DATA_ROOT, PolicyBundle


def _data(tmp_path, text: str) -> dict:
    """The data document the engines are given for a bundle whose data.yaml is ``text``."""
    (tmp_path / "p.rego").write_text("package baton\nimport rego.v1\n")
    (tmp_path / "data.yaml").write_text(text)
    return PolicyBundle.load(tmp_path).data_document()[DATA_ROOT]


def test_yaml_1_1_forms_stay_the_text_written(tmp_path):
    # YAML 1.1 read 9:30 as 570 (base 60); 09:30 was text there too (no leading zero allowed).
    data = _data(tmp_path, "start: 9:30\nhours: 09:30\ncode: 017\nmask: 0x1F\n"
                           "enabled: yes\nswitch: off\n")
    assert data == {"start": "9:30", "hours": "09:30", "code": "017", "mask": "0x1F",
                    "enabled": "yes", "switch": "off"}


def test_a_date_stays_text_instead_of_breaking_the_bundle(tmp_path):
    # safe_load made it a date object, which the canonical JSON (and Rego) cannot hold.
    assert _data(tmp_path, "since: 2024-01-01\n") == {"since": "2024-01-01"}


def test_json_numbers_and_booleans_are_still_read_as_such(tmp_path):
    data = _data(tmp_path, "limit: 1e3\ncount: 12\nstrict: true\nnothing: null\n")
    assert data == {"limit": 1000.0, "count": 12, "strict": True, "nothing": None}
