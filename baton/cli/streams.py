"""The CLI's standard streams, made independent of the locale's encoding.

Python encodes stdout in the locale's encoding (or ``PYTHONIOENCODING``): Latin-1 or ASCII
on some servers and containers. Text for people may lose a character there, never the
command; data for programs (an export) is UTF-8 whatever the locale says.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class ReplacingStream:
    """``sys.stdout`` or ``sys.stderr``, writing "?" for what its encoding cannot encode.

    The stream is looked up at each write, not kept, so that whatever replaced it since (a
    test's capture) is written to. Everything else (``encoding``, ``isatty``, ``flush``)
    is the stream's own: rich reads ``encoding`` to draw tables in ASCII where it must.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def stream(self) -> TextIO:
        """The stream written to now."""
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        """Write ``text``, each character the stream's encoding lacks replaced by "?"."""
        stream = self.stream
        encoding = getattr(stream, "encoding", None)
        if encoding:
            text = text.encode(encoding, "replace").decode(encoding)
        return stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def utf8_stdout() -> Iterator[TextIO]:
    """stdout as UTF-8 text with "\\n" line ends whatever the locale; stdout is left open.

    A stdout without a byte buffer (an embedding's ``StringIO``) holds text, not bytes, and
    is given as it is.
    """
    sys.stdout.flush()  # what was written before goes first
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        yield sys.stdout
        return
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
    try:
        yield text
    finally:
        # Flushes, then lets go of the buffer without closing it (a collected wrapper would).
        text.detach()
