"""A reply of many objects left open is read in time linear in its size.

Each ``{`` was decoded, and a decode from an object left open reads on to the end of the
reply before it fails: 200 such starts in a 3.2 MB reply (``{"k":[`` 200 times, then
``1,`` to the end) read 640 MB and took 28 s. Failed decodes now read, together, a bounded
multiple of the reply: counted here as the text handed to the decoder from each start
(never timed), which the old reading made 200 times the reply.
"""

from __future__ import annotations

import json

import pytest

from planner.llm import prompt
from planner.llm.prompt import candidate_document, extract_json


def _open_objects(n: int) -> str:
    """n/1000 objects left open (at most 200 were tried), then n values to the end."""
    return '{"k":[' * (n // 1_000) + "1," * n


class _CountingDecoder(json.JSONDecoder):
    """A decoder that adds up the text handed to it from each start."""

    handed = 0

    def raw_decode(self, s: str, idx: int = 0):
        _CountingDecoder.handed += len(s) - idx
        return super().raw_decode(s, idx)


@pytest.fixture
def handed_to_decodes(monkeypatch):
    """``read(text)``: how many characters the reading of ``text`` handed to decodes."""
    monkeypatch.setattr(prompt.json, "JSONDecoder", _CountingDecoder)

    def read(text: str) -> int:
        _CountingDecoder.handed = 0
        candidate_document("g", text, max_steps=200)
        return _CountingDecoder.handed

    return read


def test_a_reply_of_objects_left_open_is_read_in_linear_time(handed_to_decodes):
    text = _open_objects(200_000)
    assert handed_to_decodes(text) <= 6 * len(text)  # the old reading: about 200 times


def test_a_plan_inside_a_wrapper_left_open_is_still_found():
    plan = {"steps": [{"id": "a", "tool": "files.read", "args": {"path": "x"}}]}
    text = 'Sure: {"answer": {"note": "' + "." * 10_000 + '", "plan": ' + json.dumps(plan)
    assert extract_json(text) == plan


def test_a_plan_after_a_few_open_objects_is_still_found():
    plan = {"steps": [{"id": "a", "tool": "files.read", "args": {"path": "x"}}]}
    text = '{"draft": [' * 3 + json.dumps(plan) + ", 1" * 1_000
    assert extract_json(text) == plan


def test_objects_left_open_before_a_number_too_long_to_read_are_read_in_linear_time(
        handed_to_decodes):
    # int() refuses a number of over 4300 digits with a ValueError that says not where the
    # decode stopped: each start read to it, at the end, without counting.
    text = _open_objects(200_000) + "1" * 5_000
    assert handed_to_decodes(text) <= 6 * len(text)
