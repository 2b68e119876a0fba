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
# reads and writes) scans at about 0.8 s of CPU per MiB on the embedded engine, random
# letters and digits or base64 alike (each secret pattern runs only on the windows that
# hold a piece of its literal text, see below; before, such text took 4 to 15 s per MiB),
# so a step may still copy a file of a few MiB. Past this, the step is denied, not judged
# in part.
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


# -- which secret patterns may match a string ------------------------------------------------
#
# The embedded interpreter's regular expressions backtrack: the URL-password pattern's
# ``[A-Za-z][A-Za-z0-9+.-]*://`` tries every letter of a window as a scheme's start and reads
# on to the window's end, so a window of random letters and digits cost 6 ms (a MiB, 4,100
# windows, 24 s) against 0.4 ms for words. A pattern can only match a string holding one of
# the pieces of literal text every match of it holds (``://`` there, ``AKIA``, ``ASIA`` or
# ``A3T`` for an AWS key id): each string fact is given the indexes of the patterns that may
# match it (``may_match``), and the rules run only those (secrets.rego: ``patterns_to_try``).
# The pieces are read by a parser that knows only syntax std::regex (the embedded
# interpreter's), RE2 (OPA's) and Python read alike; a pattern written otherwise has no
# pieces and is run on every string, as before.

# The most strings a piece of literal text is chosen among (``[Bb]earer`` is two).
_MAX_LITERALS = 16
# Characters that are themselves outside a class in every dialect; ``]`` and ``}`` alone are
# not (std::regex refuses some forms RE2 takes as literal).
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                   " !\"#%&',-/:;<=>@_`~")
# Escaped, each of these is itself in every dialect.
_ESCAPED = frozenset(".^$*+?()[]{}|\\/-")
# A class of these alone is the set of its characters (no range, negation or escape).
_CLASS_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_QUANTIFIER = re.compile(r"\{([0-9]{1,4})(,([0-9]{0,4}))?\}")


class _Unsure(Exception):  # noqa: N818 - the parser's "cannot tell", never raised out of it
    """The pattern uses syntax the dialects may read differently."""


class _Part:
    """What a piece of a pattern matches: ``exact``, every text it can match (None: too many
    or unknown); ``pieces``, texts one of which every match of it holds (None: unknown)."""

    __slots__ = ("exact", "pieces")

    def __init__(self, exact: frozenset[str] | None, pieces: frozenset[str] | None = None) -> None:
        self.exact = exact
        self.pieces = exact if pieces is None and exact is not None else pieces


_ANY = _Part(None)
_EMPTY = _Part(frozenset({""}))  # an anchor or \b: matches no character


def _product(left: frozenset[str], right: frozenset[str]) -> frozenset[str] | None:
    if len(left) * len(right) > _MAX_LITERALS:
        return None
    return frozenset(a + b for a in left for b in right)


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more telling of two choices of pieces: the longer shortest piece, then fewer."""
    def rank(p: frozenset[str] | None) -> tuple[int, int]:
        return (-1, 0) if not p or "" in p else (min(map(len, p)), -len(p))
    return a if rank(a) >= rank(b) else b


class _Parser:
    """Reads a pattern into a :class:`_Part` (see above); raises ``_Unsure``."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def parse(self) -> _Part:
        part = self._alternation()
        if self.at != len(self.text):
            raise _Unsure  # a ")" with no "("
        return part

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _alternation(self) -> _Part:
        branches = [self._sequence()]
        while self._peek() == "|":
            self.at += 1
            branches.append(self._sequence())
        if len(branches) == 1:
            return branches[0]
        exact: frozenset[str] | None = frozenset()
        pieces: frozenset[str] | None = frozenset()
        for branch in branches:
            exact = exact | branch.exact if exact is not None and branch.exact is not None else None
            if pieces is not None and branch.pieces and "" not in branch.pieces:
                pieces = pieces | branch.pieces
            else:
                pieces = None  # a branch that may match anything: any text may match
        if exact is not None and len(exact) > _MAX_LITERALS:
            exact = None
        return _Part(exact, pieces if exact is None else None)

    def _sequence(self) -> _Part:
        parts: list[_Part] = []
        while self._peek() not in ("", "|", ")"):
            parts.append(self._quantified(self._atom()))
        best: frozenset[str] | None = None
        run: frozenset[str] | None = frozenset({""})  # the exact texts of the parts just read
        whole: frozenset[str] | None = frozenset({""})
        for part in parts:
            whole = _product(whole, part.exact) if whole is not None and part.exact else None
            if part.exact is None:
                best = _better(_better(best, run), part.pieces)
                run = frozenset({""})
                continue
            joined = _product(run, part.exact) if run is not None else None
            if joined is None:  # too many: what was read so far is one piece, a new one begins
                best = _better(best, run)
                joined = part.exact
            run = joined
        best = _better(best, run)
        return _Part(whole, None if whole is not None else best)

    def _atom(self) -> _Part:
        char = self._peek()
        self.at += 1
        if char in _PLAIN:
            return _Part(frozenset({char}))
        if char == ".":
            return _ANY
        if char in "^$":
            return _EMPTY
        if char == "\\":
            escaped = self._peek()
            self.at += 1
            if escaped in _ESCAPED and escaped:
                return _Part(frozenset({escaped}))
            if escaped and escaped in "dDsSwW":
                return _ANY
            if escaped and escaped in "bB":
                return _EMPTY
            raise _Unsure
        if char == "[":
            return self._class()
        if char == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self._peek() == "?":
                raise _Unsure  # a look-around, a named group, flags
            inner = self._alternation()
            if self._peek() != ")":
                raise _Unsure
            self.at += 1
            return inner
        raise _Unsure  # a quantifier with nothing before it, "]", "}", a control character...

    def _class(self) -> _Part:
        negated = self._peek() == "^"
        self.at += negated
        if self._peek() in ("]", ""):
            raise _Unsure  # "[]" and "[^]" mean different things in different dialects
        chars: set[str] = set()
        plain = not negated
        while self._peek() != "]":
            char = self._peek()
            if char in ("", "["):
                raise _Unsure  # unclosed, or [:alpha:] and the like
            if char == "\\":
                self.at += 1
                plain = False
            elif char not in _CLASS_LETTERS:
                plain = False
            chars.add(char)
            self.at += 1
        self.at += 1
        if plain and len(chars) <= _MAX_LITERALS:
            return _Part(frozenset(chars))
        return _ANY

    def _quantified(self, part: _Part) -> _Part:
        char = self._peek()
        if char in ("*", "+", "?"):
            self.at += 1
            least, most = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            found = _QUANTIFIER.match(self.text, self.at)
            if found is None:
                raise _Unsure  # RE2 reads a "{" that starts no repeat as itself, std::regex not
            self.at = found.end()
            least = int(found.group(1))
            most = least if found.group(2) is None else (
                int(found.group(3)) if found.group(3) else None)
            if most is not None and most < least:
                raise _Unsure
        else:
            return part
        if self._peek() == "?":
            self.at += 1  # lazy: matches the same texts
        if self._peek() in ("*", "+", "?", "{"):
            raise _Unsure  # possessive, or a repeat of a repeat
        return _repeated(part, least, most)


def _repeated(part: _Part, least: int, most: int | None) -> _Part:
    """``part`` repeated ``least`` to ``most`` (None: no bound) times."""
    if least == 0:
        return _ANY  # may match nothing (an empty text holds no piece)
    # Every match holds its first copies in a row; a few say enough (a{1000} is no slower).
    times = min(least, 8)
    copies: frozenset[str] | None = frozenset({""})
    for _ in range(times):
        copies = _product(copies, part.exact) if copies is not None and part.exact else None
    if most == least == times and copies is not None:
        return _Part(copies)
    return _Part(None, _better(copies, part.pieces))


def pattern_pieces(pattern: str) -> frozenset[str] | None:
    """Texts one of which every match of ``pattern`` holds (in any dialect the engines
    use); None when that cannot be told, or any text may match."""
    if not isinstance(pattern, str):
        return None
    try:
        part = _Parser(pattern).parse()
    except _Unsure:
        return None
    except RecursionError:
        return None  # groups nested thousands deep: run on every string
    if not part.pieces or "" in part.pieces:
        return None
    return part.pieces


def secret_pattern_pieces(patterns: Any) -> tuple[frozenset[str] | None, ...] | None:
    """:func:`pattern_pieces` of each of ``secret_patterns`` (the policy data's list of
    ``{kind, pattern}``), in order; None when the list is not one."""
    if not isinstance(patterns, list) or not all(isinstance(p, Mapping) for p in patterns):
        return None
    return tuple(pattern_pieces(p.get("pattern")) for p in patterns)


def with_pattern_hints(policy_input: Mapping[str, Any],
                       pieces: tuple[frozenset[str] | None, ...]) -> Mapping[str, Any]:
    """``policy_input`` (windowed) with each string fact of its steps given ``may_match``:
    the indexes of the secret patterns whose ``pieces`` it holds one of (a pattern without
    pieces always)."""
    always = {i for i, found in enumerate(pieces) if found is None}
    each = [(piece, i) for i, found in enumerate(pieces) if found is not None for piece in found]

    def hinted(step: Any) -> Any:
        strings = step.get("strings") if isinstance(step, Mapping) else None
        if not isinstance(strings, list):
            return step
        facts = []
        for fact in strings:
            value = fact.get("value") if isinstance(fact, Mapping) else None
            if isinstance(value, str):
                held = always.union(i for piece, i in each if piece in value)
                fact = {**fact, "may_match": sorted(held)}
            facts.append(fact)
        return {**step, "strings": facts}

    result = dict(policy_input)
    if isinstance(result.get("steps"), list):
        result["steps"] = [hinted(s) for s in result["steps"]]
    if "step" in result:
        result["step"] = hinted(result["step"])
    return result
