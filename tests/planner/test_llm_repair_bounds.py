"""A reply far off the mark: the problems sent back to the model, and shown, are bounded."""

from __future__ import annotations

import hashlib
import json

import pytest

from planner.base import PlanningError
from planner.llm import LLMConfig, LLMPlanner
from planner.plan import canonical_json
from planner.problems import ProblemCode
from planner.validation import validate_plan
from tests.support.openai_server import Completion


def _steps(count: int) -> list[dict]:
    return [{"id": f"s{i}", "tool": "nope.tool", "args": {}} for i in range(count)]


def test_a_plan_over_the_step_limit_is_refused_without_checking_its_steps(registry):
    report = validate_plan({"goal": "g", "steps": _steps(5000)}, registry, max_steps=200)
    assert [p.code for p in report.problems] == [ProblemCode.TOO_MANY_STEPS]


def test_the_repair_message_and_the_error_list_the_first_twenty_problems(
        openai_server, registry):
    wrong = json.dumps({"steps": [dict(s, args_json="{}") for s in _steps(50)]})
    openai_server.script(*[Completion(content=wrong)] * 2)
    planner = LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted",
                                   timeout_s=5.0, max_attempts=2))
    with pytest.raises(PlanningError) as caught:
        planner.plan("Read a.csv", registry)
    repair = openai_server.requests[1]["messages"][-1]["content"]
    assert "Problems (50):" in repair
    assert repair.count("code=unknown_tool") == 20
    assert "... and 30 more problem(s), not listed" in repair
    error = str(caught.value)
    assert error.count("unknown_tool") == 20 and "... and 30 more problem(s)" in error
    assert len(caught.value.problems) == 50  # the trace and the ledger keep them all


# -- the repair request ---------------------------------------------------------------------
# What goes back to the model after an invalid reply: the opening (system prompt and goal),
# the latest failed reply only, and the problems. A reply too long to send back whole is
# quoted by the steps the problems name, so that the request stays within a model's context.

GOOD = json.dumps({"steps": [{"id": "load", "tool": "files.read",
                              "args_json": json.dumps({"path": "a.csv"}), "why": "read it"}]})
# How much larger than the first request a repair request may be, whatever the reply:
# the latest reply sent back (when short enough) plus the problems and the quoted steps.
REPAIR_GROWTH_BOUND = 80_000


def _planner(server, **overrides) -> LLMPlanner:
    return LLMPlanner(LLMConfig(base_url=server.base_url, model="scripted", timeout_s=10.0,
                                **overrides))


def _size(request: dict) -> int:
    return len(json.dumps(request, ensure_ascii=False))


def _read_steps(count: int, why: str = "read it") -> list[dict]:
    return [{"id": f"s{i}", "tool": "files.read", "args_json": json.dumps({"path": f"{i}.csv"}),
             "why": why} for i in range(count)]


def test_a_reply_over_the_step_limit_is_refused_before_its_steps_are_read_and_not_sent_back(
        openai_server, registry):
    # 5000 steps whose args_json cannot even be decoded: one problem naming the limit, not
    # one per step, and the next request is the opening and that problem, not the reply.
    huge = json.dumps({"steps": [dict(s, args_json="{not json") for s in _read_steps(5000)]})
    openai_server.script(Completion(content=huge), Completion(content=GOOD))
    result = _planner(openai_server).plan("Read a.csv", registry)
    assert [s.id for s in result.plan.steps] == ["load"]
    first, repair = openai_server.requests
    assert _size(repair) < _size(first) + REPAIR_GROWTH_BOUND < len(huge)
    asked = repair["messages"][-1]["content"]
    assert "code=too_many_steps" in asked and "more than the limit of 200" in asked
    assert "at most 200 steps" in asked
    assert [p.code for p in result.trace.exchanges[0].problems] == [ProblemCode.TOO_MANY_STEPS]


def test_a_long_reply_is_quoted_by_the_steps_its_problems_name_and_the_repair_fixes_the_plan(
        openai_server, registry):
    steps = _read_steps(150, why="x" * 5000)  # about 760 kB, under the step limit
    steps[7] = dict(steps[7], args_json=json.dumps({"file": "7.csv"}))
    long_reply = json.dumps({"steps": steps})
    openai_server.script(Completion(content=long_reply), Completion(content=GOOD))
    result = _planner(openai_server).plan("Read a.csv", registry)
    assert [s.id for s in result.plan.steps] == ["load"]
    first, repair = openai_server.requests
    assert _size(repair) < _size(first) + REPAIR_GROWTH_BOUND
    assert len(repair["messages"]) == 4  # system, goal, the reply (cut), the repair
    asked = repair["messages"][-1]["content"]
    assert "code=unknown_arg step=s7 path=$.steps[7].args.file" in asked
    assert f"{len(long_reply):,} characters" in asked  # why it is not sent back whole
    assert "end in '… [N more characters]'; write them in full" in asked
    assert '"id": "s7"' in asked and '\\"file\\": \\"7.csv\\"' in asked  # the step as written
    assert '"id": "s8"' not in asked  # steps no problem names are not quoted
    assert "s149 (files.read)" in asked or "more step" in asked  # the plan's outline
    assert "Fix every problem" in asked


def test_problems_quoting_huge_values_are_cut_in_the_repair_request(openai_server, registry):
    # Twenty unknown tools of 50 kB each: every problem quotes its name.
    steps = [dict(s, tool="t" * 50_000) for s in _read_steps(20)]
    openai_server.reject_formats = {"json_schema"}  # strict mode would forbid the names
    openai_server.script(Completion(content=json.dumps({"steps": steps})),
                         Completion(content=GOOD))
    _planner(openai_server).plan("Read a.csv", registry)
    first, repair = openai_server.requests[-2:]
    assert _size(repair) < _size(first) + REPAIR_GROWTH_BOUND
    assert repair["messages"][-1]["content"].count("code=unknown_tool") == 20


def test_a_quoted_step_keeps_its_keys_and_shortens_its_long_texts(openai_server, registry):
    # What a problem names can come after a long text: each text is shortened, not the step.
    steps = _read_steps(30, why="x" * 3000)
    steps[9] = dict(steps[9], depends_on=["nope"],
                    args_json=json.dumps({"path": "y" * 3000, "mode": "fast"}))
    openai_server.script(Completion(content=json.dumps({"steps": steps})),
                         Completion(content=GOOD))
    _planner(openai_server).plan("Read a.csv", registry)
    asked = openai_server.requests[1]["messages"][-1]["content"]
    (quote,) = [line for line in asked.splitlines() if line.startswith("$.steps[9]: ")]
    step = json.loads(quote.removeprefix("$.steps[9]: "))
    assert step["depends_on"] == ["nope"] and step["id"] == "s9"
    assert step["why"].startswith("xxx") and "2,700 more characters" in step["why"]
    args = json.loads(step["args_json"])
    assert args["mode"] == "fast" and "2,700 more characters" in args["path"]


@pytest.mark.parametrize("depth, quoted", [(100, '$.steps[0]: {"id": {"x": null}'),
                                           (900, "$.steps[0]: (nested too deeply to quote)")])
def test_a_step_nested_deeply_in_a_long_reply_is_quoted_if_it_can_be_and_the_repair_goes_on(
        openai_server, registry, depth, quoted):
    # At 900 levels decodable, but too deep to mask or encode again (each recurses per level).
    deep = '{"a": ' * depth + "1" + "}" * depth
    step = {"id": {"x": None}, "tool": "files.read", "why": "x" * 40_000}
    long_reply = json.dumps({"steps": [step]})[:-3] + ', "args": {"path": "a", "x": ' + deep + "}}]}"
    openai_server.script(Completion(content=long_reply), Completion(content=GOOD))
    result = _planner(openai_server, prompt_secrets=("topsecret",)).plan("Read a.csv", registry)
    assert [s.id for s in result.plan.steps] == ["load"]
    asked = openai_server.requests[1]["messages"][-1]["content"]
    assert quoted in asked
    assert "? (files.read)" in asked  # an id that is no text is not quoted in the outline


def test_the_repair_conversation_keeps_only_the_latest_failed_reply(openai_server, registry):
    bad = [json.dumps({"steps": [dict(s, args_json=json.dumps({"file": f"{n}.csv"}))
                                 for s in _read_steps(1)]}) for n in (1, 2)]
    openai_server.script(*(Completion(content=b) for b in bad), Completion(content=GOOD))
    result = _planner(openai_server).plan("Read a.csv", registry)
    assert [s.id for s in result.plan.steps] == ["load"]
    first, second, third = (r["messages"] for r in openai_server.requests)
    assert [m["role"] for m in third] == ["system", "user", "assistant", "user"]
    assert third[:2] == first and third[2] == {"role": "assistant", "content": bad[1]}
    assert bad[0] not in json.dumps(third)
    assert "code=unknown_arg" in third[-1]["content"]
    assert len(second) == len(third)


def test_every_exchange_is_recorded_with_the_hash_of_the_bounded_request_it_sent(
        openai_server, registry):
    huge = json.dumps({"steps": _read_steps(5000)})
    bad = json.dumps({"steps": [dict(s, args_json="{}") for s in _read_steps(1)]})
    openai_server.script(Completion(content=huge), Completion(content=bad),
                         Completion(content=GOOD))
    result = _planner(openai_server).plan("Read a.csv", registry)
    exchanges = result.trace.exchanges
    assert len(exchanges) == len(openai_server.requests) == 3
    for exchange, sent in zip(exchanges, openai_server.requests, strict=True):
        assert exchange.prompt_sha256 == hashlib.sha256(
            canonical_json(sent["messages"]).encode("utf-8")).hexdigest()
    assert exchanges[0].reply == huge  # the record keeps what the model said, whole
    assert [p.code for p in exchanges[0].problems] == [ProblemCode.TOO_MANY_STEPS]
    assert {p.code for p in exchanges[1].problems} == {ProblemCode.INVALID_ARGS}
    assert exchanges[2].problems == ()


TOKEN = 'xoxb-CONFIGURED"SECRET-777777'  # a quote: escaped once in the reply, twice in args_json


@pytest.mark.parametrize("length", ["sent back whole", "cut and quoted"])
def test_no_configured_secret_reaches_the_model_in_the_reply_sent_back(
        openai_server, registry, length):
    count, why = (1, "short") if length == "sent back whole" else (150, "x" * 5000)
    steps = _read_steps(count, why=f"uses {TOKEN} {why}")
    # An unknown argument: the validator refuses the step and the problem quotes its name.
    steps[0] = dict(steps[0], id=f"s0_{TOKEN}", args_json=json.dumps({TOKEN: TOKEN}))
    openai_server.script(Completion(content=json.dumps({"steps": steps})),
                         Completion(content=GOOD))
    _planner(openai_server, prompt_secrets=(TOKEN,), max_echoed_reply_chars=600).plan(
        "Read a.csv", registry)
    sent = json.dumps(openai_server.requests[1], ensure_ascii=False)
    for piece in ("CONFIGURED", "SECRET-777777"):  # in no form, nor half of one cut at a limit
        assert piece not in sent
    assert "[REDACTED]" in openai_server.requests[1]["messages"][-2]["content"]
    assert "[REDACTED]" in openai_server.requests[1]["messages"][-1]["content"]
