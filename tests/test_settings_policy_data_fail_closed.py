"""Policy data the rules cannot use is refused when the policies load, never judged with.

Rego reads a missing key, or a value of another type (``x in "text"``), as undefined: a
rule of one's own ``s.tool in cfg.blocked_tools`` with ``blocked_tools`` set nowhere, or set
to ``"files.read"`` where the data file gives an array, denied nothing. A host pattern with
a port, scheme or path matched no host (a host_regions entry placed nothing in its region),
and ``approval.roles = []`` left write plans waiting for a role nobody can have.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings
from baton.settings_policy_data import policy_data_problems
from policies.approval import ApprovalRefused, _check_role
from policies.bundle import PolicyBundle, PolicyBundleError
from policies.contracts import ApprovalsNeeded, Decision
from policies.data_references import data_references, unset_references
from tests.support.custom_policies import own_bundle

USERS = '[users.alice]\nroles = ["analyst"]\n'
BLOCKED = ("package baton\n\nimport rego.v1\n\n# Rule: blocked tools are never used.\n"
           "deny contains msg if {\n\tsome s in input.steps\n\ts.tool in cfg.blocked_tools\n"
           '\tmsg := sprintf("step %s: tool %s is blocked", [s.id, s.tool])\n}\n')
SHIPPED_DATA = (Path(__file__).parents[1] / "policies" / "rego" / "data.yaml").read_text()


def _load(tmp_path: Path, toml: str, *, default: str | None = None):
    data = SHIPPED_DATA + (f"blocked_tools: {default}\n" if default is not None else "")
    own = own_bundle(tmp_path, {"custom.rego": BLOCKED}, data=data)
    (tmp_path / "baton.toml").write_text(f'policies_dir = "{own}"\n{USERS}{toml}')
    return load_settings(tmp_path / "baton.toml", environ={})


def _refused(tmp_path: Path, toml: str, *, default: str | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, toml, default=default)
    return str(info.value)


def test_a_key_a_custom_rule_reads_that_nothing_sets_is_refused_naming_file_line_key(tmp_path):
    said = _refused(tmp_path, "")
    assert "policies_dir:" in said and "custom.rego:8:" in said, said
    assert "cfg.blocked_tools" in said and "set nowhere" in said, said


@pytest.mark.parametrize("value, given", [('"files.read"', "a string"), ("5", "a number"),
                                          ("{x = 1}", "a table")])
def test_a_value_of_another_type_than_the_data_files_default_is_refused(tmp_path, value, given):
    said = _refused(tmp_path, f"[policy.data]\nblocked_tools = {value}\n", default="[]")
    assert f"policy.data.blocked_tools: is {given}, but" in said, said
    assert "gives it an array by default" in said and "data.yaml" in said, said
    assert "files.read" not in said  # values are never quoted


@pytest.mark.parametrize("toml, default", [
    ('[policy.data]\nblocked_tools = ["files.read"]\n', None),  # set, no default to compare
    ('[policy.data]\nblocked_tools = ["files.read"]\n', "[]"),
    ('[policy.data]\nblocked_tools = "files.read"\n', "null"),  # a null default takes any
    ("", "[]"),
])
def test_a_key_set_with_its_defaults_type_or_without_a_default_loads(tmp_path, toml, default):
    assert _load(tmp_path, toml, default=default).policy_data is not None


def test_an_integer_for_a_float_default_is_a_number_alike(tmp_path):
    rule = BLOCKED.replace("s.tool in cfg.blocked_tools", "count(input.steps) > cfg.most")
    own = own_bundle(tmp_path, {"custom.rego": rule}, data=SHIPPED_DATA + "most: 2.5\n")
    (tmp_path / "baton.toml").write_text(
        f'policies_dir = "{own}"\n{USERS}[policy.data]\nmost = 3\n')
    assert load_settings(tmp_path / "baton.toml", environ={}).policy_data == {"most": 3}


def test_the_engine_refuses_such_a_bundle_when_it_reads_the_policies_at_run_time(tmp_path):
    own = own_bundle(tmp_path, {"custom.rego": BLOCKED},
                     data=SHIPPED_DATA + "blocked_tools: []\n")
    PolicyBundle.load(own)  # the data file alone, as fixtures and checks read it
    with pytest.raises(PolicyBundleError, match="blocked_tools is a string, but"):
        PolicyBundle.load(own, overrides={"blocked_tools": "files.read"})
    (own / "data.yaml").write_text(SHIPPED_DATA)
    with pytest.raises(PolicyBundleError, match=r"custom\.rego:8: cfg\.blocked_tools"):
        PolicyBundle.load(own, overrides={})


def test_the_shipped_rules_read_only_keys_the_shipped_data_sets():
    bundle = PolicyBundle.load()
    keys = {ref.key for ref in data_references(bundle.modules)}
    assert {"approval", "risk", "limits", "host_regions", "egress_allowlist"} <= keys
    assert unset_references(bundle.modules, bundle.data) == []


COMMON = ("common.rego", "package baton\nimport rego.v1\ncfg := data.baton_config\n")


@pytest.mark.parametrize("body", [
    "x if cfg.k",
    "x if data.baton_config.k",
    'x if data.baton_config["k"]',
    "x if {\n\tc := data.baton_config\n\tc.k\n}",
    "x if {\n\tc := cfg\n\tc.k[_] == 1\n}",
    "import data.baton_config as conf\nx if conf.k",
    "import data.baton_config\nx if baton_config.k",
    "x if data.baton.cfg.k",
])
def test_reads_of_the_data_are_found_through_its_aliases(body):
    source = f"package baton\nimport rego.v1\n{body}\n"
    found = data_references((COMMON, ("mine.rego", source)))
    assert [(ref.file, ref.key) for ref in found] == [("mine.rego", "k")], found


@pytest.mark.parametrize("body", [
    'x if object.get(cfg, "k", [])',  # a default is given
    'x := "cfg.k data.baton_config.k"',
    "# cfg.k\nx := 1",
    "x if { some k, v in cfg; v == 1 }",
    "x if input.cfg.k",
])
def test_strings_comments_defaults_and_other_names_are_not_reads(body):
    source = f"package baton\nimport rego.v1\n{body}\n"
    assert data_references((COMMON, ("mine.rego", source))) == ()


@pytest.mark.parametrize("pattern, why", [
    ("db.eu.example.com:8443", "has a port"),
    ("*.eu.example.com:8443", "has a port"),
    ("https://db.eu.example.com", "has a scheme"),
    ("db.eu.example.com/rows", "has a path"),
    ("user@db.eu.example.com", "has user information"),
])
@pytest.mark.parametrize("place", ["egress_allowlist", "host_regions", "secret_destinations"])
def test_a_host_pattern_with_more_than_a_host_is_refused_naming_the_host(pattern, why, place):
    data = {"egress_allowlist": [pattern], "host_regions": {pattern: "eu"},
            "secret_destinations": {"HOOK_TOKEN": [pattern]}}[place]
    problems = policy_data_problems({place: data})
    assert len(problems) == 1, problems
    host = pattern.split("@")[-1].removeprefix("https://").split(":")[0].split("/")[0]
    assert why in problems[0][1] and f"write {host!r}" in problems[0][1], problems
    assert "would match no host" in problems[0][1]


def test_an_empty_approval_roles_is_refused(tmp_path):
    (tmp_path / "baton.toml").write_text(
        USERS + "[policy.data.approval]\nroles = []\ntwo_person_risk = 60\n")
    with pytest.raises(ConfigError, match=r"policy\.data\.approval\.roles: must name at least"):
        load_settings(tmp_path / "baton.toml", environ={})


def test_an_approval_no_role_may_give_is_said_so():
    decision = Decision(allow=True, approvals=ApprovalsNeeded(count=1, roles=()),
                        engine="embedded", bundle_hash="0" * 64)
    with pytest.raises(ApprovalRefused, match="names no role that may give it"):
        _check_role("bob", ["approver"], decision, "approve")


@pytest.mark.parametrize("pattern", ["[2001:db8::1", "api.example]"])
def test_a_host_pattern_with_a_bracket_left_open_is_refused_not_a_crash(pattern):
    problems = policy_data_problems({"egress_allowlist": [pattern],
                                     "host_regions": {pattern: "eu"}})
    assert len(problems) == 2 and all("would match no host" in why for _, why in problems)


def test_an_alias_in_one_rule_body_is_not_read_in_another():
    source = ("package baton\nimport rego.v1\n"
              "deny contains m if {\n\tc := data.baton_config\n\tsome s in input.steps\n"
              "\ts.tool in c.k\n\tm := s.id\n}\n"
              "deny contains m if {\n\tsome c in input.plan.steps\n\tc.why == \"\"\n"
              "\tm := c.id\n}\n")
    found = data_references((COMMON, ("mine.rego", source)))
    assert [(ref.file, ref.key, ref.line) for ref in found] == [("mine.rego", "k", 6)], found
