"""A reply of many objects left open is read in time linear in its size.

Each ``{`` was decoded, and a decode from an object left open reads on to the end of the
reply before it fails: 200 such starts in a 3.2 MB reply (``{"k":[`` 200 times, then
``1,`` to the end) read 640 MB and took 28 s. Failed decodes now read, together, a bounded
multiple of the reply. Costs are compared between two replies (never against a wall-clock
limit): linear reading grows about as the reply does, the old reading with its square.
"""

from __future__ import annotations

import json
import time

from planner.llm.prompt import candidate_document, extract_json


def _open_objects(n: int) -> str:
    """n/1000 objects left open (at most 200 were tried), then n values to the end."""
    return '{"k":[' * (n // 1_000) + "1," * n


def _fastest_read_s(text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        candidate_document("g", text, max_steps=200)
        best = min(best, time.perf_counter() - started)
    return best


def test_a_reply_of_objects_left_open_is_read_in_linear_time():
    small, large = _fastest_read_s(_open_objects(50_000)), _fastest_read_s(_open_objects(200_000))
    assert large / max(small, 1e-4) < 10, (small, large)  # the old reading gives about 16


def test_a_plan_inside_a_wrapper_left_open_is_still_found():
    plan = {"steps": [{"id": "a", "tool": "files.read", "args": {"path": "x"}}]}
    text = 'Sure: {"answer": {"note": "' + "." * 10_000 + '", "plan": ' + json.dumps(plan)
    assert extract_json(text) == plan


def test_a_plan_after_a_few_open_objects_is_still_found():
    plan = {"steps": [{"id": "a", "tool": "files.read", "args": {"path": "x"}}]}
    text = '{"draft": [' * 3 + json.dumps(plan) + ", 1" * 1_000
    assert extract_json(text) == plan


def test_objects_left_open_before_a_number_too_long_to_read_are_read_in_linear_time():
    # int() refuses a number of over 4300 digits with a ValueError that says not where the
    # decode stopped: each start read to it, at the end, without counting.
    def reply(n: int) -> str:
        return _open_objects(n) + "1" * 5_000

    small, large = _fastest_read_s(reply(50_000)), _fastest_read_s(reply(200_000))
    assert large / max(small, 1e-4) < 10, (small, large)
