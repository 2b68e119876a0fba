"""A secret inside a `[[tools.http]]` host name is read lower-cased by the policies (hosts are
compared in one spelling): every place that shows what they said masks it in that case too,
the gate's reasons and `policy input`/`policy eval` as well as the stored decision."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.cli_in_process import in_process_baton

HOST_SECRET = "Zk3x9QpLm2Vb7RtYw4Hs8Jd"
CONFIG = f"""
[users.alice]
roles = ["analyst"]

[secrets]
HOSTKEY = "{HOST_SECRET}"

[[tools.http]]
name = "ep.tunnel"
url = "http://{HOST_SECRET}.tunnels.example.net/hook"
method = "POST"
description = "a webhook whose host name is its secret"
input_schema = {{ type = "object", properties = {{ text = {{ type = "string" }} }} }}
"""
PLAN = {"goal": "t", "steps": [{"id": "post", "tool": "ep.tunnel", "args": {"text": "hi"}}]}


@pytest.fixture
def baton(data_dir, capsys):
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "plan.json").write_text(json.dumps(PLAN))
    with in_process_baton(capsys) as run:
        yield run


@pytest.mark.parametrize("command", [("plan", "--file"), ("policy", "input"), ("policy", "eval")])
def test_the_lower_cased_host_secret_is_masked(baton, data_dir, command):
    result = baton("--as", "alice", *command, str(data_dir / "plan.json"))
    shown = result.stdout + result.stderr
    assert "tunnels.example.net" in shown, shown  # the host was shown, masked
    for form in (HOST_SECRET, HOST_SECRET.lower()):
        assert form not in shown, (form, shown)


def test_the_api_dry_run_decision_masks_it_too(tmp_path):
    from baton.services import Services

    from tests.api.live import make_settings, serve, token_of

    settings = make_settings(tmp_path, secrets={"HOSTKEY": HOST_SECRET}, http_tools=[{
        "name": "ep.tunnel", "url": f"http://{HOST_SECRET}.tunnels.example.net/hook",
        "method": "POST", "description": "a webhook whose host name is its secret",
        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}}}])
    live = serve(Services(settings))
    try:
        response = httpx.post(f"{live.url}/api/v1/policy/decision", json={"document": PLAN},
                              headers={"Authorization": f"Bearer {token_of('alice')}"})
    finally:
        live.stop()
    assert response.status_code == 200, response.text
    assert "tunnels.example.net" in response.text
    assert HOST_SECRET.lower() not in response.text and HOST_SECRET not in response.text
