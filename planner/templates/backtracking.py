"""How long a template's regex may take to match a text: a bound read from the pattern's shape.

Python's ``re`` backtracks, and nothing can stop a match once it runs (it has no time
limit, and a thread cannot be interrupted), so ``^(a|aa)*b$`` against a long run of
``a`` tries exponentially many ways and a goal or a template file could hang every plan.
Template patterns are therefore held to a budget of steps, bounded from their shape:

- each place the matcher can come back to (a repeat's count, the branches of ``a|b``)
  multiplies the ways the rest of the pattern is tried, and a repeat of something that
  itself has several ways (``(a+)+``, ``(a|aa)*``) multiplies them once per iteration;
- except where the text that follows cannot begin the way the choice goes on:
  ``[a-z]+\\.csv`` gives the count back one character at a time, but only the longest
  run can be followed by ``.``, so it is one way, not one per character (likewise
  ``\\s+`` before a word, or one of ``"x"|'x'|x`` by its first character).

The bound is conservative: it may count a pattern as slow that matches quickly, never the
other way round, and anything it cannot bound (a back-reference, a conditional) counts as
unbounded. A pattern whose bound exceeds :data:`BUDGET` for a text of
:data:`CHECKED_LENGTH` characters is refused when the template is read; a longer text is
checked against its own length before the pattern runs (the bound only grows with it),
and refused when over the budget: a value that is out of bounds, a goal the pattern does
not match. So a slow pattern fails closed, with a message, instead of hanging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from re import _casefix, _compiler, _parser  # type: ignore[attr-defined]
from re import _constants as C  # type: ignore[attr-defined]  # noqa: N812
from typing import Any

# Steps a match may take: a fraction of a second of ``re`` even at its slowest per step.
BUDGET = 5_000_000
# Every pattern must keep to the budget for texts this long (the catch-all probes are 500).
CHECKED_LENGTH = 1_000
# Characters of the text after a repeat that are looked at to tell where it may stop.
_LOOKAHEAD = 8
# Ranges up to this size are compared character by character; larger ones by their bounds.
_ENUMERATED = 512
_CAP = 10**30  # counts saturate here: only whether they exceed the budget matters


class _Unbounded(Exception):
    """The pattern uses something whose matching time has no bound from its shape."""


# ---------------------------------------------------------------------------------------
# Character sets: a single-character item of the pattern (a literal, a class, ``.``).


@dataclass(frozen=True, slots=True, eq=False)
class _Char:
    """One character item; made by :func:`_char` only, so that equal ones are the same
    object (compared and hashed by identity: they key several caches)."""

    op: Any
    av: Any  # hashable: an IN's list of (op, av) pairs becomes a tuple
    flags: int


@lru_cache(maxsize=65536)
def _char(op: Any, av: Any, flags: int) -> _Char:
    return _Char(op, av, flags)


# A set of characters a position may hold: a frozenset of _Char (their union), or None for
# "any character at all" (nothing known).
CharSet = frozenset | None
_EMPTY: frozenset = frozenset()


def _union(a: CharSet, b: CharSet) -> CharSet:
    return None if a is None or b is None else a | b


@lru_cache(maxsize=4096)
def _matcher(char: _Char) -> Any:
    """The compiled regex of one character item, as ``re`` itself matches it."""
    state = _parser.State()
    state.flags = char.flags
    av = [tuple(item) for item in char.av] if char.op is C.IN else char.av
    return _compiler.compile(_parser.SubPattern(state, [(char.op, av)]), char.flags)


def _matches(char: _Char, code: int) -> bool:
    return _matcher(char).fullmatch(chr(code)) is not None


@dataclass(frozen=True, slots=True)
class _Atoms:
    """A character item as a union of parts, or the complement of one (``negated``)."""

    negated: bool
    chars: frozenset  # code points, with their other cases when the item ignores case
    categories: tuple  # \d \s \w and their negations
    ranges: tuple  # (low, high) too large to list
    flags: int
    cased: bool  # whether a listed character has another case

    def listed_for(self, flags: int) -> bool:
        """Whether ``chars`` is every character listed, as an item with ``flags`` sees it.

        Ignoring case, ``re`` compares lower cases, and ``chars`` holds them; an item that
        does not ignore case could also tell apart a rarer form (the Kelvin sign for k)."""
        return not (self.cased and self.flags & re.IGNORECASE and not flags & re.IGNORECASE)


def _with_cases(codes: set[int]) -> set[int]:
    """The listed characters with their other cases (see :meth:`_Atoms.listed_for`)."""
    out = set(codes)
    for code in codes:
        char = chr(code)
        for other in (char.lower(), char.upper(), char.title(), char.casefold()):
            if len(other) == 1:
                out.add(ord(other))
    for code in list(out):
        out.update(_casefix._EXTRA_CASES.get(code, ()))
    return out


@lru_cache(maxsize=4096)
def _atoms(char: _Char) -> _Atoms:
    ignore_case = bool(char.flags & re.IGNORECASE)
    codes: set[int] = set()
    categories: list[Any] = []
    ranges: list[tuple[int, int]] = []
    negated = False
    if char.op is C.LITERAL:
        codes.add(char.av)
    elif char.op is C.NOT_LITERAL:
        negated, codes = True, {char.av}
    elif char.op is C.ANY:
        negated = True
        codes = set() if char.flags & re.DOTALL else {ord("\n")}
    else:  # IN
        for op, av in char.av:
            if op is C.NEGATE:
                negated = True
            elif op is C.LITERAL:
                codes.add(av)
            elif op is C.RANGE and av[1] - av[0] < _ENUMERATED:
                codes.update(range(av[0], av[1] + 1))
            elif op is C.RANGE:
                ranges.append(av)
            else:
                categories.append(av)
    cased = any(chr(code).lower() != chr(code).upper() for code in codes)
    if ignore_case:
        codes = _with_cases(codes)
    return _Atoms(negated, frozenset(codes), tuple(categories), tuple(ranges), char.flags,
                  cased)


# a ⊆ b for the categories of \d \s \w (digits are word characters; a space is neither).
_SUBSET = {
    (C.CATEGORY_DIGIT, C.CATEGORY_WORD), (C.CATEGORY_DIGIT, C.CATEGORY_NOT_SPACE),
    (C.CATEGORY_WORD, C.CATEGORY_NOT_SPACE), (C.CATEGORY_SPACE, C.CATEGORY_NOT_WORD),
    (C.CATEGORY_SPACE, C.CATEGORY_NOT_DIGIT), (C.CATEGORY_NOT_WORD, C.CATEGORY_NOT_DIGIT),
}
_COMPLEMENT = {
    C.CATEGORY_DIGIT: C.CATEGORY_NOT_DIGIT, C.CATEGORY_NOT_DIGIT: C.CATEGORY_DIGIT,
    C.CATEGORY_SPACE: C.CATEGORY_NOT_SPACE, C.CATEGORY_NOT_SPACE: C.CATEGORY_SPACE,
    C.CATEGORY_WORD: C.CATEGORY_NOT_WORD, C.CATEGORY_NOT_WORD: C.CATEGORY_WORD,
}


def _category_within(small: Any, large: Any) -> bool:
    return small == large or (small, large) in _SUBSET


def _part_within(part: Any, whole: _Atoms, flags: int) -> bool:
    """Whether a category or large range of an item is inside the parts of ``whole``."""
    if whole.flags != flags:
        return False
    if isinstance(part, tuple):  # a range: inside a range, when case does not widen either
        return not flags & re.IGNORECASE and any(
            low <= part[0] and part[1] <= high for low, high in whole.ranges)
    return any(_category_within(part, other) for other in whole.categories)


def _parts_apart(a: Any, b: Any, flags_a: int, flags_b: int) -> bool:
    """Whether two categories or large ranges share no character (False when unsure)."""
    if flags_a != flags_b:
        return False
    if isinstance(a, tuple) and isinstance(b, tuple):
        return not flags_a & re.IGNORECASE and (a[1] < b[0] or b[1] < a[0])
    if isinstance(a, tuple) or isinstance(b, tuple):
        return False
    return b in _COMPLEMENT and _category_within(a, _COMPLEMENT[b])


@lru_cache(maxsize=65536)
def _chars_apart(a: _Char, b: _Char) -> bool:
    """Whether no character matches both items; False when that cannot be shown."""
    atoms_a, atoms_b = _atoms(a), _atoms(b)
    if atoms_a.negated and atoms_b.negated:
        return False
    if atoms_a.negated:
        a, b, atoms_a, atoms_b = b, a, atoms_b, atoms_a
    if not atoms_a.listed_for(b.flags) or any(_matches(b, code) for code in atoms_a.chars):
        return False
    for part in (*atoms_a.categories, *atoms_a.ranges):
        if atoms_b.negated:
            if not _part_within(part, atoms_b, atoms_a.flags):
                return False
            continue
        alone = _char(C.IN, ((C.CATEGORY, part),) if not isinstance(part, tuple)
                      else ((C.RANGE, part),), atoms_a.flags)
        if not atoms_b.listed_for(a.flags) or any(_matches(alone, code)
                                                  for code in atoms_b.chars):
            return False
        if not all(_parts_apart(part, other, atoms_a.flags, atoms_b.flags)
                   for other in (*atoms_b.categories, *atoms_b.ranges)):
            return False
    return True


@lru_cache(maxsize=65536)
def _apart(a: CharSet, b: CharSet) -> bool:
    if a is None or b is None:
        return a == _EMPTY or b == _EMPTY
    return all(_chars_apart(x, y) for x in a for y in b)


# ---------------------------------------------------------------------------------------
# The pattern as a tree of the parts that cost time.


@dataclass(frozen=True, slots=True)
class _Node:
    kind: str  # char, zero, branch, repeat, opaque
    first: CharSet = _EMPTY  # what its first character may be (without what follows)
    nullable: bool = False  # whether it may match no text
    minwidth: int = 0
    char: _Char | None = None
    children: tuple = ()  # branch: alternatives; repeat, opaque: (body,) — each a tuple of nodes
    width: int = 0  # repeat: the least its body matches
    low: int = 0
    high: int = 0
    possessive: bool = False


def _seq_first(nodes: tuple) -> tuple[CharSet, bool]:
    first: CharSet = _EMPTY
    for node in nodes:
        first = _union(first, node.first)
        if not node.nullable:
            return first, False
    return first, True


def _nodes(data: Any, flags: int) -> tuple:
    out: list[_Node] = []
    for op, av in data:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            char = _char(op, tuple(av) if op is C.IN else av, flags)
            out.append(_Node("char", frozenset({char}), False, 1, char))
        elif op is C.AT:
            out.append(_Node("zero", _EMPTY, True))
        elif op is C.SUBPATTERN:  # a group matches as its contents do, under its own flags
            _, add, remove, body = av
            out.extend(_nodes(body.data, (flags | add) & ~remove))
        elif op is C.BRANCH:
            alternatives = tuple(_nodes(alt.data, flags) for alt in av[1])
            firsts = [_seq_first(alt) for alt in alternatives]
            first: CharSet = _EMPTY
            for alt_first, _ in firsts:
                first = _union(first, alt_first)
            out.append(_Node("branch", first, any(n for _, n in firsts),
                             min(_width(alt) for alt in alternatives), children=alternatives))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            low, high, body = av
            inner = _nodes(body.data, flags)
            first, nullable = _seq_first(inner)
            width = _width(inner)
            out.append(_Node("repeat", first if high else _EMPTY, low == 0 or nullable,
                             low * width, children=(inner,), width=width, low=low, high=high,
                             possessive=op is C.POSSESSIVE_REPEAT))
        elif op is C.ATOMIC_GROUP:
            inner = _nodes(av.data, flags)
            first, nullable = _seq_first(inner)
            out.append(_Node("opaque", first, nullable, _width(inner), children=(inner,)))
        elif op in (C.ASSERT, C.ASSERT_NOT):
            # Zero width, but not cheap to try: nothing is assumed of what follows it.
            out.append(_Node("opaque", None, True, 0, children=(_nodes(av[1].data, flags),)))
        elif op in (C.GROUPREF, C.GROUPREF_EXISTS):
            raise _Unbounded("it refers back to a group ((?P=name), \\1 or (?(1)...)), "
                             "whose matching time has no bound")
        else:
            raise _Unbounded(f"it uses {op}, which is not bounded here")
    return tuple(out)


def _width(nodes: tuple) -> int:
    return sum(node.minwidth for node in nodes)


# What may follow a place in the pattern: one or more ways the text may go on (a repeat
# that may be left out gives two), each the sets of its next characters and whether the
# text must end right after them (else nothing is known beyond them).
@dataclass(frozen=True, slots=True)
class _Path:
    positions: tuple
    ends: bool

    @property
    def first(self) -> CharSet:
        if self.positions:
            return self.positions[0]
        return _EMPTY if self.ends else None


_UNKNOWN = (_Path((), False),)
_MAX_PATHS = 8


def _first_of(paths: tuple) -> CharSet:
    first: CharSet = _EMPTY
    for path in paths:
        first = _union(first, path.first)
    return first


_END = "end"  # a position past the end of a path that must end there: no character


def _at(path: _Path, index: int) -> Any:
    if index < len(path.positions):
        return path.positions[index]
    return _END if path.ends and index == len(path.positions) else None


def _paths_apart(these: tuple, those: tuple) -> bool:
    """Whether no text can go on along one of ``these`` and one of ``those`` for long: each
    pair differs at some position (one needs a character the other cannot have there)."""
    for one in these:
        for other in those:
            for index in range(_LOOKAHEAD + 1):
                a, b = _at(one, index), _at(other, index)
                if a is None or b is None or (a == _END and b == _END):
                    return False
                if a == _END or b == _END or _apart(a, b):
                    break
            else:
                return False
    return True


def _follow(nodes: tuple, after: tuple, start: int = 0) -> tuple:
    """The ways the text may go on: ``nodes`` from ``start``, then one of ``after``'s paths."""
    paths: list[_Path] = []
    positions: tuple = ()
    for index in range(start, len(nodes)):
        node = nodes[index]
        if len(positions) >= _LOOKAHEAD:
            paths.append(_Path(positions, False))
            break
        if node.kind == "char":
            positions = (*positions, node.first)
        elif node.kind != "zero":  # where the text goes on after this one is not known
            paths.append(_Path((*positions, node.first), False))
            if not node.nullable:
                break
            # ... or it matches nothing, and the text goes on with what follows it
    else:
        for path in after:
            merged = positions + path.positions
            paths.append(_Path(merged[:_LOOKAHEAD], path.ends and len(merged) <= _LOOKAHEAD))
    if len(paths) > _MAX_PATHS:  # too many to tell apart: only their first characters
        return (_Path((_first_of(tuple(paths)),), False),)
    return tuple(paths)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A node with what its cost depends on beyond the text's length, worked out once."""

    node: _Node
    parts: tuple = ()  # of tuples of _Plan (alternatives; a body)
    apart: bool = False  # branch: the alternatives start differently; repeat: see _repeat
    stops: int | None = None  # single-character repeat: the most counts that may go on
    again: tuple = ()  # repeat: the body, when another iteration is all that follows
    out: tuple = ()  # repeat: the body, when what follows the repeat is all that follows


def _plan_seq(nodes: tuple, after: tuple) -> tuple:
    # A character or an anchor costs the same whatever follows it: no need to work that out.
    return tuple(_Plan(node) if node.kind in ("char", "zero")
                 else _plan(node, _follow(nodes, after, i + 1)) for i, node in enumerate(nodes))


def _plan(node: _Node, after: tuple) -> _Plan:
    if node.kind == "branch":
        parts = tuple(_plan_seq(alt, after) for alt in node.children)
        ways = [_follow(alt, after) for alt in node.children]
        apart = all(_paths_apart(a, b) for i, a in enumerate(ways) for b in ways[i + 1:])
        return _Plan(node, parts, apart)
    if node.kind == "repeat":
        (body,) = node.children
        # After an iteration comes another one, or what follows the repeat.
        iteration = _follow(body, _UNKNOWN)
        again = iteration if node.high > 1 else ()
        parts = (_plan_seq(body, again + after),)
        stops = None
        if len(body) == 1 and body[0].kind == "char":
            # A count short of the longest run is followed by one more of the same
            # character: past the first position that cannot hold one, only the last few
            # counts can go on.
            stops = 0
            for path in after:
                for index, position in enumerate(path.positions, 1):
                    if _apart(body[0].first, position):
                        stops += index
                        break
                else:
                    if not path.ends:
                        stops = None
                        break
                    stops += len(path.positions) + 1
        # A count short of the most is followed by one more iteration: when what follows
        # the repeat cannot go on like one, only the most can go on.
        _, nullable = _seq_first(body)
        apart = not nullable and _paths_apart(iteration, after)
        if stops is not None or (len(body) == 1 and body[0].kind == "char"):
            return _Plan(node, parts, apart, stops)  # one character: one way, either way on
        return _Plan(node, parts, apart, stops, _plan_seq(body, again) if again else (),
                     _plan_seq(body, after))
    if node.kind == "opaque":
        return _Plan(node, (_plan_seq(node.children[0], _UNKNOWN),))
    return _Plan(node)


def _cap(value: float) -> int:
    return int(value) if value < _CAP else _CAP


# The cost of a part at a text length: (ways out, steps, linear). Each way out tries what
# follows once more. ``linear`` is (fixed, per_char) with steps <= fixed + per_char * the
# characters the part consumes, or None: only parts that never go back on a choice and do
# not read ahead (a lookaround) have it; a repeat of such a body costs in proportion to
# the text, not to its count times the text.
_Cost = tuple[int, int, tuple[float, float] | None]


def _cost_seq(plans: tuple, length: int) -> _Cost:
    """A sequence: each way out of one part tries all the rest."""
    ways, steps = 1, 0
    linear: tuple[float, float] | None = (0, 0)
    for plan in plans:
        out, cost, line = _cost(plan, length)
        steps = _cap(steps + ways * cost)
        if linear is not None and line is not None and ways <= 1:
            linear = (linear[0] + line[0], linear[1] + line[1])
        else:
            linear = None
        ways = _cap(ways * out)
    return ways, steps, linear


def _cost(plan: _Plan, length: int) -> _Cost:
    node = plan.node
    if node.kind in ("char", "zero"):
        return 1, 1, (1, 0)
    if node.kind == "opaque":  # tried in full each time, then never gone back into
        ways, steps, _ = _cost_seq(plan.parts[0], length)
        return 1, _cap(ways + steps), None
    if node.kind == "branch":
        results = [_cost_seq(alt, length) for alt in plan.parts]
        ways = max(r[0] for r in results) if plan.apart else sum(r[0] for r in results)
        steps = _cap(sum(r[1] for r in results) + len(results))
        lines = [r[2] for r in results]
        linear = None
        if plan.apart and all(line is not None for line in lines):
            linear = (sum(line[0] for line in lines) + len(lines),  # type: ignore[index]
                      sum(line[1] for line in lines))  # type: ignore[index]
        return _cap(ways), steps, linear
    return _repeat(plan, length)


def _repeat(plan: _Plan, length: int) -> _Cost:
    node = plan.node
    _, body_steps, body_line = _cost_seq(plan.parts[0], length)
    again_ways = _cost_seq(plan.again, length)[0] if plan.again else 0
    out_ways = max(_cost_seq(plan.out, length)[0], 1) if plan.out else 1
    width = node.width
    most = length // width if width else length + 1
    count = min(node.high, most)
    if again_ways <= 1:  # one way into each next iteration: the choice is how many
        choices = max(count - node.low + 1, 0)
        if out_ways > 1:  # the end of every iteration may go on in several ways
            ends = choices
        elif plan.stops is not None:
            ends = min(choices, plan.stops)
        elif plan.apart:
            ends = min(choices, 1)
        else:
            ends = choices
        # Each count given back tries what follows, which fails within a few characters.
        per_count = plan.stops or 1
        steps = _cap(count * body_steps + (count + 1) * per_count)
        linear = None
        if body_line is not None and width:
            # The iterations share the text: together they read it once, and the one that
            # fails may read the rest of it.
            fixed = body_line[0] + per_count
            linear = (fixed, 2 * body_line[1] + fixed / width)
            steps = min(steps, _cap(fixed + linear[1] * length))
        ways = min(ends, 1) if node.possessive else _cap(ends * out_ways)
        return ways, steps, linear
    total, power = 1, 1
    for _ in range(count):  # every way into each iteration, for every number of them
        power = _cap(power * again_ways)
        total = _cap(total + power)
        if total >= _CAP:
            break
    ways = 1 if node.possessive else _cap(total * out_ways)
    return ways, _cap(total * (body_steps + 1)), None


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Analysis:
    plans: tuple
    refused: str | None


@lru_cache(maxsize=4096)
def _analysed(pattern: str, flags: int) -> _Analysis:
    try:
        parsed = _parser.parse(pattern, flags)
        nodes = _nodes(parsed.data, parsed.state.flags)
        return _Analysis(_plan_seq(nodes, (_Path((), True),)), None)
    except _Unbounded as exc:
        return _Analysis((), str(exc))
    except RecursionError:
        return _Analysis((), "it is nested too deeply to be bounded")


def match_steps(pattern: str, flags: int = 0, *, length: int) -> int | None:
    """A bound on the steps of ``re.fullmatch(pattern, text, flags)`` for any text of
    ``length`` characters; None when the pattern has no bound (see :func:`pattern_problem`)."""
    analysis = _analysed(pattern, flags)
    if analysis.refused is not None:
        return None
    return _cost_seq(analysis.plans, length)[1]


def too_slow(pattern: str, flags: int = 0, *, length: int) -> bool:
    """Whether a full match of a text of ``length`` characters may take over :data:`BUDGET`."""
    if length <= CHECKED_LENGTH and _keeps_to_budget(pattern, flags):
        return False  # the bound only grows with the length
    steps = match_steps(pattern, flags, length=length)
    return steps is None or steps > BUDGET


@lru_cache(maxsize=4096)
def _keeps_to_budget(pattern: str, flags: int) -> bool:
    steps = match_steps(pattern, flags, length=CHECKED_LENGTH)
    return steps is not None and steps <= BUDGET


def pattern_problem(pattern: str, flags: int = 0) -> str | None:
    """Why ``pattern`` may take too long to match, in words; None when it keeps to the budget
    for every text of up to :data:`CHECKED_LENGTH` characters."""
    analysis = _analysed(pattern, flags)
    if analysis.refused is not None:
        return analysis.refused
    steps = _cost_seq(analysis.plans, CHECKED_LENGTH)[1]
    if steps <= BUDGET:
        return None
    return (f"matching it against a text of {CHECKED_LENGTH} characters may take "
            f"{_amount(steps)} steps (the limit is {BUDGET:,}): a repeat inside a repeat "
            "((a+)+), a repeat of choices that overlap ((a|aa)*) or repeats side by side that "
            "can match the same characters (\\w+\\w+) multiply the ways re tries; write it so "
            "that each character can be matched only one way (^[a-z0-9]+([._-][a-z0-9]+)*"
            "\\.csv$ rather than ^([a-z0-9]+[._-]?)*\\.csv$), or bound the repeats ({1,64})")


def _amount(steps: int) -> str:
    return "more than 10^30" if steps >= _CAP else f"about {steps:.1e}"
