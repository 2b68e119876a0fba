"""What a secret may be called: a name a ``${secret:NAME}`` reference can write.

A ``[secrets]`` key or a declared secret outside this syntax (``"MY TOKEN"``) was accepted,
and ``${secret:MY TOKEN}``, which no reference matches, went out in a header as written.
"""

from __future__ import annotations

import re

from .redaction import CUT_MARK

#: The syntax of a secret's name.
SECRET_NAME_SYNTAX = r"[A-Za-z_][A-Za-z0-9_.-]*"
_SECRET_NAME = re.compile(SECRET_NAME_SYNTAX)
#: A reference; ``tools.builtin.http.SECRET_REF``, which fills them, is the same pattern.
SECRET_REFERENCE = re.compile(r"\$\{secret:(" + SECRET_NAME_SYNTAX + r")\}")
# What starts a reference: text holding it that is no whole reference would be sent as written.
REFERENCE_START = "${secret:"
# Where a quoted broken reference ends: its "}", or before what may start a URL's credential.
_PIECE_END = re.compile(r"[}:/?#@&=;\r\n]")
# What follows ``${secret:`` in a POSIX shell's expansion of a variable named ``secret``
# (``${secret:-default}``): no NAME starts so, and no one meant one. A digit may be a NAME
# mistyped (``${secret:1X}``), so bash's ``${secret:0:4}`` is refused with it.
_SHELL_EXPANSION = re.compile(r"[-=?+]")


def secret_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a secret, if it cannot."""
    if isinstance(name, str) and _SECRET_NAME.fullmatch(name):
        return None
    return (f"secret name {name!r} cannot be written as ${{secret:NAME}}: a name is a letter "
            f"or '_' then letters, digits, '_', '.' or '-' ({SECRET_NAME_SYNTAX})")


def broken_references(text: str, *, limit: int = 3, shown: int = 40) -> list[str]:
    """The first ``limit`` ``${secret:`` of ``text`` that start no whole reference, each with
    what follows it up to its ``}``: what :func:`broken_reference_problem` refuses, quotable
    (static validation names them).

    A piece is cut (ending in the cut mark) at ``shown`` characters and before a character
    that separates a URL's parts or a line: what follows ``=`` or ``:`` in a URL may be a
    credential, which the text around the piece would have shown masked.
    """
    rest = SECRET_REFERENCE.sub("", text)
    found: list[str] = []
    start = rest.find(REFERENCE_START)
    while start != -1 and len(found) < limit:
        if _SHELL_EXPANSION.match(rest, start + len(REFERENCE_START)):
            start = rest.find(REFERENCE_START, start + len(REFERENCE_START))
            continue
        # Read within ``shown`` only: text holding many unclosed starts stays linear.
        tail = rest[start + len(REFERENCE_START):start + shown + 1]
        end = _PIECE_END.search(tail)
        if end is None:
            piece = REFERENCE_START + tail
        elif end.group() == "}":
            piece = REFERENCE_START + tail[:end.end()]
        else:
            piece = REFERENCE_START + tail[:end.start()] + CUT_MARK
        found.append(piece[:shown - 1] + CUT_MARK if len(piece) > shown else piece)
        start = rest.find(REFERENCE_START, start + len(REFERENCE_START))
    return found


def broken_reference_problem(text: str) -> str | None:
    """Why ``text`` holds a ``${secret:`` that is no whole reference, if it does."""
    if not broken_references(text, limit=1):
        return None
    return (f"holds {REFERENCE_START!r} outside a reference ${{secret:NAME}} (NAME matching "
            f"{SECRET_NAME_SYNTAX}): it would be sent as written")
