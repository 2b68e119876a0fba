"""Goal patterns: a small phrase syntax compiled to anchored, case-insensitive regexes.

Phrase syntax (the default)::

    total the {column} column of {source} [and] write it to {target}

- ``{name}`` captures the parameter ``name``: one word (no spaces) or a quoted
  phrase; typed parameters capture only their form (digits, yes/no, an enum value);
- ``(a|b)`` is a choice of literal words; ``[words]`` may be left out;
- any run of spaces matches any run of whitespace; everything else is literal.

A pattern that starts with ``re:`` is a raw regex whose named groups are parameters.
Every pattern must match the whole goal (trailing ``.``, ``!`` and ``?`` are ignored).
"""

from __future__ import annotations

import re

from .backtracking import pattern_problem
from .model import ParamType, Template, TemplateError, TemplateParam

_WORD = r"\"[^\"]+\"|'[^']+'|[^\s\"']+"
_TYPED = {
    ParamType.INT: r"[-+]?\d+",
    ParamType.NUMBER: r"[-+]?\d+(?:\.\d+)?",
    ParamType.BOOL: r"true|false|yes|no|on|off",
}


def capture_regex(param: TemplateParam | None) -> str:
    """What ``{name}`` matches for this parameter."""
    if param is None:
        return _WORD
    if param.enum:
        values = sorted((str(v) for v in param.enum), key=len, reverse=True)
        return "|".join(re.escape(v) for v in values)
    return _TYPED.get(param.type, _WORD)


def compile_pattern(pattern: str, template: Template) -> re.Pattern[str]:
    """The anchored, case-insensitive regex of one pattern of ``template``."""
    params = {p.name: p for p in template.params}
    if pattern.startswith("re:"):
        source = pattern[3:].strip()
    else:
        source = _phrase_to_regex(pattern.strip(), params, template.name)
    try:
        compiled = re.compile(rf"^(?:{source})$", re.IGNORECASE)
    except re.error as exc:
        raise TemplateError(f"template {template.name}: pattern {pattern!r} is invalid: {exc}") \
            from None
    slow = pattern_problem(compiled.pattern, compiled.flags)
    if slow is not None:  # goals are matched against it: it must not hang on one
        raise TemplateError(f"template {template.name}: pattern {pattern!r} may take too long "
                            f"to match: {slow}")
    missing = sorted(p.name for p in template.params
                     if p.required and p.name not in compiled.groupindex)
    if missing:
        raise TemplateError(f"template {template.name}: pattern {pattern!r} does not capture "
                            f"required parameter(s) {', '.join(missing)}")
    unknown = sorted(set(compiled.groupindex) - set(params))
    if unknown:
        raise TemplateError(f"template {template.name}: pattern {pattern!r} captures "
                            f"undeclared parameter(s) {', '.join(unknown)}")
    return compiled


_TOKEN = re.compile(r"\{([a-z][a-z0-9_]*)\}|\(([^()]*)\)|\[([^\[\]]*)\]|(\s+)|([^{}()\[\]\s]+)")


def _phrase_to_regex(phrase: str, params: dict[str, TemplateParam], name: str) -> str:
    parts: list[str] = []
    position = 0
    skip_space = False
    for match in _TOKEN.finditer(phrase):
        if match.start() != position:
            break
        position = match.end()
        capture, choice, optional, space, literal = match.groups()
        if space is not None:
            if not skip_space:
                parts.append(r"\s+")
            skip_space = False
            continue
        skip_space = False
        if capture is not None:
            if capture not in params:
                raise TemplateError(f"template {name}: pattern {phrase!r} names unknown "
                                    f"parameter {{{capture}}}")
            parts.append(f"(?P<{capture}>{capture_regex(params[capture])})")
        elif choice is not None:
            parts.append("(?:" + "|".join(_literal(c) for c in choice.split("|")) + ")")
        elif optional is not None:
            inner = _phrase_to_regex(optional.strip(), params, name)
            skip_space = _optional(parts, inner, followed_by_space=phrase[position:][:1].isspace())
        else:
            parts.append(_literal(literal))
    if position != len(phrase):
        raise TemplateError(f"template {name}: pattern {phrase!r} has an unbalanced "
                            f"bracket near position {position}")
    return "".join(parts)


def _optional(parts: list[str], inner: str, *, followed_by_space: bool) -> bool:
    """Append an optional group; True when it swallowed the space that follows it."""
    # Fold one neighbouring space into the group so that leaving the words out does not
    # leave two required spaces behind. The space before it, when there is one: folding
    # the one after made "a [b] [c]" need a space after "a" even with both left out.
    if parts and parts[-1] == r"\s+":
        parts[-1] = f"(?:\\s+{inner})?"
        return False
    if followed_by_space:  # at the start: "[please] list files"
        parts.append(f"(?:{inner}\\s+)?")
        return True
    parts.append(f"(?:{inner})?")
    return False


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in text.split())


def normalise_goal(goal: str) -> str:
    """The goal as matched: outer whitespace and trailing sentence punctuation removed."""
    return goal.strip().rstrip(".!?").strip()
