"""Masking a text is linear in its length, whatever runs of letters or blanks it holds.

The secret pattern for a password inside a URL was run with Python's ``re`` from every
position of the text (``[A-Za-z][A-Za-z0-9+.-]*://…``): before a "://", each letter of a long
run read the rest of the run again, so ``"a" * n + "://"`` took time quadratic in ``n``
(40,000 letters: 4.4 s; a goal of 40,003 characters took 10.5 s to plan; a 1 MiB body about
an hour). The trailing blanks of a JSON text written again were found the same way
(``[\\s\\ufeff]*\\Z`` from every position: 20,000 blanks inside a body took 3.3 s, and the
64 KiB a decoded text may hold about half a minute, for each string of a plan). Each is now
found from its one place (each "://", the end of the text), and the passwords found are
exactly those the pattern finds (compared here with the pattern itself on many texts).

The large texts below would take the old reading between several minutes and an hour (the
suite's timeout fails them); nothing here is timed: each asserts only what masking returns.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from planner.url_literals import MASK, masked_text, masked_value
from planner.url_user_information import hidden_passwords

# The secret pattern for a password inside a URL (policies/rego/data.yaml), its \s as the
# engines read it: what hidden_passwords finds was found with it, from every position.
_PASSWORD_IN_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\t\n\r :@]+:([^/\t\n\r @]+)@")
_PASSWORD_END = re.compile(r"[/\t\n\r ]")


def _as_the_pattern_hides(text: str) -> str:
    """``text`` with each password the pattern finds hidden, as hidden_passwords hid them."""
    if "://" not in text:
        return text
    shown, end = [], 0
    for found in _PASSWORD_IN_URL.finditer(text):
        start = found.start(1)
        if start < end:
            continue
        stop = _PASSWORD_END.search(text, start)
        at = text.rfind("@", start, stop.start() if stop else len(text))
        if text[start:at] != MASK:
            shown += [text[end:start], MASK]
            end = at
    return "".join(shown) + text[end:]


_WRITTEN = [
    "https://alice:pw@h/x", "see https://alice:s3cret@db.example.com:5432/x and more",
    "xhttps://u:p@h", "1https://u:p@h", "+a.b-c://u:p@h", "9+://u:p@h", "a1://u:p@h",
    "https://u:p@q@r/x@y", "https://u:p:q@h", "https://:p@h", "https://u:@h", "https://u:p",
    "https://u:p@h https://v:q@g", "https://u:***@h", "https://u:*** @h", "s://u:p@s://v:w@h",
    "https://alice\u00a0x:pw@h", "https://h?next=u:pw@x", "https://u:p\u2028w@h",
    "https://u:p\tq@h", "https:///u:p@h", "a://b://c:d@e", "\u00e9a://u:p@h", "A://u:p@h",
    "ftp://u:p@h\nftp://v:q@g", "http://u:p@h/https://v:q@g", "ht tp://u:p@h", "://u:p@h",
    "a.://u:p@h", "-a://u:p@h", "x://u:p@@h", "x://u:p@ @h", "x://u::p@h", "x://u:p@h:q@g",
]
# Characters the pattern and the reading turn on, and a few it does not.
_ALPHABET = "aZ9+.-:/@ \t\n?#*é\u00a0"


def _texts() -> list[str]:
    chance = random.Random(20240611)
    found = list(_WRITTEN)
    for _ in range(4_000):
        length = chance.randint(1, 24)
        found.append("".join(chance.choice(_ALPHABET) for _ in range(length)))
    # Pieces of URLs, joined at random: most hold a "://" and an "@".
    pieces = ["https", "://", "u", ":", "p", "@", "h", "/", " ", "a1", "+", ".", "?", "x@", "***"]
    for _ in range(4_000):
        found.append("".join(chance.choice(pieces) for _ in range(chance.randint(2, 14))))
    # URLs with user information, each part written in one of several ways, one to three.
    parts = [["", "x", " ", "1", "é", "+", "a.b", "@", "//", "u:p@"],
             ["https", "a", "A1+.-", "", "9", "-a", "a b"], ["://", ":/", "//", ":///"],
             ["u", "", "u u", "u@v", "u/v", MASK, "u?v", "u v", "u:v"], [":", "", "::"],
             ["p", "", "p:q", "p q", "p q", MASK, "p?q", "p/q", "p	q", "p#q", f"{MASK} "],
             ["@", "", "@@", "@ @"], ["h", "h/x", "h@g", "h:p@g/", "@", "", "h?u:p@g", "\n"]]
    for _ in range(4_000):
        found.append("".join("".join(chance.choice(part) for part in parts)
                             for _ in range(chance.randint(1, 3))))
    return found


def test_the_passwords_hidden_are_those_the_secret_pattern_finds():
    differ = [text for text in _texts() if hidden_passwords(text) != _as_the_pattern_hides(text)]
    assert differ == []


@pytest.mark.parametrize("text", [
    "a" * 1_000_000 + "://",
    "a" * 1_000_000 + "://x",
    "a" * 1_000_000 + "://x:",
    "see " + "a" * 1_000_000 + "://x:pw@host/ and more",
], ids=["scheme only", "user", "user and colon", "password"])
def test_a_long_run_of_letters_before_a_url_is_read_once(text):
    hidden = text.replace("://x:pw@", f"://x:{MASK}@")
    assert hidden_passwords(text) == hidden
    assert masked_text(text) == hidden


def test_a_long_goal_with_a_url_is_masked_as_written():
    goal = "fetch " + "a" * 500_000 + "://api.example.com/report?token=Zk3x9QpLm2Vb7Rt"
    assert masked_text(goal) == goal.replace("Zk3x9QpLm2Vb7Rt", MASK)


def test_json_texts_with_long_runs_of_blanks_are_written_again_whole():
    # Masked as text, the escaped URL shows no "://": each JSON text is written again from its
    # decoding masked, the blanks around it kept. Each is as long as the policy decodes one
    # (64 KiB): the old reading took about half a minute for each.
    body = ('\n {"cb": "https:\\/\\/h.example.com\\/?token=Zk3x9QpLm2Vb7Rt",' + " " * 63_000
            + '"x": 1} \t\ufeff ')
    shown = masked_value([body] * 16)
    assert len(shown) == 16
    for text in shown:
        assert text.startswith("\n {") and text.endswith("} \t\ufeff ")
        assert json.loads(text.strip(" \t\n\ufeff")) == {
            "cb": f"https://h.example.com/?token={MASK}", "x": 1}
