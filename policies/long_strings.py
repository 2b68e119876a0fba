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

Object keys are bounded too: the key-word rule reads the nearest key of a
random-looking value with ``regex.find_n`` (a key of 40,000 letters crashed the
interpreter as a value did) and reads endings of its words (a key of thousands
of short words took seconds). A key longer than ``KEY_WINDOW`` reaches the
rules with each run of characters other than ASCII letters and digits made one
``_`` (the key-word rules read words of letters and digits alone, so this keeps
them) and, when still longer, as its last ``KEY_WINDOW`` characters (``key``,
where a name is read at the end: ``db_pwd``) with every letter and digit of it
lower-cased (``key_flat``, where a word is looked for anywhere: ``password``);
secrets.rego reads both.

Last, every string of the input, keys included, is made one the interpreter
reads whole (``readable``): it reads a string only up to a NUL, so a NUL before
an AWS key hid it from the literal-secret rule; it refuses a lone surrogate; and
it cannot give back a message quoting a control character. Plan validation
refuses NUL, but values resolved at run time (a file's text, an HTTP response)
reach the check before a call as they are.
"""

from __future__ import annotations

import re
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
# The longest key the key-word rules read with regular expressions: ample for a name (the
# rule reads its last words), and a key of as many short words costs about 5 ms.
KEY_WINDOW = 128


# Characters given to both engines as U+FFFD: NUL, which the interpreter reads a string up to;
# a surrogate, which it refuses (a JSON reader, OPA's, reads a lone one as U+FFFD); and the
# other control characters but tab, line feed and carriage return, which it writes unescaped
# into its output when a message quotes them (a host), where they cannot be read back (a
# vertical tab and a form feed too, white space though they are). U+FFFD is none of the secret
# patterns' letters and any of their "anything but" sets, as those characters are, save that a
# pattern's \s matches a vertical tab and a form feed and not U+FFFD: a run of [^\s] now goes
# on through them, alike in both engines (RE2, OPA's, never read a vertical tab as \s). One
# for one: no part of a string is lost, no two parts join, and lengths and window edges are kept.
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def readable(text: str) -> str:
    """``text`` with each character the interpreter cannot read as U+FFFD (see above)."""
    return _UNREADABLE.sub("\ufffd", text) if _UNREADABLE.search(text) else text


def _readable_document(value: Any) -> Any:
    # Every string of a JSON-like document made readable, object keys included.
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, Mapping):
        return {readable(k) if isinstance(k, str) else k: _readable_document(item)
                for k, item in value.items()}
    if isinstance(value, list | tuple):
        return [_readable_document(item) for item in value]
    return value


# What the key-word rules read of a key: its words of ASCII letters and digits.
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


def bounded_key(key: str) -> dict[str, str]:
    """The ``key`` (and, for a long one, ``key_flat``) of a string fact whose nearest key is
    ``key``, as the module says: ``key`` itself when it fits in ``KEY_WINDOW``."""
    if len(key) <= KEY_WINDOW:
        return {"key": key}
    squeezed = _NOT_WORD.sub("_", key)
    if len(squeezed) <= KEY_WINDOW:
        return {"key": squeezed}
    return {"key": squeezed[-KEY_WINDOW:], "key_flat": squeezed.replace("_", "").lower()}


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
    if not isinstance(strings, list) or not any(_is_long(fact) or _has_long_key(fact)
                                                for fact in strings):
        return step
    windowed: list[Any] = []
    over = False
    for fact in strings:
        if _has_long_key(fact):
            fact = {**fact, **bounded_key(fact["key"])}
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


def _has_long_key(fact: Any) -> bool:
    return (isinstance(fact, Mapping) and isinstance(fact.get("key"), str)
            and len(fact["key"]) > KEY_WINDOW)


def windowed_input(policy_input: Mapping[str, Any]) -> Mapping[str, Any]:
    """The input the engines evaluate: ``policy_input`` (a plan's or one call's) with every
    string readable and the scanned strings of its steps, and their keys, cut to windows."""
    result = _readable_document(policy_input)
    budget = [MAX_LONG_STRING_CHARS]
    steps = result.get("steps")
    if isinstance(steps, list):
        result["steps"] = [_windowed_step(s, budget) if isinstance(s, Mapping) else s
                           for s in steps]
    step = result.get("step")
    if isinstance(step, Mapping):
        result["step"] = _windowed_step(step, budget)
    return result
