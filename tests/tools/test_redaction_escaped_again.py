"""A secret is masked however many times it was JSON-escaped, not once only.

A model's plan carries each step's arguments as ``args_json``, JSON text inside the reply's
JSON: a ``"`` of a secret there reads ``\\\\\\"``, a ``\\`` reads four backslashes, an ``ü``
``\\\\u00fc`` (or ``ü``, or ``\\u00fc``, as each encoder chose). Masking knew one level of
escaping, and the recorded reply kept ``hunter\\\\\\"2-QUOTED-PASSWORD`` readable in the
ledger, decodable to the exact secret.
"""

from __future__ import annotations

import json

import pytest

from tools.redaction import CUT_MARK, REDACTED, redact

QUOTED = 'hunter"2-QUOTED-PASSWORD'
GERMAN = 'Grüße"Kö\\nig-7f3a'  # a quote, a backslash (then n) and non-ASCII
SLASHED = "ab\\\\cd/ef-9f3k"  # a run of two backslashes, a slash


def escaped(text: str, levels: int, ensure_ascii: bool) -> str:
    """``text`` JSON-escaped ``levels`` times (the quotes around each level left out)."""
    for _ in range(levels):
        text = json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]
    return text


@pytest.mark.parametrize("secret", [QUOTED, GERMAN, SLASHED])
@pytest.mark.parametrize("levels", [2, 3, 4])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_secret_escaped_several_times_is_masked(secret, levels, ensure_ascii):
    echoed = escaped(secret, levels, ensure_ascii)
    assert redact(f"x {echoed} y", [secret]) == f"x {REDACTED} y"


@pytest.mark.parametrize("secret", [QUOTED, GERMAN, SLASHED])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_secret_in_args_json_inside_a_reply_is_masked_and_the_reply_stays_json(
        secret, ensure_ascii):
    args = json.dumps({"path": secret, "note": f"{secret}\\"}, ensure_ascii=ensure_ascii)
    reply = json.dumps({"steps": [{"id": "load", "args_json": args}]},
                       ensure_ascii=ensure_ascii)
    masked = redact(reply, [secret])
    # Still a reply whose args_json decodes, the secret nowhere in it.
    decoded = json.loads(json.loads(masked)["steps"][0]["args_json"])
    assert decoded == {"path": REDACTED, "note": f"{REDACTED}\\"}


def test_each_character_may_be_escaped_at_a_level_of_its_own():
    # ü written raw at the first level and escaped at the second; the quote escaped twice.
    once = json.dumps(GERMAN, ensure_ascii=False)[1:-1]
    assert redact(json.dumps(once)[1:-1], [GERMAN]) == REDACTED
    # A bytes repr quoted in JSON: its \\xc3\\xbc becomes \\\\xc3\\\\xbc.
    shown = json.dumps(repr(GERMAN.encode()))
    assert redact(shown, [GERMAN]) == f'"b\'{REDACTED}\'"'


@pytest.mark.parametrize("text", [
    "hunter\\\\\\u0023-QUOTED-PASSWORD",  # another character escaped twice
    'hunter\\\\\\"2-QUOTED-PASSWORx',
])
def test_text_that_only_resembles_a_secret_escaped_twice_is_left_alone(text):
    assert redact(text, [QUOTED, GERMAN]) == text


def test_the_start_of_a_secret_escaped_twice_is_masked_before_the_cut_mark():
    # Gr\\u00fc\\u00dfe, then two of the three backslashes escaping the quote twice
    cut = f"x {escaped(GERMAN, 2, True)[:19]}{CUT_MARK}"
    assert redact(cut, [GERMAN]) == f"x {REDACTED}{CUT_MARK}"

