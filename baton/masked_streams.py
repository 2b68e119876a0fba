"""``sys.stdout`` and ``sys.stderr`` for the commands that run tools, masking what tool code
writes to them itself.

The logs mask every configured secret (:mod:`baton.logging`), but a tool can also write to
the streams directly: ``print(..., file=sys.stderr)``, ``traceback.print_exc()``,
``sys.stderr.write(...)``, a plain ``print()``. While tools may run (``run``, ``resume``,
``worker``, ``serve``, ``demo``), both streams are replaced by :class:`MaskedStream`:

- What Baton's CLI writes itself (``baton.cli``: the run table, ``--json``, its error lines)
  goes through as it is, unbuffered; it is masked where it is made.
- What rich renders (a live display printing a tool's lines above its table, a tool's own
  console) is written whole by each call: masked call by call.
- Everything else (a tool, a library it calls) is masked line by line, a line held until its
  end is written (a secret split across two ``write`` calls is masked whole), and goes to the
  log stream, never to stdout: stdout is the command's output (``--json`` stays one document).
  On stderr in the console format it is written as it was, masked; where the logs are JSON
  lines (``worker``, ``serve``) each piece is an entry (``written to stderr``/``stdout``, its
  ``text``), masked as every entry is, so that the stream stays JSON lines.

Nothing is done unless something is written: a run whose tools write nothing pays nothing.
Writes below Python's streams (``os.write`` to the descriptor, a subprocess inheriting it,
a C extension) are not seen here.
"""

from __future__ import annotations

import atexit
import codecs
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from tools.redaction import REDACTED

# Who wrote, by the module of the code that called ``write``.
_OWN_OUTPUT = "baton.cli."  # the CLI's consoles (baton.cli.streams) and print_json
_RENDERER = "rich."  # a rich console: one call writes one whole rendering
# A line this long without an end is masked and written in part: memory stays bounded when a
# tool writes forever without a line break. The tail is held back, as long as what a secret
# still being written could take (_kept_back), so that it is not cut.
_LONGEST_LINE = 64 * 1024
_LINE_ENDS = "\r\n"  # "\r" too: a progress bar redraws its line with it, never ending it

Route = Callable[[str, str], None]
"""Where a stream's foreign text goes: called with the stream's name and the text, unmasked."""


class MaskedStream:
    """A standard stream (``name``: stdout or stderr) over ``target``, the stream it replaced.

    ``mask`` masks a text as the logs do; ``secrets`` gives the secret values now (a line is
    held while it may end inside one that spans lines, a PEM key); ``route`` takes foreign
    text (default: masked, onto ``target``). Everything else (``encoding``, ``isatty``,
    ``fileno``) is the target's own: rich, structlog and the CLI read them.
    """

    def __init__(self, name: str, target: Any, *, mask: Callable[[str], str],
                 secrets: Callable[[], Iterable[str]], route: Route | None = None) -> None:
        self.stream_name = name  # not ``name``: that is the target's own ("<stderr>")
        self.target = target
        self._mask = mask
        self._secrets = secrets
        self._route = route if route is not None else self._onto_target
        self._pending = ""
        self._lock = threading.RLock()
        self._routing = threading.local()
        self._bytes: _MaskedBytes | None = None

    def write(self, text: str) -> int:
        """Write ``text``, as its writer calls for (the module above decides)."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        return self._write(text, sys._getframe(1).f_globals.get("__name__") or "")

    def writelines(self, lines: Iterable[str]) -> None:
        caller = sys._getframe(1).f_globals.get("__name__") or ""
        for line in lines:
            self._write(line, caller)

    def flush(self) -> None:
        """Flush the target. A line not yet ended is kept: its end may hold a secret's rest."""
        self.target.flush()

    def close(self) -> None:
        """Write what is pending; the target is left open (it is the process's stream)."""
        with self._lock:
            pending, self._pending = self._pending, ""
            if pending:
                self._send(pending)

    @property
    def buffer(self) -> _MaskedBytes:
        """Bytes written are decoded and masked as text is (``sys.stderr.buffer.write``)."""
        if self._bytes is None:  # one, so that a character cut between two writes is whole
            self._bytes = _MaskedBytes(self)
        return self._bytes

    def __getattr__(self, name: str) -> Any:
        if name == "rich_proxied_file":  # rich's redirect marker: this is no proxy of rich's
            raise AttributeError(name)
        return getattr(self.target, name)

    def _write(self, text: str, caller: str) -> int:
        if caller.startswith(_OWN_OUTPUT):  # Baton's own output, masked where it was made
            return self.target.write(text)
        if caller.startswith(_RENDERER):
            self.target.write(self._mask_rendered(text))
            return len(text)
        if getattr(self._routing, "active", False):
            # Written while routing (a log handler that fails and reports it): it must not
            # come back here.
            self.target.write(self._mask(text))
            return len(text)
        with self._lock:
            self._pending += text
            if "\n" not in text and "\r" not in text and len(self._pending) <= _LONGEST_LINE:
                return len(text)
            ready = ""
            end = max(self._pending.rfind("\n"), self._pending.rfind("\r")) + 1
            if end and not self._spans_on(self._pending[:end]):
                ready, self._pending = self._pending[:end], self._pending[end:]
            if len(self._pending) > _LONGEST_LINE:
                head, self._pending = self._cut_long(self._pending)
                ready += head
            if ready:
                self._send(ready)
        return len(text)

    def _mask_rendered(self, text: str) -> str:
        """A rendering masked. rich folds a line wider than the terminal (a live display
        printing a tool's line above its table): a long secret is then cut across lines, and
        the lines it was cut across are joined again to be masked."""
        masked = self._mask(text)
        if "\n" not in text or _found(self._mask(text.replace("\n", ""))) <= _found(masked):
            return masked
        lines, shown, at = text.split("\n"), [], 0
        reach = _kept_back(self._secrets())
        while at < len(lines):
            end = at + 1
            joined = lines[at]
            while end < len(lines) and len(joined) - len(lines[at]) <= reach:
                joined += lines[end]
                end += 1
                if _found(self._mask(joined)) > _found(self._mask("\n".join(lines[at:end]))):
                    break  # the fewest lines that hold a secret cut across them
            else:
                end = at + 1
            shown.append(self._mask("".join(lines[at:end])))
            at = end
        return "\n".join(shown)

    def _spans_on(self, text: str) -> bool:
        """Whether ``text`` may end inside a secret that spans lines, its rest to come."""
        for secret in self._secrets():
            if "\n" not in secret and "\r" not in secret:
                continue
            for at, char in enumerate(secret[:-1]):
                start = secret[:at + 1]  # a start of it that ends a line, and is not only that
                if char in _LINE_ENDS and start.strip(_LINE_ENDS) and text.endswith(start):
                    return True
        return False

    def _cut_long(self, text: str) -> tuple[str, str]:
        """A long text without an end, split into what is written now and what is held: cut
        where masking the head alone masks it as masking the whole does (no secret crosses
        the cut), the tail as long as what a secret still being written could take."""
        keep = _kept_back(self._secrets())
        whole = self._mask(text)
        cut = len(text) - keep
        while cut > 0:
            head = text[:cut]
            if whole.startswith(self._mask(head)):
                return head, text[cut:]
            cut -= keep
        return text, ""  # secrets everywhere: masked whole, nothing held

    def _send(self, text: str) -> None:
        self._routing.active = True
        try:
            self._route(self.stream_name, text)
        finally:
            self._routing.active = False

    def _onto_target(self, _name: str, text: str) -> None:
        self.target.write(self._mask(text))


def _kept_back(secrets: Iterable[str]) -> int:
    """How much of a long text without an end is held back: more than any secret written
    escaped can take (a character as a long HTML entity, or a ``\\u`` escape escaped again)."""
    return 80 * max((len(secret) for secret in secrets), default=0) + 256


def _found(masked: str) -> int:
    return masked.count(REDACTED)


class _MaskedBytes:
    """``buffer`` of a :class:`MaskedStream`: bytes written are the text they decode to."""

    def __init__(self, stream: MaskedStream) -> None:
        self._stream = stream
        encoding = getattr(stream.target, "encoding", None) or "utf-8"
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")

    def write(self, data: Any) -> int:
        data = bytes(data)
        self._stream._write(self._decoder.decode(data), "")
        return len(data)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream.target.buffer, name)


class _Masking:
    """How the installed streams mask and where their foreign text goes: set by the logs'
    configuration (:func:`mask_with`), which knows the secrets and the format."""

    def __init__(self) -> None:
        self.mask: Callable[[str], str] = lambda text: text
        self.secrets: tuple[str, ...] = ()
        self.log: Route | None = None  # None: written masked onto stderr as it was
        self.installed: list[MaskedStream] = []
        self.finished_at_exit = False


_masking = _Masking()


def mask_with(mask: Callable[[str], str], secrets: Iterable[str], log: Route | None) -> None:
    """Mask with ``mask`` from now on (the logs' own, ``secrets`` being what it masks), and
    give foreign text to ``log`` as entries (None: write it, masked, on stderr as it is)."""
    _masking.mask, _masking.secrets, _masking.log = mask, tuple(secrets), log


def _route(name: str, text: str) -> None:
    log = _masking.log
    if log is not None:
        log(name, text)
        return
    stderr = next((s for s in _masking.installed if s.stream_name == "stderr"), None)
    target = stderr.target if stderr is not None else sys.__stderr__
    if target is not None:
        target.write(_masking.mask(text))


def mask_standard_streams(*, keep: bool) -> Callable[[], None]:
    """Replace ``sys.stdout`` and ``sys.stderr`` with masked streams; the function returned
    writes what they hold pending and, unless ``keep``, puts the streams replaced back.

    ``keep`` for a ``baton`` process: a thread a tool left running may still write while
    the process exits (what is pending then is written at exit). A program that embeds the
    CLI gets its streams back when the command ends.
    """
    added = []
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, MaskedStream) or current is None:
            continue
        stream = MaskedStream(name, current, mask=lambda text: _masking.mask(text),
                              secrets=lambda: _masking.secrets, route=_route)
        setattr(sys, name, stream)
        added.append(stream)
    if added and not _masking.finished_at_exit:
        atexit.register(_finish_installed)
        _masking.finished_at_exit = True
    _masking.installed += added

    def finish() -> None:
        for stream in added:
            stream.close()
            if not keep:
                if getattr(sys, stream.stream_name) is stream:
                    setattr(sys, stream.stream_name, stream.target)
                _masking.installed.remove(stream)

    return finish


def _finish_installed() -> None:
    for stream in list(_masking.installed):
        try:
            stream.close()
        except (OSError, ValueError):  # a stream closed or broken at exit: what it held is lost
            pass


__all__ = ["MaskedStream", "mask_standard_streams", "mask_with"]
