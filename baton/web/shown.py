"""Text from a plan, a user or a tool as the pages show it: as the CLI prints it.

Control and format characters are escaped as ``printable`` writes them (``\\x1b``, ``\\u202e``):
a right-to-left override or an invisible character in a goal, an argument or an output must
not reorder or hide what an approver reads and then signs. The templates apply ``shown`` to
every value they write (Jinja's ``finalize``, before HTML escaping), so no page can forget it
and nothing is escaped twice.
"""

from __future__ import annotations

import json

from markupsafe import Markup, escape

from planner.problems import printable


def shown(value: object) -> object:
    """Jinja's ``finalize``: a string as ``printable`` writes it; HTML built by this package
    (``Markup``, its text made shown where it was built) and other values as they are."""
    if isinstance(value, str) and not isinstance(value, Markup):
        text = str(value)  # as Jinja writes it: an enum of strings by its str()
        return text if text.isprintable() else printable(text)
    return value


def shown_lines(text: str) -> str:
    """``text`` with each line as ``printable`` writes it: its line breaks kept, as those of
    indented JSON are (its strings' own line breaks are escapes already, ``\\n``)."""
    return "\n".join(line if line.isprintable() else printable(line)
                     for line in text.split("\n"))


def lines_html(text: str) -> Markup:
    """``shown_lines`` as HTML, for a ``<pre>``: the Jinja filter ``lines``."""
    return Markup("\n").join(escape(line) for line in shown_lines(text).split("\n"))


def visible_json(value: object) -> str:
    """``value`` as indented JSON in which each character ``printable`` escapes is a JSON escape
    (``\\u202e``): the same value to a parser, nothing reordered or hidden to a reader."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # Outside its strings, indented JSON holds only printable characters and line breaks.
    return "\n".join(line if line.isprintable() else _json_escaped(line)
                     for line in text.split("\n"))


def _json_escaped(line: str) -> str:
    return "".join(ch if printable(ch) == ch else json.dumps(ch)[1:-1] for ch in line)
