"""User ids that could pass for another's: the checks ``settings_users`` makes of each id, and
of the declared ids together.

Every display names who acted by id (``requester: alice``, ``approved by alice``) and the
approval gate tells people apart by id, exactly. Two ids a reader cannot tell apart would let
an approver pass for the requester, so these are refused:

- an id a display would show as another: a space at its start or end, two spaces in a row, a
  space other than U+0020, or an invisible formatting character (U+200B, U+202E...);
- an id whose letters come from more than one script (a Cyrillic 'а' among Latin letters):
  a letter of one script can pass for another's. Chinese, Japanese and Korean ids may mix
  Han, kana, hangul and Latin letters, as those languages are written (Unicode TR 39's
  "highly restrictive" level);
- two declared ids that are the same once Unicode compatibility forms (NFKC: 'ｂｏｂ', 'ﬁ')
  and case are folded ('Alice' beside 'alice').

Folding only ever refuses a pair: lookups (``--as``, a token's user) stay exact, so two users
are never merged into one. Not caught: two ids each wholly in its own script that look alike
(Cyrillic 'асе' beside Latin 'ace'); that needs Unicode's table of confusable characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable

#: The first word of the Unicode names of letters of the Chinese, Japanese and Korean scripts,
#: which ids in those languages mix (with Latin letters: 'Tanaka山田').
_EAST_ASIAN = frozenset({"CJK", "IDEOGRAPHIC", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA",
                         "HANGUL", "BOPOMOFO"})


def lookalike_problem(uid: str) -> str | None:
    """Why ``uid`` would read as another id, if it would (see the module's docstring)."""
    return _spacing_problem(uid) or _invisible_problem(uid) or _mixed_script_problem(uid)


def folded(uid: str) -> str:
    """``uid`` with its compatibility forms and case folded: two ids the same folded read as
    the same person. For comparing ids only, never for looking one up."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", uid).casefold())


def lookalike_groups(uids: Iterable[str]) -> list[list[str]]:
    """The ids of ``uids`` that are another's once folded, in groups, in the order given."""
    groups: dict[str, list[str]] = {}
    for uid in uids:
        groups.setdefault(folded(uid), []).append(uid)
    return [group for group in groups.values() if len(group) > 1]


def lookalike_words(group: list[str]) -> str:
    """Why the ids of a :func:`lookalike_groups` group are refused together."""
    if all(unicodedata.normalize("NFKC", uid) == uid for uid in group):
        how = "differ only in case"
    else:  # the escapes show what differs: the ids themselves print alike
        how = f"differ only in forms of the same letters (Unicode NFKC: {_listed(group, ascii)})"
    return (f"users {_listed(group, repr)} {how}: an approver could pass for the requester; "
            "give each person an id no one could take for another's")


def _listed(uids: list[str], shown: Callable[[str], str]) -> str:
    """'a', 'b' and 'c'."""
    words = [shown(uid) for uid in uids]
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _spacing_problem(uid: str) -> str | None:
    if uid != uid.strip():  # str.strip strips every Unicode space, as the eye does
        where = "starts" if uid[0].isspace() else "ends"
        return (f"the user id {uid!r} {where} with a space, which no display shows: it reads "
                f"as {uid.strip()!r}; give the id without it")
    odd = next((char for char in uid if char.isspace() and char != " "), None)
    if odd is not None:
        return (f"the user id {uid!r} holds {_named(odd)}, which reads as a plain space or "
                "none; write a plain space (U+0020)")
    if "  " in uid:
        return (f"the user id {uid!r} holds two spaces in a row, which read as one; write one "
                "space")
    return None


def _invisible_problem(uid: str) -> str | None:
    hidden = next((char for char in uid if unicodedata.category(char) == "Cf"), None)
    if hidden is None:
        return None
    shown = "".join(char for char in uid if unicodedata.category(char) != "Cf")
    return (f"the user id {uid!r} holds an invisible character, {_named(hidden)}: it reads as "
            f"{shown!r}; give the id without it")


def _mixed_script_problem(uid: str) -> str | None:
    # Compatibility forms first: a fullwidth or mathematical 'ａ' is a Latin letter here.
    first_of: dict[str, str] = {}  # script → its first letter in the id
    for char in unicodedata.normalize("NFKC", uid):
        script = _script(char)
        if script is not None:
            first_of.setdefault("CJK" if script in _EAST_ASIAN else script, char)
    if "CJK" in first_of:  # written with Latin letters too
        first_of.pop("LATIN", None)
    if len(first_of) < 2:
        return None
    one, other = list(first_of.values())[:2]
    return (f"the user id {uid!r} mixes letters of two scripts, {_named(one)} and "
            f"{_named(other)}: a letter of one script can pass for another's; write the id in "
            "one script")


def _script(char: str) -> str | None:
    """The script of a letter, as the first word of its Unicode name (LATIN, CYRILLIC...);
    None for what is not a letter (digits, marks, punctuation belong to every script) and
    for modifier letters (ʼ, ˈ), which Latin and other scripts share."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    if not name or name.startswith("MODIFIER LETTER"):
        return None
    return name.split()[0]


def _named(char: str) -> str:
    """``char`` as a message names it: 'а' (U+0430 CYRILLIC SMALL LETTER A)."""
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}{' ' + name if name else ''}"
    return f"{char!r} ({code})" if char.isprintable() and not char.isspace() else code
