"""Rego source cut into tokens, and the reference paths they spell (``a.b["c"]``).

Read by the bundle's namespacing on OPA (:mod:`policies.opa_namespace`, which writes the
source back from every token, space and comments included) and by the scan of the data keys
policies read (:mod:`policies.data_references`, which needs only the tokens that mean
something, with how deep in braces each is). Strings, raw strings and comments are one token
each, so nothing written inside them reads as a reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<op>:=|==|!=|<=|>=)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

_INSIGNIFICANT = ("space", "comment")


@dataclass(frozen=True)
class Token:
    kind: str  # a group of _TOKEN: comment, string, raw, ident, number, op, space, other
    text: str
    start: int
    end: int
    depth: int  # braces open before it: 0 at the top level of the module


def tokens(source: str, *, significant: bool = False) -> list[Token]:
    """The tokens of ``source`` in order; ``significant``: only those that mean something (no
    space, no comment)."""
    found, depth = [], 0
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "other"
        if significant and kind in _INSIGNIFICANT:
            continue
        text = match.group()
        depth -= text == "}"
        found.append(Token(kind, text, match.start(), match.end(), max(depth, 0)))
        depth += text == "{"
    return found


def path_at(found: list[Token], i: int) -> tuple[tuple[str, ...], int]:
    """The reference path starting at token ``i`` (idents joined by dots, or ``["str"]``;
    empty when no ident is there) and the index of the token after it."""
    if i >= len(found) or found[i].kind != "ident":
        return (), i
    path = [found[i].text]
    i += 1
    while i + 1 < len(found):
        if found[i].text == "." and found[i + 1].kind == "ident":
            path.append(found[i + 1].text)
            i += 2
        elif (found[i].text == "[" and found[i + 1].kind == "string" and i + 2 < len(found)
              and found[i + 2].text == "]"):
            path.append(json.loads(found[i + 1].text))
            i += 3
        else:
            break
    return tuple(path), i
