"""What a secret may be called: a name a ``${secret:NAME}`` reference can write.

A ``[secrets]`` key or a declared secret outside this syntax (``"MY TOKEN"``) was accepted,
and ``${secret:MY TOKEN}``, which no reference matches, went out in a header as written.
"""

from __future__ import annotations

import re

#: The syntax of a secret's name.
SECRET_NAME_SYNTAX = r"[A-Za-z_][A-Za-z0-9_.-]*"
_SECRET_NAME = re.compile(SECRET_NAME_SYNTAX)
#: A reference; ``tools.builtin.http.SECRET_REF``, which fills them, is the same pattern.
SECRET_REFERENCE = re.compile(r"\$\{secret:(" + SECRET_NAME_SYNTAX + r")\}")
# What starts a reference: text holding it that is no whole reference would be sent as written.
REFERENCE_START = "${secret:"


def secret_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a secret, if it cannot."""
    if isinstance(name, str) and _SECRET_NAME.fullmatch(name):
        return None
    return (f"secret name {name!r} cannot be written as ${{secret:NAME}}: a name is a letter "
            f"or '_' then letters, digits, '_', '.' or '-' ({SECRET_NAME_SYNTAX})")


def broken_reference_problem(text: str) -> str | None:
    """Why ``text`` holds a ``${secret:`` that is no whole reference, if it does."""
    if REFERENCE_START not in SECRET_REFERENCE.sub("", text):
        return None
    return (f"holds {REFERENCE_START!r} outside a reference ${{secret:NAME}} (NAME matching "
            f"{SECRET_NAME_SYNTAX}): it would be sent as written")
