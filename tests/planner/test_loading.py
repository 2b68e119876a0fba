"""Plan documents load as JSON values only: no NaN or Infinity, no YAML beyond what JSON can say."""

from __future__ import annotations

import pytest

from planner import ProblemCode, load_plan_document

STEP = "  - id: a\n    tool: http.post\n"


def refusal(text: str, filename: str | None = "p.yaml") -> str:
    value, problems = load_plan_document(text, filename=filename)
    assert value is None and len(problems) == 1, (value, problems)
    assert problems[0].code is ProblemCode.MALFORMED_DOCUMENT
    return problems[0].message


@pytest.mark.parametrize("literal", [".nan", ".NaN", "-.inf", ".Inf", "!!float nan", "1.0e+999"])
def test_yaml_nan_and_infinity_are_refused_with_their_line(literal):
    message = refusal(f"goal: g\nsteps:\n{STEP}    args: {{json: {{v: {literal}}}}}\n")
    assert "not a JSON number" in message and "line 5" in message


@pytest.mark.parametrize("text, filename", [
    ('{"goal": "g", "steps": [], "v": 1e400}', "p.json"),
    ('{"goal": "g", "steps": [], "v": -1e400}', None),
    ('{"goal": "g", "steps": [], "v": Infinity}', None),
    ('{"goal": "g", "steps": [], "v": NaN}', None),
])
def test_json_nan_and_infinity_are_refused_even_when_the_format_is_sniffed(text, filename):
    message = refusal(text, filename)
    assert "invalid JSON" in message and ("Infinity" in message or "NaN" in message)



@pytest.mark.parametrize("text, filename", [
    ('{"goal": "g", "steps": [], "v": ' + "7" * 5000 + "}", "p.json"),
    ('{"goal": "g", "steps": [], "v": -' + "7" * 5000 + "}", None),
    ("goal: g\nsteps: []\nv: " + "7" * 5000 + "\n", "p.yaml"),
])
def test_a_number_with_more_digits_than_python_reads_is_refused_not_a_crash(text, filename):
    assert "too many digits" in refusal(text, filename)


def test_a_long_number_python_can_read_still_loads():
    value, problems = load_plan_document('{"goal": "g", "steps": [], "v": ' + "7" * 4000 + "}",
                                         filename="p.json")
    assert problems == [] and value["v"] == int("7" * 4000)

@pytest.mark.parametrize("tagged, tag", [
    ("!!set {a, b}", "!!set"),
    ("!!binary aGVsbG8=", "!!binary"),
    ("!!omap [{a: 1}]", "!!omap"),
    ("!!python/tuple [1, 2]", "!!python/tuple"),
    ("!custom x", "!custom"),
])
def test_yaml_tags_beyond_json_types_are_refused_by_name_and_line(tagged, tag):
    message = refusal(f"goal: g\nsteps:\n{STEP}    args: {{json: {tagged}}}\n")
    assert f"tag {tag!r}" in message and "line 5" in message and "JSON values" in message


@pytest.mark.parametrize("key, shown, fix", [
    ("1", "1", "quote it ('1')"),
    ("true", "True", "quote it ('true')"),
    ("null", "None", "quote it ('null')"),
    ("[a]", "['a']", "use text as the key"),
])
def test_yaml_keys_that_are_not_text_are_refused(key, shown, fix):
    message = refusal(f"goal: g\nsteps:\n{STEP}    args:\n      {key}: v\n")
    assert f"key {shown}" in message and "line 6" in message and fix in message


def test_yaml_merge_keys_are_refused():
    assert "tag '!!merge'" in refusal("goal: g\nsteps: []\nx: {<<: {a: 1}}\n")


def test_yaml_anchors_and_aliases_are_refused_before_anything_expands():
    laughs = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        laughs.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]")
    message = refusal("\n".join(laughs) + "\n")
    assert "anchor" in message and "alias" in message and "line 1" in message


def test_a_yaml_anchor_without_an_alias_is_refused_too():
    assert "anchor" in refusal("goal: &g g\nsteps: []\n")


def test_yaml_with_plain_json_values_still_loads():
    text = ("goal: g\nsteps:\n" + STEP + "    args: {json: {n: 1, f: 1.5, t: true, z: null, "
            "s: '1', d: 2024-01-01, l: [1, x]}}\n")
    value, problems = load_plan_document(text, filename="p.yaml")
    assert problems == []
    assert value["steps"][0]["args"]["json"] == {
        "n": 1, "f": 1.5, "t": True, "z": None, "s": "1", "d": "2024-01-01", "l": [1, "x"]}


def test_yaml_1_1_scalars_stay_the_text_written_as_dates_do():
    text = ("goal: g\nsteps:\n" + STEP + "    args: {json: {at: 12:30, code: 017, hex: 0x1F, "
            "bin: 0b101, oct: 0o17, big: 1_000, half: .5, phone: +4412, y: yes, n: no, on: off, "
            "T: True, e: 1e3, neg: -2.5E-1}}\n")
    value, problems = load_plan_document(text, filename="p.yaml")
    assert problems == []
    assert value["steps"][0]["args"]["json"] == {
        "at": "12:30", "code": "017", "hex": "0x1F", "bin": "0b101", "oct": "0o17", "big": "1_000",
        "half": ".5", "phone": "+4412", "y": "yes", "n": "no", "on": "off", "T": True,
        "e": 1000.0, "neg": -0.25}


def test_yaml_keys_that_yaml_1_1_read_as_booleans_are_text():
    value, problems = load_plan_document("goal: g\nsteps: []\nyes: 1\non: 2\n", filename="p.yaml")
    assert problems == [] and value["yes"] == 1 and value["on"] == 2


@pytest.mark.parametrize("tagged, fragment", [
    ("!!int 0x1F", "not a JSON number"),
    ("!!int 12:30", "not a JSON number"),
    ("!!float 1_000.5", "not a JSON number"),
    ("!!bool yes", "not a JSON boolean"),
])
def test_explicit_tags_do_not_bring_yaml_1_1_forms_back(tagged, fragment):
    message = refusal(f"goal: g\nsteps:\n{STEP}    args: {{json: {{v: {tagged}}}}}\n")
    assert fragment in message and "line 5" in message


def test_without_libyaml_the_pure_python_loader_refuses_the_same(monkeypatch):
    import yaml

    from planner import loading

    monkeypatch.delattr(yaml, "CSafeLoader")
    loader = loading._yaml_loader.__wrapped__()
    assert yaml.load("goal: g\nn: [1, 2.5, 12:30, 017, yes]\n", Loader=loader) == {
        "goal": "g", "n": [1, 2.5, "12:30", "017", "yes"]}
    for text, fragment in [("a: &x 1\nb: *x\n", "anchors and aliases"), ("a: !!set {b}\n", "'!!set'"),
                           ("a: .nan\n", "not a JSON number"), ("1: a\n", "not text")]:
        with pytest.raises(loading._Refused, match=fragment):
            yaml.load(text, Loader=loader)
