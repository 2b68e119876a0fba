"""The embedded engine runs a secret pattern only on the strings that may hold a match of it.

rego-cpp's regular expressions backtrack: the URL-password pattern's scheme part tried every
letter of a window of random letters and digits, about 6 ms a window, so one call sending a
MiB of such text was judged in 20 s or more, holding its run meanwhile. Each string is now
given the patterns that may match it (``may_match``): those whose pieces of literal text it
holds (``://``, ``AKIA``...). Dropping a pattern must never drop a finding.
"""

from __future__ import annotations

import random
import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.bundle import PolicyBundle
from policies.contracts import Requester, StepCall
from policies.embedded import EmbeddedEngine, compiled_for
from policies.long_strings import (
    WINDOW,
    pattern_pieces,
    secret_pattern_pieces,
    with_pattern_hints,
)

SHIPPED = PolicyBundle.load()
PATTERNS = SHIPPED.data["secret_patterns"]
URL_PASSWORD = next(i for i, p in enumerate(PATTERNS) if "://" in p["pattern"])


def _token(length: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


def test_every_shipped_secret_pattern_has_pieces_of_literal_text():
    pieces = secret_pattern_pieces(PATTERNS)
    assert pieces is not None and None not in pieces
    assert pieces[URL_PASSWORD] == {"://"}
    assert pattern_pieces("(AKIA|ASIA|A3T[A-Z0-9])[A-Z0-9]{16}") == {"AKIA", "ASIA", "A3T"}
    assert pattern_pieces("[Bb]earer +[A-Za-z0-9._~+/=-]{20,}") == {"Bearer", "bearer"}


@pytest.mark.parametrize("pattern", [
    "(?i)akia[0-9]{16}",  # flags: rego-cpp refuses them, RE2 reads them
    r"\x41KIA", r"\u0041KIA", r"\p{Lu}KIA", r"\QAKIA\E", r"\101KIA",  # escapes read apart
    "[[:upper:]]KIA", "[]a]KIA", "[^]a]KIA",  # classes read apart
    "AKIA{,3}", "AKIA{", "AKIA}", "AKIA]",  # braces and brackets read apart
    "(?=AKIA)AK", "(?P<k>AKIA)", "(?<k>AKIA)",  # look-arounds and named groups
    "AKIA(", "AKIA)", "*AKIA", "AKIA**", "AKIA*+",
    "ÄKIA",  # not ASCII: std::regex repeats the last byte of a character, RE2 the character
    "a*", "(AKIA)?", "AKIA|", "x|.*",  # may match any text
])
def test_syntax_the_engines_may_read_apart_gives_no_pieces(pattern):
    assert pattern_pieces(pattern) is None


# Patterns in the syntax the pieces are read from: plain characters, escaped punctuation,
# classes, groups, alternation and repeats.
_ATOMS = st.sampled_from(["a", "b", "K", "1", "-", ":", "/", " ", "_", "@", r"\.", r"\-",
                          r"\/", "[ab]", "[Kk]", "[a-z]", "[^a]", ".", r"\d", r"\s", r"\w"])
_QUANTIFIERS = st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{1,3}", "{2,}", "+?", "*?"])


# A group's repeat is bounded: an unbounded repeat of a group holding repeats ((a*)*b) makes
# Python's re, which draws and checks the texts, backtrack for minutes.
_GROUP_QUANTIFIERS = st.sampled_from(["", "", "?", "{2}", "{1,2}"])


def _patterns(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    group = st.builds(lambda b, q, nc: f"({'?:' if nc else ''}{b}){q}",
                      st.lists(inner, min_size=1, max_size=3).map("|".join), _GROUP_QUANTIFIERS,
                      st.booleans())
    return st.lists(st.one_of(inner, group), min_size=1, max_size=6).map("".join)


_PATTERN = st.recursive(st.builds(lambda a, q: a + q, _ATOMS, _QUANTIFIERS), _patterns,
                        max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pattern=_PATTERN)
def test_every_match_of_a_pattern_holds_one_of_its_pieces(data, pattern):
    # The text is drawn from the pattern, so it holds a match; searching it again is not
    # needed, and on a generated pattern with nested repeats ((a*)*b) Python's re may
    # backtrack for minutes, where no timeout can interrupt it.
    text = data.draw(st.from_regex(re.compile(pattern, re.ASCII)))
    pieces = pattern_pieces(pattern)
    assert pieces is None or any(piece in text for piece in pieces), (pattern, text, pieces)


def test_a_window_of_random_letters_and_digits_is_given_no_secret_pattern():
    pieces = secret_pattern_pieces(PATTERNS)
    facts = [{"path": "$.args.body", "key": "body", "value": _token(WINDOW, seed),
              "length": 1 << 20, "entropy": 5.95} for seed in range(50)]
    url = {"path": "$.args.body", "key": "body", "value": "x https://a:b@host/ y"}
    hinted = with_pattern_hints({"step": {"id": "s", "strings": [*facts, url]}}, pieces)
    strings = hinted["step"]["strings"]
    assert [fact["may_match"] for fact in strings[:-1]] == [[]] * 50
    assert strings[-1]["may_match"] == [URL_PASSWORD]


SECRETS = {
    "an AWS access key": "AKIAIOSFODNN7EXAMPLE",
    "an API key (sk-...)": "sk-" + "Zk3x9QpL2mWv8RtY" * 2,
    "a GitHub token": "ghp_" + "Zk3x9QpL2mWv8RtY" * 3,
    "a Slack token": "xoxb-1234567890-abcdefghij",
    "a private key": "-----BEGIN RSA PRIVATE KEY-----",
    "a bearer token": "Bearer " + "Zk3x9QpL2mWv8RtY" * 2,
    "a password inside a URL": "postgres://admin:hunter2@db.internal/app",
}


def _denials(engine: EmbeddedEngine, body: str) -> tuple[str, ...]:
    call = StepCall(run_id="r-1", plan_id="p-1", step_id="send", tool="files.write",
                    effect="write", args={"path": "out.txt", "text": body},
                    requester=Requester(id="alice", roles=("analyst",)))
    return engine.check_step(call).deny


def _bodies() -> list[str]:
    # Each secret deep in random text, one starting just before a window's end (found whole
    # only in the next window), and text holding pieces but no secret.
    bodies = [_token(3_000, 1) + " " + secret + " " + _token(700, 2) for secret in SECRETS.values()]
    bodies.append(_token(WINDOW - 7, 3) + SECRETS["an AWS access key"] + _token(2_000, 4))
    bodies.append(" ".join(SECRETS.values()))
    bodies.append(_token(2_000, 5) + " see https://example.com/a b ghp_ sk- AKIA xoxb bearer ")
    return bodies


def test_the_rules_find_the_same_secrets_with_the_hints_as_without(monkeypatch):
    engine = EmbeddedEngine(SHIPPED)
    hinted = [_denials(engine, body) for body in _bodies()]
    monkeypatch.setattr(compiled_for(SHIPPED), "_pattern_pieces", None)
    assert hinted == [_denials(engine, body) for body in _bodies()]
    for (kind, _), denials in zip(SECRETS.items(), hinted, strict=False):
        assert any(kind in d for d in denials), (kind, denials)
    assert hinted[-1] == ()
