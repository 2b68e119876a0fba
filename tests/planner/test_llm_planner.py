"""The LLM planner with the real openai SDK against the scripted local server."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.plan import Plan, canonical_json
from tests.support.openai_server import Completion, Failure
from tools import ToolRegistry


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()

    @reg.tool("files.read")
    def read(path: str) -> str:
        """Read a text file from the workspace.

        Args:
            path: File path inside the workspace.
        """
        return ""

    @reg.tool("table.sum")
    def total(csv: str, column: str) -> float:
        """Sum one column of a CSV table.

        Args:
            csv: The CSV text.
            column: Column to add up.
        """
        return 0.0

    @reg.tool("chat.post", effect="write", secrets=("CHAT_TOKEN",))
    def post(channel: str, text: str) -> bool:
        """Post a message to a chat channel."""
        return True

    return reg


def make_planner(server, **overrides) -> LLMPlanner:
    options = {"base_url": server.base_url, "model": "scripted", "timeout_s": 5.0,
               "backoff_s": 0.01, **overrides}
    return LLMPlanner(LLMConfig(**options))


def reply(*steps: dict, encode: bool = True) -> str:
    """A reply in the strict shape (args_json) or with plain args objects."""
    out = []
    for step in steps:
        step = dict(step)
        if encode:
            step["args_json"] = json.dumps(step.pop("args", {}))
        out.append(step)
    return json.dumps({"steps": out})


READ = {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}, "why": "read it"}
SUM = {"id": "total", "tool": "table.sum",
       "args": {"csv": {"ref": "load.value"}, "column": "amount"}}
GOAL = "Total the amount column of sales.csv"


def test_structured_output_request_constrains_tools_and_returns_the_validated_plan(
        openai_server, registry):
    openai_server.script(Completion(content=reply(READ, SUM)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert [s.id for s in result.plan.steps] == ["load", "total"]
    assert result.plan.goal == GOAL
    assert result.plan.step("total").args["csv"] == {"ref": "load.value"}
    assert result.plan.step("total").dependencies() == ("load",)
    sent = openai_server.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    step_schema = sent["response_format"]["json_schema"]["schema"]["properties"]["steps"]["items"]
    assert step_schema["properties"]["tool"]["enum"] == ["chat.post", "files.read", "table.sum"]
    assert step_schema["additionalProperties"] is False
    assert set(step_schema["required"]) == set(step_schema["properties"])


def test_system_prompt_lists_output_fields_and_secret_names_but_no_secret_values(
        openai_server, registry):
    openai_server.script(Completion(content=reply(READ)))
    make_planner(openai_server, api_key="sk-very-secret").plan(GOAL, registry)
    system = openai_server.requests[0]["messages"][0]["content"]
    assert "## table.sum" in system and "output fields: value (number)" in system
    assert "CHAT_TOKEN" in system
    assert "sk-very-secret" not in json.dumps(openai_server.requests[0])


def test_endpoint_without_json_schema_falls_back_to_json_object(openai_server, registry):
    openai_server.reject_formats = {"json_schema"}
    openai_server.script(Completion(content=reply(READ, SUM, encode=False)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert [r.get("response_format", {}).get("type") for r in openai_server.requests] == [
        "json_schema", "json_object"]
    assert result.plan.step("total").args["column"] == "amount"
    first, second = result.trace.exchanges
    assert first.error and "400" in first.error and second.response_format == "json_object"


def test_endpoint_without_any_response_format_gets_text_with_fenced_json_extracted(
        openai_server, registry):
    openai_server.reject_formats = {"json_schema", "json_object"}
    fenced = f"Here is the plan:\n```json\n{reply(READ, encode=False)}\n```\nGood luck!"
    openai_server.script(Completion(content=fenced))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert "response_format" not in openai_server.requests[-1]
    assert len(openai_server.requests) == 3
    assert result.plan.steps[0].tool == "files.read"


def test_remembered_capability_sends_the_second_plan_straight_to_the_working_format(
        openai_server, registry):
    openai_server.reject_formats = {"json_schema"}
    openai_server.script(Completion(content=reply(READ)), Completion(content=reply(READ)))
    planner = make_planner(openai_server)
    planner.plan(GOAL, registry)
    planner.plan("Read sales.csv again", registry)
    kinds = [r.get("response_format", {}).get("type") for r in openai_server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]


def test_capability_cache_file_is_shared_between_planner_objects(
        openai_server, registry, tmp_path):
    openai_server.reject_formats = {"json_schema"}
    openai_server.script(Completion(content=reply(READ)), Completion(content=reply(READ)))
    cache = tmp_path / "caps.json"
    make_planner(openai_server, capability_cache=cache).plan(GOAL, registry)
    make_planner(openai_server, capability_cache=cache).plan(GOAL, registry)
    kinds = [r.get("response_format", {}).get("type") for r in openai_server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]


def test_repair_sends_every_problem_back_and_succeeds_on_the_second_attempt(
        openai_server, registry):
    bad = dict(SUM, args={"csv": {"ref": "load.value"}, "colum": "amount"})
    openai_server.script(Completion(content=reply(READ, bad)), Completion(content=reply(READ, SUM)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert result.plan.step("total").args["column"] == "amount"
    repair = openai_server.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": reply(READ, bad)}
    assert "code=unknown_arg step=total path=$.steps[1].args.colum" in repair[-1]["content"]
    assert "column" in repair[-1]["content"]
    first, second = result.trace.exchanges
    assert {p.code.value for p in first.problems} >= {"unknown_arg"}
    assert second.problems == ()


def test_a_plan_that_never_validates_fails_after_three_attempts_listing_the_problems(
        openai_server, registry):
    bad = dict(READ, args={"file": "sales.csv"})
    openai_server.script(*[Completion(content=reply(bad))] * 3)
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server).plan(GOAL, registry)
    err = info.value
    assert err.code == "plan_invalid"
    assert len(openai_server.requests) == 3
    assert "unknown_arg" in str(err) and "step load" in str(err)
    assert {p.code.value for p in err.problems} >= {"unknown_arg", "invalid_args"}
    assert len(err.trace.exchanges) == 3 and all(e.problems for e in err.trace.exchanges)


def test_hallucinated_tool_is_reported_back_with_its_name(openai_server, registry):
    openai_server.reject_formats = {"json_schema"}  # strict mode would forbid it outright
    ghost = {"id": "mail", "tool": "email.send", "args": {"to": "x@example.com"}}
    openai_server.script(Completion(content=reply(ghost)), Completion(content=reply(READ)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert result.plan.steps[0].tool == "files.read"
    assert "code=unknown_tool step=mail" in openai_server.requests[-1]["messages"][-1]["content"]


def test_cycle_is_reported_back_and_repaired(openai_server, registry):
    a = dict(READ, depends_on=["total"])
    b = dict(SUM)
    openai_server.script(Completion(content=reply(a, b)), Completion(content=reply(READ, SUM)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert result.plan.topological_order() == ["load", "total"]
    assert "code=cycle" in openai_server.requests[-1]["messages"][-1]["content"]


def test_non_json_reply_counts_as_a_failed_attempt(openai_server, registry):
    openai_server.script(Completion(content="I would read the file first."),
                         Completion(content=reply(READ)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert "code=malformed_document" in openai_server.requests[-1]["messages"][-1]["content"]
    assert result.trace.exchanges[0].problems[0].code.value == "malformed_document"


def test_refusal_is_its_own_error_and_carries_the_trace(openai_server, registry):
    openai_server.script(Completion(content=None, refusal="I can't help with that."))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server).plan(GOAL, registry)
    assert info.value.code == "model_refused"
    assert "I can't help with that." in str(info.value)
    assert len(info.value.trace.exchanges) == 1 and len(openai_server.requests) == 1


def test_content_filter_counts_as_a_refusal(openai_server, registry):
    openai_server.script(Completion(content="", finish_reason="content_filter"))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server).plan(GOAL, registry)
    assert info.value.code == "model_refused"


def test_truncated_reply_is_its_own_error(openai_server, registry):
    openai_server.script(Completion(content='{"steps": [{"id": "lo', finish_reason="length"))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server).plan(GOAL, registry)
    assert info.value.code == "reply_truncated"
    assert info.value.trace.exchanges[0].finish_reason == "length"
    assert len(openai_server.requests) == 1


def test_rate_limit_is_retried_and_then_succeeds(openai_server, registry):
    openai_server.script(Failure(status=429, headers={"Retry-After": "0"}),
                         Failure(status=503), Completion(content=reply(READ)))
    result = make_planner(openai_server).plan(GOAL, registry)
    assert len(openai_server.requests) == 3
    errors = [e.error for e in result.trace.exchanges]
    assert "429" in errors[0] and "503" in errors[1] and errors[2] is None


def test_dead_endpoint_fails_after_bounded_retries_naming_the_endpoint(registry):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
    url = f"http://127.0.0.1:{port}/v1"
    planner = LLMPlanner(LLMConfig(base_url=url, model="m1", backoff_s=0.0,
                                   max_transport_retries=2))
    with pytest.raises(PlanningError) as info:
        planner.plan(GOAL, registry)
    assert info.value.code == "endpoint_unreachable"
    assert url in str(info.value) and "m1" in str(info.value)
    assert len(info.value.trace.exchanges) == 3


def test_slow_endpoint_past_the_timeout_is_retried_then_reported_unreachable(
        openai_server, registry):
    openai_server.script(Completion(content=reply(READ), delay_s=1.0),
                         Completion(content=reply(READ), delay_s=1.0))
    planner = make_planner(openai_server, timeout_s=0.2, max_transport_retries=1)
    with pytest.raises(PlanningError) as info:
        planner.plan(GOAL, registry)
    assert info.value.code == "endpoint_unreachable"
    assert len(openai_server.requests) == 2
    assert all("Timeout" in e.error for e in info.value.trace.exchanges)


def test_a_reply_trickled_past_the_timeout_is_cut_off_retried_then_reported_unreachable(
        openai_server, registry):
    # Each piece comes well within 0.5 s, the whole reply only after 3 s: timeout_s bounds it all.
    openai_server.script(Completion(content=reply(READ), trickle_s=3.0),
                         Completion(content=reply(READ), trickle_s=3.0))
    planner = make_planner(openai_server, timeout_s=0.5, max_transport_retries=1)
    started = time.monotonic()
    with pytest.raises(PlanningError) as info:
        planner.plan(GOAL, registry)
    # Not a speed target: uncut, the two attempts would take 6 s; cut, about 1 s. The
    # margin keeps a loaded CI machine from failing a deadline that did hold.
    assert time.monotonic() - started < 5.0
    assert info.value.code == "endpoint_unreachable"
    assert len(openai_server.requests) == 2
    assert all("no complete reply within 0.5 s" in e.error for e in info.value.trace.exchanges)


def test_a_late_request_leaves_a_concurrent_one_on_the_same_planner_alone(
        openai_server, registry):
    # The API shares one planner between concurrent plan/revise requests: cutting off the
    # late one must not close the connection the other is still reading its reply from.
    openai_server.script(Completion(content=reply(READ), trickle_s=4.0),
                         Completion(content=reply(READ), delay_s=1.0))
    planner = make_planner(openai_server, timeout_s=1.5, max_transport_retries=0)
    outcomes: dict[str, object] = {}

    def plan(name: str) -> None:
        try:
            outcomes[name] = planner.plan(GOAL, registry).plan
        except PlanningError as exc:
            outcomes[name] = exc

    slow = threading.Thread(target=plan, args=("slow",))
    slow.start()
    while not openai_server.requests:  # the slow request takes the trickled reply
        time.sleep(0.01)
    time.sleep(0.8)  # the fast one is still waiting for its reply when the slow one is cut off
    fast = threading.Thread(target=plan, args=("fast",))
    fast.start()
    slow.join(5)
    fast.join(5)
    assert isinstance(outcomes["slow"], PlanningError)
    assert outcomes["slow"].code == "endpoint_unreachable"
    assert isinstance(outcomes["fast"], Plan), outcomes["fast"]
    assert [step.tool for step in outcomes["fast"].steps] == ["files.read"]


def test_a_trickled_reply_within_the_timeout_still_plans(openai_server, registry):
    openai_server.script(Completion(content=reply(READ), trickle_s=0.3))
    plan = make_planner(openai_server, timeout_s=5.0).plan(GOAL, registry).plan
    assert [step.tool for step in plan.steps] == ["files.read"]


def test_authentication_error_fails_at_once_without_the_key(openai_server, registry):
    openai_server.script(Failure(status=401, body={"error": {"message": "bad key"}}),
                         Completion(content=reply(READ)))
    planner = make_planner(openai_server, api_key="sk-live-abcdef123456")
    with pytest.raises(PlanningError) as info:
        planner.plan(GOAL, registry)
    assert info.value.code == "endpoint_auth"
    assert len(openai_server.requests) == 1
    assert openai_server.headers[0]["authorization"] == "Bearer sk-live-abcdef123456"
    assert openai_server.base_url in str(info.value) and "scripted" in str(info.value)
    assert "sk-live" not in str(info.value)
    assert "sk-live" not in info.value.trace.model_dump_json()


def test_bad_request_unrelated_to_response_format_fails_at_once(openai_server, registry):
    openai_server.script(Failure(status=400, body={"error": {"message": "model not found"}}))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server).plan(GOAL, registry)
    assert info.value.code == "endpoint_bad_request"
    assert "model not found" in str(info.value)
    assert len(openai_server.requests) == 1


KEY = "sk-live-LIVEKEY-abcdef123456"


def test_an_error_body_echoing_the_key_gives_an_error_without_it(openai_server, registry):
    # An endpoint reflecting the Authorization header in its 400 body, as some proxies do:
    # the message is stored as the plan version's error and shown by the API, web and CLI.
    openai_server.script(Failure(status=400, body={"error": {
        "message": f"bad request from key Bearer {KEY}", "type": "invalid_request_error"}}))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server, api_key=KEY).plan(GOAL, registry)
    assert openai_server.headers[0]["authorization"] == f"Bearer {KEY}"
    assert info.value.code == "endpoint_bad_request"
    assert "bad request from key Bearer [REDACTED]" in str(info.value)
    assert KEY not in str(info.value) and KEY not in info.value.trace.model_dump_json()


def test_a_key_across_the_cut_of_the_error_excerpt_leaves_no_part_of_it(openai_server, registry):
    # The excerpt is the first 300 characters of the body (the SDK keeps the "error" object
    # as the body): the key begins 5 characters before the cut.
    opening = len('{"message": "')
    openai_server.script(Failure(status=400, body={"error": {"message": "x" * (295 - opening) + KEY}}))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server, api_key=KEY).plan(GOAL, registry)
    assert info.value.code == "endpoint_bad_request" and "xxxx" in str(info.value)
    assert KEY[:5] not in str(info.value)


def test_a_reply_echoing_the_key_gives_a_plan_and_trace_without_it(openai_server, registry):
    echoed = dict(READ, args={"path": f"{KEY}.csv"})
    openai_server.script(Completion(content=reply(echoed)))
    result = make_planner(openai_server, api_key=KEY).plan(GOAL, registry)
    assert result.plan.steps[0].args == {"path": "[REDACTED].csv"}
    assert KEY not in result.plan.canonical_json() and KEY not in result.trace.model_dump_json()


def test_missing_key_sends_a_placeholder(openai_server, registry):
    openai_server.script(Completion(content=reply(READ)))
    make_planner(openai_server).plan(GOAL, registry)
    assert openai_server.headers[0]["authorization"] == "Bearer not-needed"


def test_trace_records_hash_reply_tokens_and_latency_of_every_request(openai_server, registry):
    openai_server.script(Completion(content=reply(READ), prompt_tokens=321, completion_tokens=45))
    result = make_planner(openai_server).plan(GOAL, registry)
    (exchange,) = result.trace.exchanges
    sent = openai_server.requests[0]["messages"]
    assert exchange.prompt_sha256 == hashlib.sha256(
        canonical_json(sent).encode("utf-8")).hexdigest()
    assert exchange.reply == reply(READ)
    assert (exchange.prompt_tokens, exchange.completion_tokens) == (321, 45)
    assert exchange.finish_reason == "stop" and exchange.latency_ms > 0
    assert exchange.model == "scripted" and exchange.endpoint == openai_server.base_url
    assert exchange.response_format == "json_schema"
    assert result.trace.tools_offered == ("chat.post", "files.read", "table.sum")


def test_revise_sends_the_previous_plan_and_the_feedback(openai_server, registry):
    previous = Plan.model_validate({"goal": GOAL, "steps": [READ]})
    openai_server.script(Completion(content=reply(READ, SUM)))
    result = make_planner(openai_server).revise(
        previous, "Rejected by bob: also total the amount column", registry)
    assert [s.id for s in result.plan.steps] == ["load", "total"]
    user = openai_server.requests[0]["messages"][1]["content"]
    assert "Rejected by bob: also total the amount column" in user
    assert '"tool": "files.read"' in user and GOAL in user


def test_revise_sends_the_feedback_and_the_rejection_reason_apart(openai_server, registry):
    previous = Plan.model_validate({"goal": GOAL, "steps": [READ]})
    openai_server.script(Completion(content=reply(READ, SUM)))
    make_planner(openai_server).revise(previous, "also total the amount column", registry,
                                       rejection="it only reads the file")
    user = openai_server.requests[0]["messages"][1]["content"]
    assert "Feedback on it:\nalso total the amount column\n" in user
    assert "The approver rejected it: it only reads the file" in user


def test_large_catalogue_offers_only_the_best_ranked_tools(openai_server, registry):
    def noise(query: str) -> str:
        return query

    for i in range(40):
        registry.register_function(noise, name=f"misc.noise_{i}",
                                   description=f"Unrelated helper number {i} for inventory audits")
    openai_server.script(Completion(content=reply(READ, SUM)))
    result = make_planner(openai_server, max_tools_offered=4).plan(
        "Sum the amount column of the sales CSV file", registry)
    offered = result.trace.tools_offered
    assert len(offered) == 4 and {"files.read", "table.sum"} <= set(offered)
    schema = openai_server.requests[0]["response_format"]["json_schema"]["schema"]
    assert sorted(schema["properties"]["steps"]["items"]["properties"]["tool"]["enum"]) == sorted(
        offered)
    system = openai_server.requests[0]["messages"][0]["content"]
    listed = {line[3:] for line in system.splitlines() if line.startswith("## ")}
    assert listed == set(offered)


def test_a_remote_base_url_is_refused_in_tests(registry):
    planner = LLMPlanner(LLMConfig(base_url="https://api.openai.com/v1", model="gpt-4o"))
    with pytest.raises(RuntimeError, match="must not reach a real model"):
        planner.plan(GOAL, registry)


@pytest.mark.parametrize("cached", ["[]", "null", '"json_object"', "3", '{"x": "bogus"}'])
def test_a_capability_cache_that_is_not_a_map_of_formats_only_costs_a_re_probe(
        openai_server, registry, tmp_path, cached):
    cache = tmp_path / "caps.json"
    cache.write_text(cached)
    openai_server.reject_formats = {"json_schema"}
    openai_server.script(Completion(content=reply(READ)))
    make_planner(openai_server, capability_cache=cache).plan(GOAL, registry)
    kinds = [r.get("response_format", {}).get("type") for r in openai_server.requests]
    assert kinds == ["json_schema", "json_object"]
    assert json.loads(cache.read_text()) == {f"{openai_server.base_url.rstrip('/')}#scripted":
                                             "json_object"}


def test_an_argument_named_title_is_shown_to_the_model_while_schema_titles_are_left_out(
        openai_server):
    reg = ToolRegistry()

    @reg.tool("issues.create", effect="write")
    def create(title: str, body: str, labels: dict[str, str] = {"title": "triage"}) -> str:  # noqa: B006
        """Open an issue.

        Args:
            title: One-line summary of the issue.
            body: The issue text.
            labels: Labels by name.
        """
        return ""

    step = {"id": "open", "tool": "issues.create", "args": {"title": "Broken", "body": "It is."}}
    openai_server.script(Completion(content=reply(step)))
    make_planner(openai_server).plan("Open an issue saying it is broken", reg)
    system = openai_server.requests[0]["messages"][0]["content"]
    line = next(x for x in system.splitlines() if x.startswith("input schema: "))
    shown = json.loads(line.removeprefix("input schema: "))
    assert sorted(shown["properties"]) == ["body", "labels", "title"]
    assert shown["properties"]["title"] == {"description": "One-line summary of the issue.",
                                            "type": "string"}
    assert shown["properties"]["labels"]["default"] == {"title": "triage"}  # data, not metadata
    assert "title" not in shown and "title" not in shown["properties"]["body"]


@pytest.mark.parametrize("placeholder", ["ollama", "EMPTY"])
def test_a_short_placeholder_key_does_not_rewrite_the_plan_but_is_masked_in_errors_and_records(
        openai_server, registry, placeholder):
    # Local servers document such keys; masked in the plan they would corrupt ordinary words.
    path = f"reports/{placeholder}-usage.csv"
    step = dict(READ, args={"path": path}, why=f"read the {placeholder} usage report")
    openai_server.script(Completion(content=reply(step)))
    result = make_planner(openai_server, api_key=placeholder).plan(f"Read {path}", registry)
    assert result.plan.steps[0].args == {"path": path}
    assert result.plan.steps[0].why == f"read the {placeholder} usage report"
    assert placeholder not in result.trace.exchanges[0].reply
    openai_server.script(Failure(status=400, body={"error": {"message": f"Bearer {placeholder}?"}}))
    with pytest.raises(PlanningError) as info:
        make_planner(openai_server, api_key=placeholder).plan(f"Read {path}", registry)
    assert "Bearer [REDACTED]?" in str(info.value)
    assert placeholder not in info.value.trace.model_dump_json()


TOKEN = "xoxb-CONFIGURED-SECRET-777777"
SHORT = "pw42"  # a configured secret is masked in prompts however short


def test_configured_secret_values_never_reach_the_model_in_any_message(openai_server, registry):
    leaky = dict(READ, args={"path": f"{TOKEN}.csv"}, why=f"uses {SHORT}")
    previous = Plan.model_validate({"goal": f"{GOAL} with {TOKEN}", "steps": [leaky]})
    invalid = dict(leaky, args={"path": f"{TOKEN}.csv", TOKEN: SHORT})  # echoed in a problem
    openai_server.script(Completion(content=reply(invalid)), Completion(content=reply(READ)))
    planner = make_planner(openai_server, api_key=KEY, prompt_secrets=(TOKEN, SHORT))
    planner.revise(previous, f"Use {TOKEN} and {SHORT} and {KEY} please", registry)
    sent = json.dumps(openai_server.requests)
    for secret in (TOKEN, SHORT, KEY):
        assert secret not in sent
    revision, repair = (r["messages"] for r in openai_server.requests)
    assert '"args_json": "{\\"path\\":\\"[REDACTED].csv\\"}"' in revision[1]["content"]
    assert "Use [REDACTED] and [REDACTED] and [REDACTED] please" in revision[1]["content"]
    assert repair[-2]["role"] == "assistant" and "[REDACTED].csv" in repair[-2]["content"]
    assert "code=unknown_arg" in repair[-1]["content"]


def test_a_short_placeholder_key_is_left_in_the_prompt(openai_server, registry):
    openai_server.script(Completion(content=reply(READ)))
    make_planner(openai_server, api_key="ollama").plan("Read reports/ollama-usage.csv", registry)
    assert "Goal: Read reports/ollama-usage.csv" in openai_server.requests[0]["messages"][1]["content"]
