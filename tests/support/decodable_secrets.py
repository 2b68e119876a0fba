"""Whether a text shown or stored holds a secret in any form that decoding it gives back:
as written, JSON-escaped any number of times, or inside a JSON string literal of the text
decoded once, twice, … (a model's ``args_json`` is JSON text inside the reply's JSON, which
the ledger stores inside its own)."""

from __future__ import annotations

import json
import re

# A JSON string literal: what json.loads gives back a string from.
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_DEPTH = 5


def escaped(text: str, levels: int, *, ensure_ascii: bool = True) -> str:
    """``text`` JSON-escaped ``levels`` times (the quotes around each level left out)."""
    for _ in range(levels):
        text = json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]
    return text


def holds_secret(text: str, secret: str) -> bool:
    """Whether ``secret`` is in ``text`` as written or escaped up to ``_DEPTH`` times, or in
    any string decoded from a JSON string literal in it (then from those, and so on)."""
    forms = {escaped(secret, levels, ensure_ascii=ascii)
             for levels in range(_DEPTH) for ascii in (True, False)}
    seen: set[str] = set()
    texts = [text]
    for _ in range(_DEPTH):
        found: list[str] = []
        for current in texts:
            if current in seen:
                continue
            seen.add(current)
            if any(form in current for form in forms):
                return True
            found += _decoded_strings(current)
        texts = found
    return False


def _decoded_strings(text: str) -> list[str]:
    """Each string a JSON string literal of ``text`` decodes to (whole-text values too)."""
    decoded: list[str] = []
    for literal in _STRING_LITERAL.findall(text):
        try:
            value = json.loads(literal)
        except ValueError:
            continue
        if isinstance(value, str):
            decoded.append(value)
    return decoded
