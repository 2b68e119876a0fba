"""User ids that could pass for another's: the checks ``settings_users`` makes of each id, and
of the declared ids together.

Every display names who acted by id (``requester: alice``, ``approved by alice``) and the
approval gate tells people apart by id, exactly. Two ids a reader cannot tell apart would let
an approver pass for the requester, so these are refused:

- an id a display would show as another: a space at its start or end, two spaces in a row, a
  space other than U+0020, or an invisible character: a formatting one (U+200B, U+202E...),
  any Unicode calls default-ignorable (a variation selector, a Hangul filler...) or a blank
  (U+2800). A zero-width joiner or non-joiner is allowed where a name is spelt with one
  (Unicode TR 39, IDNA's CONTEXTJ): after a virama (Sinhala 'Sri', U+0DCA then U+200D),
  and a non-joiner between letters of a script whose letters join (Persian 'Alireza');
- an id whose letters come from more than one script (a Cyrillic 'а' among Latin letters):
  a letter of one script can pass for another's. Chinese, Japanese and Korean ids may mix
  Han, kana, hangul and Latin letters, as those languages are written (Unicode TR 39's
  "highly restrictive" level);
- two declared ids that are the same once Unicode compatibility forms (NFKC: 'ｂｏｂ', 'ﬁ')
  and case are folded ('Alice' beside 'alice') and default-ignorable characters dropped (a
  name with its joiner beside the name without: Unicode's NFKC_Casefold).
- an id that is, or folded reads as, an actor Baton records its own ledger events under
  ('policy', 'executor', 'gate', 'planner': ``executor.ledger.SystemActor``): a user 'policy'
  would approve as the engine decides, under the same name.

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
                         "HANGUL", "BOPOMOFO", "HENTAIGANA"})

#: Han and kana marks and numerals whose names start otherwise ('VERTICAL IDEOGRAPHIC
#: ITERATION MARK' 〻, 'HANGZHOU NUMERAL ONE' 〡, 'MASU MARK' 〼): Chinese and Japanese too.
_EAST_ASIAN_MARKS = ((0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035), (0x3038, 0x303C))

#: Default_Ignorable_Code_Point, from DerivedCoreProperties.txt of Unicode 15.1 (Python's
#: unicodedata does not give it): characters a display shows as nothing.
_DEFAULT_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
                      (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
                      (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
                      (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
                      (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))

#: Characters that are not default-ignorable but show as a blank all the same.
_BLANKS = frozenset({"\u2800",  # BRAILLE PATTERN BLANK
                     "\U00016FE4"})  # KHITAN SMALL SCRIPT FILLER

_ZWNJ, _ZWJ = "\u200c", "\u200d"
_VIRAMA = 9  # the canonical combining class of a virama (U+094D, U+0DCA...)

#: The start of the Unicode names of the letters of the scripts whose letters join, where a
#: ZWNJ keeps two apart (Persian 'Alireza'). IDNA's CONTEXTJ asks more, each letter's
#: Joining_Type, which Python's unicodedata does not give: any letter of these scripts is
#: taken to join here.
_JOINING_SCRIPTS = ("ARABIC ", "SYRIAC ", "NKO ", "MONGOLIAN ", "MANDAIC ", "MANICHAEAN ",
                    "PSALTER PAHLAVI ", "ADLAM ", "HANIFI ROHINGYA ", "SOGDIAN ", "PHAGS-PA ",
                    "CHORASMIAN ", "OLD UYGHUR ")


def lookalike_problem(uid: str) -> str | None:
    """Why ``uid`` would read as another id, if it would (see the module's docstring)."""
    return (_spacing_problem(uid) or _invisible_problem(uid) or _mixed_script_problem(uid)
            or _system_actor_problem(uid))


def folded(uid: str) -> str:
    """``uid`` with its compatibility forms and case folded: two ids the same folded read as
    the same person. For comparing ids only, never for looking one up."""
    # Unicode's NFKC_Casefold, which Python lacks: the ignorables go before and after, since
    # NFKC makes some ('\u3164' is '\u1160') and dropping one lets letters compose.
    once = _visible(unicodedata.normalize("NFKC", _visible(uid)).casefold())
    return unicodedata.normalize("NFKC", _visible(unicodedata.normalize("NFKC", once)))


def lookalike_groups(uids: Iterable[str]) -> list[list[str]]:
    """The ids of ``uids`` that are another's once folded, in groups, in the order given."""
    groups: dict[str, list[str]] = {}
    for uid in uids:
        groups.setdefault(folded(uid), []).append(uid)
    return [group for group in groups.values() if len(group) > 1]


def lookalike_words(group: list[str]) -> str:
    """Why the ids of a :func:`lookalike_groups` group are refused together."""
    if any(_visible(uid) != uid for uid in group):
        how = ("differ only in invisible characters (Unicode default-ignorable: "
               f"{_listed(group, ascii)})")
    elif all(unicodedata.normalize("NFKC", uid) == uid for uid in group):
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
    hidden = next((char for at, char in enumerate(uid)
                   if _invisible(char) and not _joiner_spelling(uid, at)), None)
    if hidden is None:
        return None
    shown = "".join(char for char in uid if not _invisible(char))
    return (f"the user id {uid!r} holds an invisible character, {_named(hidden)}: it reads as "
            f"{shown!r}; give the id without it")


def _invisible(char: str) -> bool:
    return (unicodedata.category(char) == "Cf" or _default_ignorable(char)
            or char in _BLANKS)


def _default_ignorable(char: str) -> bool:
    return _within(char, _DEFAULT_IGNORABLE)


def _within(char: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(first <= ord(char) <= last for first, last in ranges)


def _visible(text: str) -> str:
    return "".join(char for char in text if not _default_ignorable(char))


def _joiner_spelling(uid: str, at: int) -> bool:
    """Whether the ZWJ or ZWNJ at ``uid[at]`` is where a name is spelt with it (IDNA's
    CONTEXTJ rules, RFC 5892 A.1, A.2): after a virama, or a ZWNJ between joining letters."""
    if uid[at] not in (_ZWNJ, _ZWJ) or at == 0:
        return False
    if unicodedata.combining(uid[at - 1]) == _VIRAMA:
        return True
    if uid[at] == _ZWJ:
        return False
    return _joins(_past_marks(reversed(uid[:at]))) and _joins(_past_marks(uid[at + 1:]))


def _past_marks(chars: Iterable[str]) -> str | None:
    """The first of ``chars`` that is not a combining mark: marks between a letter and a ZWNJ
    do not break the join (their Joining_Type is T, transparent)."""
    return next((char for char in chars if unicodedata.category(char) not in ("Mn", "Me")),
                None)


def _joins(char: str | None) -> bool:
    return (char is not None and unicodedata.category(char).startswith("L")
            and unicodedata.name(char, "").startswith(_JOINING_SCRIPTS))


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


def _system_actor_problem(uid: str) -> str | None:
    # Imported here: at the top it would load the executor package, SQLAlchemy with it, for
    # `baton --help` too. Every command but `baton token` loads it anyway.
    from executor.ledger import SystemActor

    names = [actor.value for actor in SystemActor]
    actor = next((name for name in names if folded(name) == folded(uid)), None)
    if actor is None:
        return None
    reads = "is" if uid == actor else f"reads as {actor!r},"
    return (f"the user id {uid!r} {reads} a name Baton records its own actions under in the "
            f"ledger ({', '.join(names)}): what this user did would read as Baton's, and "
            "no one could tell the person from the engine; give the person another id")


def _script(char: str) -> str | None:
    """The script of a letter, as the first word of its Unicode name (LATIN, CYRILLIC...);
    None for what is not a letter (digits, marks, punctuation belong to every script) and
    for modifier letters (ʼ, ˈ), which Latin and other scripts share."""
    if _within(char, _EAST_ASIAN_MARKS):
        return "CJK"
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
    shows = char.isprintable() and not char.isspace() and not _invisible(char)
    return f"{char!r} ({code})" if shows else code
