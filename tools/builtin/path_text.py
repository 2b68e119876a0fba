"""Workspace paths as text that any plan, output and ledger can hold, and back.

A POSIX file name is bytes and need not be UTF-8; Python hands such a name back with a
lone surrogate per bad byte (``os.fsdecode``), which cannot be stored or sent. So the
files tools write a path as text by one rule, and read every path and pattern they are
given by the same rule:

- a path that is UTF-8 and holds no backslash is itself (``path_encoding`` ``"utf-8"``);
- otherwise (``"escaped"``) each backslash is doubled and each byte that is not part of
  valid UTF-8 is written ``\\xNN`` (two lower-case hex digits).

The mapping is one-to-one: a text given back must be exactly what :func:`shown` writes
for the bytes it decodes to, so no file has two spellings (``\\x41`` for ``A``,
``\\xc3\\xa9`` for ``é``), and an escape can never spell ``/``, ``.`` or a NUL that the
path checks would not see.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from ..errors import ToolInputError

PathEncoding = Literal["utf-8", "escaped"]

PATH_ENCODING_DESCRIPTION = (
    "'utf-8': `path` is the name as it is. 'escaped': the name holds a backslash or bytes that "
    "are not UTF-8, so `path` doubles each backslash and writes each such byte as \\xNN; pass "
    "`path` back to files.* as it is and it names the same file.")

# An escape, a doubled backslash, a stray backslash, or a run of plain text.
_TOKEN = re.compile(r"\\x([0-9a-fA-F]{2})|(\\\\)|(\\)|[^\\]+", re.DOTALL)


def shown(os_path: str) -> str:
    """``os_path`` (as ``os`` functions take and give it) written as storable text."""
    raw = os.fsencode(os_path)
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def encoding_of(text: str) -> PathEncoding:
    """Whether ``text`` (from :func:`shown`) is the name itself or holds escapes."""
    return "escaped" if "\\" in text else "utf-8"


def os_path(text: str, *, what: str = "path") -> str:
    """The path ``text`` (written as :func:`shown` writes it) as ``os`` functions take it.

    ``ToolInputError`` (``path_refused``) for a stray backslash, or for any spelling other
    than the one :func:`shown` gives, naming the spelling to use.
    """
    raw = bytearray()
    for token in _TOKEN.finditer(text):
        byte, doubled, stray = token.groups()
        if stray is not None:
            raise ToolInputError(
                f"{what} {text!r} has a backslash that starts no escape: files.* read a {what} "
                "as files.list writes paths, a backslash doubled and a byte that is not UTF-8 as "
                "\\xNN (directories are separated by '/')", code="path_refused")
        if byte is not None:
            raw.append(int(byte, 16))
        elif doubled is not None:
            raw += b"\\"
        else:
            try:
                raw += token.group().encode("utf-8")
            except UnicodeEncodeError:
                raise ToolInputError(f"{what} {text!r} is not valid Unicode (a lone surrogate); "
                                     "write bytes that are not UTF-8 as '\\xNN'",
                                     code="path_refused") from None
    if 0 in raw:
        raise ToolInputError(f"{what} {text!r} holds a NUL, which no file name can",
                             code="path_refused")
    name = os.fsdecode(bytes(raw))
    if shown(name) != text:  # one spelling per name: '\x41' for 'A' would slip past checks
        raise ToolInputError(f"{what} {text!r} is not escaped the way files.list writes it; "
                             f"write {shown(name)!r}", code="path_refused")
    return name
