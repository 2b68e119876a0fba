"""Reading a model's reply costs time linear in its size, whatever the reply holds.

A reply of many ``<think></think>`` blocks followed by many fenced values made every
fenced value scan the whole list of thinking spans: 440 kB took 29 s. The cost is
compared between a reply and one four times its size in the same test (never against a
wall-clock limit): linear reading takes about four times as long, quadratic sixteen. The
process's CPU time is compared, not the clock's: other test workers on a busy machine take
the CPU from this one at any moment, which the clock counts and CPU time does not.
"""

from __future__ import annotations

import json
import time

from planner.llm.prompt import candidate_document, extract_json


def _adversarial(n: int) -> str:
    return "<think></think>" * n + "```1```" * n


def _fastest_read_s(text: str, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        candidate_document("g", text, max_steps=200)
        best = min(best, time.process_time() - started)
    return best


def test_a_reply_of_many_thinking_blocks_and_fenced_values_is_read_in_linear_time():
    small, large = _fastest_read_s(_adversarial(8_000)), _fastest_read_s(_adversarial(32_000))
    assert large / max(small, 1e-4) < 10, (small, large)  # quadratic reading gives about 16


def test_an_unclosed_fence_followed_by_blank_space_is_read_in_linear_time():
    # The fence pattern skipped blank space before a block's text, then looked for the
    # closing fence: with none, each blank it had skipped was tried again, to the end.
    def reply(n: int) -> str:
        return "```" + " " * n + "."

    small, large = _fastest_read_s(reply(50_000)), _fastest_read_s(reply(200_000))
    assert large / max(small, 1e-4) < 10, (small, large)


def test_the_plan_after_thinking_blocks_is_still_the_one_read():
    draft = json.dumps({"steps": [{"id": "draft"}]})
    answer = json.dumps({"steps": [{"id": "answer"}]})
    text = (f"<think>```{draft}```</think>" * 50 + "```1```" * 3 + f"<think>{draft}</think>"
            + f"```json\n{answer}\n```")
    assert extract_json(text) == {"steps": [{"id": "answer"}]}
    text = f"<think>{draft}</think>" * 50 + f"Here it is: {answer}"
    assert extract_json(text) == {"steps": [{"id": "answer"}]}


def test_a_value_in_a_fenced_block_inside_thinking_is_not_the_answer():
    draft = json.dumps({"steps": [{"id": "draft"}]})
    assert extract_json(f"<think>```{draft}```</think>```[1]```") == [1]
