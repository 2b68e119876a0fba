"""``[policy.data]`` keys the shipped policies read must have the shape they read: exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings
from baton.settings_policy_data import SHAPES, policy_data_problems
from baton.usecases.demo_workspace import prepare_workspace
from policies.bundle import PolicyBundle

USERS = '[users.alice]\nroles = ["analyst"]\n'


def _load(tmp_path: Path, toml: str):
    (tmp_path / "baton.toml").write_text(USERS + toml)
    return load_settings(tmp_path / "baton.toml", environ={})


def test_the_shipped_data_has_the_shape_the_checks_ask_for():
    data = PolicyBundle.load().data
    assert set(SHAPES) == set(data)
    assert policy_data_problems(data) == []


def test_the_demo_workspaces_policy_data_passes(tmp_path):
    workspace = prepare_workspace(tmp_path / "demo")
    assert policy_data_problems(workspace.settings.policy_data) == []


def test_a_two_person_risk_written_as_a_string_is_a_configuration_error_exit_2(tmp_path):
    (tmp_path / "baton.toml").write_text(
        USERS + '[policy.data.approval]\nroles = ["approver", "admin"]\ntwo_person_risk = "60"\n')
    done = subprocess.run([sys.executable, "-m", "baton", "policy", "show"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("policy.data.approval.two_person_risk: must be a number, not a string"
            in done.stderr), done.stderr
    assert '"60"' not in done.stderr


@pytest.mark.parametrize("toml, message", [
    ('[policy.data]\negress_allowlist = "api.internal.example"\n',
     "policy.data.egress_allowlist: must be an array of strings, not a string"),
    ('[policy.data]\negress_allowlist = ["a.example", 3]\n',
     "policy.data.egress_allowlist[1]: must be a string, not a number"),
    ('[policy.data.approval]\nroles = "approver"\ntwo_person_risk = 60\n',
     "policy.data.approval.roles: must be an array of strings, not a string"),
    ('[policy.data.approval]\nroles = ["approver"]\ntwo_person_risk = true\n',
     "policy.data.approval.two_person_risk: must be a number, not true or false"),
    ('[policy.data.approval]\nroles = ["approver"]\ntwo_person_rsk = 60\n',
     "policy.data.approval.two_person_risk: is missing: [policy.data] replaces the shipped "
     "approval table whole"),
    ('[policy.data.limits]\nmax_steps = 50.5\nmax_write_steps = 10\n',
     "policy.data.limits.max_steps: must be a whole number, not a number"),
    ('[policy.data.batch_window]\nstart_hour = 20\nend_hour = 6\nweekends = "yes"\n',
     "policy.data.batch_window.weekends: must be true or false, not a string"),
    ('[policy.data.risk]\nper_step = 2\nwrite = 20\nlarge_plan_steps = 20\nlarge_plan = 15\n'
     '[policy.data.risk.tags]\negress = "15"\n',
     "policy.data.risk.tags.egress: must be a number, not a string"),
    ('[policy.data.role_tools]\nanalyst = "files.*"\n',
     "policy.data.role_tools.analyst: must be an array of strings, not a string"),
    ('[policy.data.secret_destinations]\nHOOK_TOKEN = "*.hooks.example.com"\n',
     "policy.data.secret_destinations.HOOK_TOKEN: must be an array of strings, not a string"),
    ('[policy.data.host_regions]\n"*.eu.example.com" = 1\n',
     'policy.data.host_regions."*.eu.example.com": must be a string, not a number'),
    ('[[policy.data.secret_patterns]]\nkind = "a token"\n',
     "policy.data.secret_patterns[0].pattern: is missing"),
    ('[policy.data]\nsensitive_value_min_entropy = "3"\n',
     "policy.data.sensitive_value_min_entropy: must be a number, not a string"),
])
def test_a_known_policy_data_key_of_the_wrong_shape_is_named_with_the_type_it_needs(
        tmp_path, toml, message):
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, toml)
    assert message in str(raised.value)


def test_keys_baton_does_not_know_are_left_to_ones_own_policies(tmp_path):
    settings = _load(tmp_path, '[policy.data]\nmy_threshold = "high"\n'
                               '[policy.data.limits]\nmax_steps = 5\nmax_write_steps = 1\n'
                               'max_exports = "two"\n')
    assert settings.policy_data["my_threshold"] == "high"
    assert settings.policy_data["limits"]["max_exports"] == "two"


@pytest.mark.parametrize("toml, key", [
    ('[policy.data.approval]\nroles = ["approver", "admin"]\ntwo_person_risk = inf\n',
     "policy.data.approval.two_person_risk"),
    ("[policy.data]\nsensitive_value_min_entropy = nan\n", "policy.data.sensitive_value_min_entropy"),
    ("[policy.data.my_limits]\nceilings = [1.5, -inf]\n", "policy.data.my_limits.ceilings[1]"),
])
def test_nan_or_infinity_anywhere_in_policy_data_is_a_configuration_error(tmp_path, toml, key):
    # Accepted, it reached the embedded engine as JSON it could not read: every plan was
    # denied, and rego-cpp printed the whole data document (secrets included) to stdout.
    with pytest.raises(ConfigError) as refused:
        _load(tmp_path, toml)
    assert f"{key}: must be a finite number" in str(refused.value)


def test_the_embedded_engine_given_such_data_fails_closed_printing_nothing(capfd):
    from policies.embedded import CompiledPolicies
    from policies.engine import EngineFailure

    bundle = PolicyBundle.load()
    data = {**bundle.data, "approval": {**bundle.data["approval"], "two_person_risk": float("inf")},
            "secret_destinations": {"CRM_TOKEN": ["very-private-host.example"]}}
    with pytest.raises(EngineFailure):
        CompiledPolicies(tuple(bundle.modules), data)
    out, err = capfd.readouterr()
    assert "very-private-host" not in out + err
