"""HTTP endpoints registered as tools from a description, called against a real local server."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from baton.services import Services
from baton.settings import load_settings
from tests.support import Reply
from tools import Effect, ToolContext, ToolDefinitionError, ToolError, ToolRegistry
from tools.http_endpoint import load_http_tools, register_http_tool

LOOKUP_SCHEMA = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "string", "description": "The customer's id.", "minLength": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
        "status": {"enum": ["open", "closed"]},
        "json": {"type": "boolean", "description": "A name that shadows a pydantic attribute."},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["customer_id"],
}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"score": {"type": "number"}, "flags": {"type": "array"}},
    "required": ["score"],
}


def invoke(registry: ToolRegistry, name: str, args: dict, **context) -> dict:
    ctx = ToolContext(idempotency_key=context.pop("key", "run-step"), **context)
    return asyncio.run(registry.get(name).invoke(args, ctx))


def test_post_endpoint_sends_args_as_json_and_validates_output(http_server):
    http_server.script("/score", Reply(body={"score": 0.7, "flags": ["x"], "extra": 1}))
    registry = ToolRegistry()
    spec = register_http_tool(
        registry, name="risk.score", url=http_server.url("/score"), method="POST",
        description="Score a customer's risk.", input_schema=LOOKUP_SCHEMA,
        output_schema=OUTPUT_SCHEMA, secrets=["RISK_KEY"],
        headers={"X-Api-Key": "${secret:RISK_KEY}"}, timeout_s=5, tags=["risk"],
    )
    out = invoke(registry, "risk.score", {"customer_id": "c1", "json": True, "labels": ["a"]},
                 key="k-42", secrets={"RISK_KEY": "abc"})
    assert out["score"] == 0.7 and out["flags"] == ["x"]
    [request] = http_server.requests("/score")
    assert request.json() == {"customer_id": "c1", "json": True, "labels": ["a"]}
    assert request.idempotency_key == "k-42"
    assert spec.sends_idempotency_key and spec.info().sends_idempotency_key  # as it does
    assert request.headers["x-api-key"] == "abc"
    assert spec.effect_of({}) is Effect.WRITE and spec.secrets == ("RISK_KEY",)
    assert spec.tags == ("egress", "network", "risk") and spec.timeout_s == 5


def test_schema_is_exported_with_descriptions_bounds_and_required(http_server):
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url=http_server.url("/c"), method="GET",
                       description="Look up a customer.", input_schema=LOOKUP_SCHEMA)
    info = registry.get("crm.lookup").info()
    props = info.input_schema["properties"]
    assert info.description == "Look up a customer."
    assert info.input_schema["required"] == ["customer_id"]
    assert info.input_schema["additionalProperties"] is False
    assert props["customer_id"]["description"] == "The customer's id."
    assert props["limit"]["maximum"] == 50 and props["limit"]["default"] == 10
    assert "json" in props and "labels" in props
    assert info.effect is Effect.READ
    assert "status" in info.output_schema["properties"]  # raw HttpResponse without output_schema


def test_get_endpoint_sends_args_as_query(http_server):
    http_server.script("/c", Reply(body={"name": "Ada"}))
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url=http_server.url("/c"), method="GET",
                       description="Look up a customer.", input_schema=LOOKUP_SCHEMA)
    out = invoke(registry, "crm.lookup", {"customer_id": "c9", "limit": 3})
    assert out["json"] == {"name": "Ada"}
    assert http_server.requests("/c")[0].query == {"customer_id": ["c9"], "limit": ["3"]}


def test_arguments_are_checked_against_the_schema(http_server):
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.lookup", url=http_server.url("/c"), method="GET",
                       description="Look up a customer.", input_schema=LOOKUP_SCHEMA)
    for bad in ({}, {"customer_id": "c", "limit": 99}, {"customer_id": "c", "status": "odd"},
                {"customer_id": "c", "typo": 1}):
        with pytest.raises(ValidationError):
            invoke(registry, "crm.lookup", bad)
    assert http_server.count() == 0


def test_output_not_matching_the_schema_is_a_final_error(http_server):
    http_server.script("/score", Reply(body={"unexpected": True}))
    registry = ToolRegistry()
    register_http_tool(registry, name="risk.score", url=http_server.url("/score"),
                       description="Score.", input_schema=LOOKUP_SCHEMA,
                       output_schema=OUTPUT_SCHEMA)
    with pytest.raises(ToolError, match="output_schema") as caught:
        invoke(registry, "risk.score", {"customer_id": "c"})
    assert not caught.value.retryable


def test_endpoint_errors_map_like_http_request(http_server):
    http_server.script("/score", Reply(status=503, headers={"Retry-After": "3"}))
    registry = ToolRegistry()
    register_http_tool(registry, name="risk.score", url=http_server.url("/score"),
                       description="Score.", input_schema=LOOKUP_SCHEMA)
    with pytest.raises(ToolError) as caught:
        invoke(registry, "risk.score", {"customer_id": "c"})
    assert caught.value.retryable and caught.value.retry_after_s == 3


def test_bad_description_reports_every_problem_naming_the_tool():
    schema = {"type": "object", "required": ["a", "ghost"],
              "properties": {"a": {"type": "strin"}, "b": {"anyOf": [{"type": "string"}]}}}
    with pytest.raises(ToolDefinitionError) as caught:
        register_http_tool(ToolRegistry(), name="bad.tool", url="http://127.0.0.1/",
                           description="Bad.", input_schema=schema)
    text = str(caught.value)
    assert "bad.tool" in text and "'ghost'" in text and "'strin'" in text and "anyOf" in text


def test_header_secret_must_be_declared():
    with pytest.raises(ToolDefinitionError, match="'TOKEN', which is not listed in secrets"):
        register_http_tool(ToolRegistry(), name="x.y", url="http://127.0.0.1/",
                           description="X.", headers={"Authorization": "Bearer ${secret:TOKEN}"})


def test_a_fixed_header_value_no_request_can_carry_is_refused_naming_the_header():
    with pytest.raises(ToolDefinitionError, match="header 'X-Org' holds a line break") as caught:
        register_http_tool(ToolRegistry(), name="x.y", url="http://127.0.0.1/", description="X.",
                           secrets=["T"], headers={"X-Org": "acme-4711\n",
                                                   "Authorization": "Bearer ${secret:T}"})
    assert "acme-4711" not in str(caught.value) and "Authorization" not in str(caught.value)


def test_load_http_tools_names_the_bad_table():
    specs = [{"name": "ok.tool", "url": "http://127.0.0.1/", "description": "Fine."},
             {"name": "bad.tool", "url": "ftp://x", "description": "Bad.", "colour": "red"}]
    registry = ToolRegistry()
    with pytest.raises(ToolDefinitionError) as caught:
        load_http_tools(registry, specs)
    assert "tools.http[1] (bad.tool)" in str(caught.value)
    assert "url" in str(caught.value) and "colour" in str(caught.value)


def test_baton_toml_tools_http_tables_reach_the_registry(data_dir, http_server):
    (data_dir / "baton.toml").write_text(f'''
[[tools.http]]
name = "crm.lookup"
url = "{http_server.url('/c')}"
method = "GET"
description = "Look up a customer."
input_schema = {{ type = "object", properties = {{ id = {{ type = "string" }} }}, required = ["id"] }}
''')
    settings = load_settings()
    assert settings.http_tools[0]["name"] == "crm.lookup"
    registry = Services(settings).registry
    assert "crm.lookup" in registry and "http.request" in registry
    assert invoke(registry, "crm.lookup", {"id": "7"})["status"] == 200


def test_endpoint_tool_exposes_its_fixed_url_for_policy_and_plain_tools_do_not():
    registry = ToolRegistry()
    spec = register_http_tool(registry, name="crm.note", url="https://api.internal.example/notes",
                              description="Add a note.")
    assert spec.endpoint_url == "https://api.internal.example/notes"
    assert spec.info().endpoint_url == "https://api.internal.example/notes"
    def plain_fn(text: str) -> dict:
        """Plain."""
        return {"ok": True}

    plain = registry.register_function(plain_fn, name="x.plain")
    assert plain.endpoint_url is None and plain.info().endpoint_url is None


def test_a_password_in_an_endpoint_url_is_hidden_in_errors_outputs_and_the_tool_info(http_server):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = ToolRegistry()
    register_http_tool(registry, name="crm.dead", method="GET", description="Nobody listens.",
                       url=f"http://svc:Pw-1a2b3c4d@127.0.0.1:{port}/x?access_token=qt-99887766")
    with pytest.raises(ToolError) as caught:
        invoke(registry, "crm.dead", {})
    assert "Pw-1a2b3c4d" not in str(caught.value) and "qt-99887766" not in str(caught.value)
    assert f"svc:***@127.0.0.1:{port}/x?access_token=***" in str(caught.value)
    assert registry.get("crm.dead").info().endpoint_url == (
        f"http://svc:***@127.0.0.1:{port}/x?access_token=***")

    http_server.script("/ok", Reply(body={"ok": True}))
    live = http_server.url("/ok").replace("http://", "http://svc:Pw-1a2b3c4d@")
    register_http_tool(registry, name="crm.ok", method="GET", description="Answers.", url=live)
    assert "Pw-1a2b3c4d" not in invoke(registry, "crm.ok", {})["url"]


def test_an_endpoint_tool_always_carries_egress_and_network_beside_its_own_tags():
    # Tags replacing the defaults made the egress rules skip the tool: its host went unchecked.
    registry = ToolRegistry()
    tagged = register_http_tool(registry, name="crm.export", url="https://evil.example/up",
                                description="Export.", tags=["crm", "network"])
    plain = register_http_tool(registry, name="crm.plain", url="https://evil.example/up",
                               description="Export.")
    assert tagged.tags == ("egress", "network", "crm")
    assert plain.tags == ("egress", "network")
    assert tagged.info().tags == ("egress", "network", "crm")


def test_a_get_endpoint_keeps_its_urls_query_and_encodes_each_kind_of_argument(http_server):
    registry = ToolRegistry()
    register_http_tool(
        registry, name="crm.find", url=http_server.url("/find?api-version=2024-01-01"),
        method="GET", description="Find.", input_schema={"type": "object", "properties": {
            "id": {"type": "string"}, "active": {"type": "boolean"},
            "ids": {"type": "array", "items": {"type": "integer"}},
            "filter": {"type": "object"}, "rows": {"type": "array"}}})
    out = invoke(registry, "crm.find", {"id": "42", "active": True, "ids": [1, 2],
                                        "filter": {"a": 1, "b": [2]}, "rows": [{"x": 1}, 3]})
    [request] = http_server.requests("/find")
    assert request.query == {"api-version": ["2024-01-01"], "id": ["42"], "active": ["true"],
                             "ids": ["1", "2"], "filter": ['{"a":1,"b":[2]}'],
                             "rows": ['{"x":1}', "3"]}
    assert "/find?api-version=2024-01-01&id=42&active=true&ids=1&ids=2&filter=" in out["url"]
    invoke(registry, "crm.find", {})
    assert http_server.requests("/find")[1].query == {"api-version": ["2024-01-01"]}


def test_a_query_endpoint_property_named_like_a_parameter_of_its_url_is_refused():
    with pytest.raises(ToolDefinitionError, match="'api-version' is also a query parameter"):
        register_http_tool(ToolRegistry(), name="crm.find", method="GET", description="Find.",
                           url="https://crm.example/find?api-version=1",
                           input_schema={"type": "object",
                                         "properties": {"api-version": {"type": "string"}}})
    # Sent as JSON, the body's fields never meet the URL's query.
    register_http_tool(ToolRegistry(), name="crm.post", method="POST", description="Post.",
                       url="https://crm.example/find?api-version=1",
                       input_schema={"type": "object",
                                     "properties": {"api-version": {"type": "string"}}})


def test_tool_info_masks_the_secret_values_it_is_given_wherever_they_appear():
    # A webhook's secret path or ?code= is no URL credential by name: only the values tell.
    registry = ToolRegistry()
    hook = "https://hooks.slack.example/services/T000/B000/HOOKSECRET42?code=AZ-c0de-9f"
    register_http_tool(registry, name="slack.post", description="Post to T000/B000/HOOKSECRET42.",
                       url=hook,
                       input_schema={"type": "object", "properties": {"text": {
                           "type": "string", "default": "AZ-c0de-9f"}}})
    spec = registry.get("slack.post")
    assert "HOOKSECRET42" in spec.info().endpoint_url  # nothing to mask without values
    info = spec.info(secret_values=["T000/B000/HOOKSECRET42", "AZ-c0de-9f"])
    assert info.endpoint_url == (
        "https://hooks.slack.example/services/[REDACTED]?code=[REDACTED]")
    assert info.description == "Post to [REDACTED]."
    assert info.input_schema["properties"]["text"]["default"] == "[REDACTED]"
    text = info.model_dump_json()
    assert "HOOKSECRET42" not in text and "AZ-c0de-9f" not in text


def test_an_endpoint_answering_nan_is_refused_as_not_json(http_server):
    http_server.script("/nan", Reply(body='{"score": NaN}',
                                     headers={"Content-Type": "application/json"}))
    registry = ToolRegistry()
    register_http_tool(registry, name="risk.score", url=http_server.url("/nan"), method="GET",
                       description="Score.", output_schema=OUTPUT_SCHEMA)
    with pytest.raises(ToolError, match="did not answer with a JSON object") as caught:
        invoke(registry, "risk.score", {})
    assert caught.value.code == "http_output_mismatch" and not caught.value.retryable


def test_endpoint_tools_default_to_the_http_max_response_bytes_setting(data_dir, http_server):
    http_server.script("/big", Reply(body="x" * 500))
    table = f'''
[[tools.http]]
name = "crm.{{name}}"
url = "{http_server.url('/big')}"
method = "GET"
description = "A large answer."
'''
    (data_dir / "baton.toml").write_text(
        "http_max_response_bytes = 100\n" + table.format(name="capped")
        + table.format(name="own") + "max_response_bytes = 1000\n")
    registry = Services(load_settings()).registry
    with pytest.raises(ToolError, match="exceeds the limit of 100 bytes"):
        invoke(registry, "crm.capped", {})
    with pytest.raises(ToolError, match="exceeds the limit of 100 bytes"):
        invoke(registry, "http.request", {"url": http_server.url("/big")})
    assert invoke(registry, "crm.own", {})["text"] == "x" * 500


@pytest.mark.parametrize("url", ["http://", "https://h/${secret:T}", "http://:80/x"])
def test_an_endpoint_url_without_a_host_or_with_a_secret_reference_is_refused(url):
    with pytest.raises(ToolDefinitionError, match="url"):
        register_http_tool(ToolRegistry(), name="x.y", url=url, description="X.",
                           secrets=["T"])


def test_a_property_named_like_a_renamed_one_keeps_its_own_field():
    # "json" became field_1 and took the place of the property literally named field_1.
    registry = ToolRegistry()
    spec = register_http_tool(registry, name="x.ep", url="http://127.0.0.1:1/x", description="D.",
                              input_schema={"type": "object", "properties": {
                                  "field_1": {"type": "string"}, "json": {"type": "integer"},
                                  "class": {"type": "string"}, "field_2": {"type": "boolean"}}})
    assert list(spec.input_schema()["properties"]) == ["field_1", "json", "class", "field_2"]
    args = {"field_1": "a", "json": 2, "class": "c", "field_2": True}
    bound = spec.bind(args, ToolContext(idempotency_key="k"))["args"]
    assert bound.model_dump(by_alias=True, exclude_unset=True) == args
    with pytest.raises(ValidationError):  # a Python-side name is no argument name
        spec.bind({"field_1_": 2}, ToolContext(idempotency_key="k"))
