"""Long strings cut into short overlapping windows before any engine reads them.

The embedded interpreter (rego-cpp) runs ``regex.match`` with libstdc++'s
``std::regex``, whose matcher recurses once per character a quantifier
consumes: a run of about 26,000 characters that one of the secret patterns
can take in (``[A-Za-z0-9+.-]*`` of the URL-password pattern takes in any
letters and digits) overflows an 8 MiB stack and kills the process with a
segmentation fault, which no ``except`` can catch. The same matcher also
backtracks: a run of n such characters costs about n * n steps (a 20,000
character token took 5 s). So no string the rules read is longer than
``WINDOW``: a longer one is given to them as windows of ``WINDOW`` characters
overlapping by ``OVERLAP``, so that any match of up to ``OVERLAP`` characters
lies whole inside one window (the shipped patterns need 14 to 40 characters;
only a URL whose user and password together pass about 250 characters would
go unseen, and a ``url`` argument's credentials are found by the input builder
whatever their length). Both engines are given the same windows, so a plan is
judged the same whichever evaluates it.

Windows cost time under the interpreter's global lock, so their total is
bounded: past ``MAX_LONG_STRING_CHARS`` characters of long strings in one
input, a step is marked over the limit (``strings_over_limit``), which the
policy denies rather than judge part of the arguments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# A window needs about 160 KiB of stack (8 MiB crashed at about 26,000 characters) and
# about 1 ms of matching at worst.
WINDOW = 512
# The longest match found whole in some window.
OVERLAP = 256
# Long strings' characters one input may hold. Ordinary text (a CSV or a report a run
# reads and writes) scans at about 1.6 s per MiB, so a step may still copy a file of a few
# MiB; random letters and digits, the worst case, at about 12 s per MiB (a plan sent to the
# API is held to 1 MiB by its body limit). Past this, the step is denied, not judged in part.
MAX_LONG_STRING_CHARS = 4 * 1024 * 1024


def string_windows(text: str) -> Iterator[str]:
    """``text`` itself when it fits in a window, else distinct windows of ``WINDOW``
    characters, each starting ``WINDOW - OVERLAP`` after the one before, the last reaching
    the end: every substring of at most ``OVERLAP`` characters lies inside one of them."""
    if len(text) <= WINDOW:
        yield text
        return
    seen: set[str] = set()
    for start in range(0, len(text) - OVERLAP, WINDOW - OVERLAP):
        piece = text[start:start + WINDOW]
        if piece not in seen:  # a repetitive string need not be scanned window by window
            seen.add(piece)
            yield piece


def _windowed_step(step: Mapping[str, Any], budget: list[int]) -> Mapping[str, Any]:
    """``step`` with each long scanned string replaced by its windows (same path, key,
    length and entropy: facts about the whole string), and over the limit when its long
    strings overdraw ``budget`` (characters left, shared by the input's steps)."""
    strings = step.get("strings")
    if not isinstance(strings, list) or not any(_is_long(fact) for fact in strings):
        return step
    windowed: list[Any] = []
    over = False
    for fact in strings:
        if not _is_long(fact):
            windowed.append(fact)
            continue
        budget[0] -= len(fact["value"])
        if budget[0] < 0:
            over = True  # not scanned: the step is denied for it below
        else:
            windowed.extend({**fact, "value": piece} for piece in string_windows(fact["value"]))
    result = {**step, "strings": windowed}
    if over and not step.get("strings_over_limit"):
        # The reason is quoted in the deny message: facts only, never a value.
        result["strings_over_limit"] = True
        result["strings_over_limit_reason"] = (
            f"more than {MAX_LONG_STRING_CHARS} characters in strings longer than {WINDOW}, "
            "counting this step's and those of the steps before it")
    return result


def _is_long(fact: Any) -> bool:
    return (isinstance(fact, Mapping) and isinstance(fact.get("value"), str)
            and len(fact["value"]) > WINDOW)


def windowed_input(policy_input: Mapping[str, Any]) -> Mapping[str, Any]:
    """The input the engines evaluate: ``policy_input`` (a plan's or one call's) with the
    scanned strings of its steps cut into windows; unchanged when none is long."""
    result = dict(policy_input)
    budget = [MAX_LONG_STRING_CHARS]
    steps = policy_input.get("steps")
    if isinstance(steps, list):
        result["steps"] = [_windowed_step(s, budget) if isinstance(s, Mapping) else s
                           for s in steps]
    step = policy_input.get("step")
    if isinstance(step, Mapping):
        result["step"] = _windowed_step(step, budget)
    return result
