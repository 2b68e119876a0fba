"""What a secret may read as once something on its way transformed it, and a fast test of
whether a text may hold any of many such texts (:mod:`tools.redaction` masks them).

A server writes back what it was sent: a latin-1 header value read as UTF-8, a value in a
host name lower-cased, Basic auth's base64 of ``user:secret``. Line-wrapped values (a long
token split across lines) are not among these.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any


def decoded_forms(secret: str) -> tuple[str, ...]:
    """``secret``, and what it reads as where its bytes were decoded with the wrong charset:
    a latin-1 value (as a header carries it) read back as UTF-8, each byte that is no UTF-8
    replaced (``pässwörd`` as ``p\\ufffdssw\\ufffdrd``), and its UTF-8 read as latin-1
    (``pÃ¤sswÃ¶rd``). A secret that is all ASCII reads the same either way."""
    forms = [secret]
    for encoding, decoding in (("latin-1", "utf-8"), ("utf-8", "latin-1")):
        try:
            forms.append(secret.encode(encoding).decode(decoding, "replace"))
        except UnicodeEncodeError:  # not latin-1, or a lone surrogate: no header carries it
            pass
    return tuple(dict.fromkeys(forms))


# The fewest UTF-8 bytes a secret has for its base64 and hex to be looked for: shorter, they
# are short enough to be part of any base64 or hex text (an image, a digest).
MIN_ENCODED_BYTES = 8
_URL_SAFE = str.maketrans("+/", "-_")


def encoded_forms(secret: str) -> tuple[str, ...]:
    """``secret``'s UTF-8 as hex (either case) and as base64 (standard and URL-safe), as a
    server writes back what it was sent (Basic auth's base64 of ``user:secret``).

    A secret inside a longer text starts at any of three places of a 3-byte group, and
    base64 writes each group as 4 characters of 6 bits: for each place, the characters made
    of the secret's bits alone (the 1 or 2 at each end that the bytes around it change are
    left out, and stay unmasked).
    """
    try:
        data = secret.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no server was sent it
        return ()
    if len(data) < MIN_ENCODED_BYTES:
        return ()
    forms = [data.hex(), data.hex().upper()]
    for before in range(3):
        written = base64.b64encode(bytes(before) + data).decode("ascii")
        own = written[-(-8 * before // 6):(before + len(data)) * 8 // 6]
        forms += [own, own.translate(_URL_SAFE)]
    return tuple(dict.fromkeys(forms))


# Characters by how often ordinary text and data hold them, the most often first: a needle is
# looked for by a piece of it that begins with its rarest, where the regex engine, skipping
# ahead to a place where a piece could begin, skips the most text.
_COMMON = " etaoinsrhldcumfpgwybvk0123456789.,:;-_/'\"\n\t()[]{}<>@#&%=+*!?|\\"
_RARITY = {char: -at for at, char in enumerate(_COMMON)}
# How long a piece of a needle (:func:`anchor`) is: long enough that a text holding one by
# chance is as rare as a text holding the needle (then looked for whole).
ANCHOR_CHARS = 12


def anchor(needle: str) -> str:
    """The piece of ``needle`` (of :data:`ANCHOR_CHARS`) that begins with its rarest
    character, the earliest of those."""
    if len(needle) <= ANCHOR_CHARS:
        return needle
    starts = range(len(needle) - ANCHOR_CHARS + 1)
    at = max(starts, key=lambda at: (_RARITY.get(needle[at], 1), -at))
    return needle[at:at + ANCHOR_CHARS]


def any_of(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern found where any of ``words`` is, written as the tree of their shared starts
    (the regex engine reads a character once for all the words that share it, not once for
    each word). Where a word ends, longer ones starting with it need not be read on."""
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for char in word:
            if "" in node:
                break
            node = node.setdefault(char, {})
        else:
            node.clear()
            node[""] = {}
    return re.compile(_branches(tree))


def _branches(node: dict[str, Any]) -> str:
    parts = []
    for char, child in node.items():
        run = [re.escape(char)]
        while len(child) == 1 and "" not in child:  # a run of characters no word leaves
            ((char, child),) = child.items()
            run.append(re.escape(char))
        parts.append("".join(run) + ("" if "" in child else _branches(child)))
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


__all__ = ["MIN_ENCODED_BYTES", "anchor", "any_of", "decoded_forms", "encoded_forms"]
