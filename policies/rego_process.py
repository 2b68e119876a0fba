"""One policy evaluator process, seen from the process that uses it: started, asked, stopped.

The process runs ``policies.rego_child`` (which describes the wire). Every exchange has a
deadline: a process that does not answer in time is killed, one that ended is reaped, and
either is an ``EvaluatorGone`` (an ``EngineFailure``: the decision is a deny naming it).
A process that ends while nobody asks it anything (killed, say) is reaped as soon as it
ends, by a thread that waits for it, not left a zombie until its next query.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

from .engine import EngineFailure
from .rego_child import LENGTH_BYTES, frame

# Run in isolated mode (-I: no PYTHON* variables, no user site, not the working directory)
# with the parent's import path (the first line it reads), so that it imports the same code.
_BOOTSTRAP = ("import json, sys; sys.path[:] = json.loads(sys.stdin.buffer.readline()); "
              "from policies.rego_child import main; main()")
# All of its environment: it needs none of the parent's settings, and must not see a secret.
_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "LD_LIBRARY_PATH", "TMPDIR")
_READ_SIZE = 1 << 20


class EvaluatorGone(EngineFailure):
    """The evaluator process ended, or gave no answer in time (it was then killed)."""


class NotDelivered(EvaluatorGone):
    """The process was gone before it could read the query: asking another one is safe."""


class BundleRefused(EngineFailure):
    """The evaluator process could not compile the bundle (its message says why)."""


class EvaluatorProcess:
    """A started evaluator process: ``ask`` it queries one at a time, ``stop`` it when done."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.evaluations = 0
        self.rss_kb = 0

    @property
    def pid(self) -> int:
        """The process id (tests and logs)."""
        return self.process.pid

    @classmethod
    def start(cls, hello: bytes, timeout_s: float,
              on_end: Callable[[EvaluatorProcess], None] | None = None) -> EvaluatorProcess:
        """A process that has compiled the bundle in ``hello``; ``BundleRefused`` if it could
        not, ``EvaluatorGone`` if it ended or took longer than ``timeout_s``. Whenever it
        ends, it is reaped at once and ``on_end`` is called with it (from another thread)."""
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOTSTRAP, str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={name: os.environ[name] for name in _ENVIRONMENT if name in os.environ},
                # Its own session: a Ctrl-C at the terminal is the parent's to handle.
                close_fds=True, start_new_session=True, bufsize=0)
        except OSError as exc:
            raise EngineFailure(f"the policy evaluator process could not start: {exc}") from exc
        evaluator = cls(process)
        if hasattr(os, "waitid"):  # elsewhere, one that ended is reaped at its next query
            threading.Thread(target=evaluator._reap_when_it_ends, args=(on_end,), daemon=True,
                             name=f"policy-evaluator-reaper-{process.pid}").start()
        for pipe in (process.stdin, process.stdout):
            assert pipe is not None
            os.set_blocking(pipe.fileno(), False)
        try:
            path = json.dumps(sys.path).encode("utf-8") + b"\n"
            reply = evaluator._exchange(hello, timeout_s, "compiling the policies", before=path)
        except BaseException:
            evaluator.stop()
            raise
        if isinstance(reply.get("failure"), str):
            evaluator.stop()
            raise BundleRefused(reply["failure"])
        if reply.get("ready") is not True:
            evaluator.stop()
            raise EvaluatorGone("the policy evaluator process answered its start with neither "
                                "ready nor a failure")
        return evaluator

    def _reap_when_it_ends(self, on_end: Callable[[EvaluatorProcess], None] | None) -> None:
        # Waits without reaping (WNOWAIT), then reaps through Popen, under its lock: the
        # status is never taken from under ``stop`` or ``alive``, and the process id cannot
        # be reused before Popen knows it ended. A process reaped already (stopped) raises
        # ChildProcessError at once; had its id been reused by another child since, this
        # waits for that one without taking its status, and the calls below do nothing.
        try:
            os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        self.process.poll()
        if on_end is not None:
            on_end(self)

    def alive(self) -> bool:
        """Whether the process is still running (one that ended is reaped here)."""
        return self.process.poll() is None

    def ask(self, entrypoint: str, input_json: str, timeout_s: float) -> dict[str, Any]:
        """The answer to one query (``{"text": ...}``, ``{"failure": ...}`` or
        ``{"unexpected": ...}``); ``EvaluatorGone`` when there is none."""
        query = entrypoint.encode("utf-8") + b"\n" + input_json.encode("utf-8")
        reply = self._exchange(query, timeout_s, "judging")
        self.evaluations += 1
        return reply

    def stop(self) -> int | None:
        """Kill the process (it holds nothing worth a graceful end), reap it, close its pipes;
        its exit status."""
        if self.process.poll() is None:
            try:
                self.process.kill()
            except ProcessLookupError:
                pass
        code = self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        return code

    def _exchange(self, payload: bytes, timeout_s: float, doing: str, before: bytes = b""
                  ) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        try:
            _write_all(self.process.stdin.fileno(), before + frame(payload), deadline)
        except TimeoutError:
            self._gone(f"did not take the query within {timeout_s:g} s while {doing}")
        except OSError:  # EPIPE: it ended before reading the query
            raise NotDelivered(self._gone_cause(f"ended before {doing}")) from None
        try:
            reply = json.loads(_read_frame(self.process.stdout.fileno(), deadline))
        except TimeoutError:
            self._gone(f"gave no answer within {timeout_s:g} s while {doing}")
        except (OSError, EOFError):
            self._gone(f"ended while {doing}")
        except ValueError:
            self._gone(f"gave an answer that is not JSON while {doing}")
        if not isinstance(reply, dict):
            self._gone(f"gave an answer that is not an object while {doing}")
        rss = reply.get("rss_kb")
        self.rss_kb = rss if isinstance(rss, int) else self.rss_kb
        return reply

    def _gone(self, what: str) -> NoReturn:
        raise EvaluatorGone(self._gone_cause(what))

    def _gone_cause(self, what: str) -> str:
        code = self.stop()
        how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return (f"evaluation failed: the policy evaluator process {what} ({how}); "
                "it was stopped, and a new one will judge the next")


def _wait(poller: select.poll, deadline: float) -> None:
    """Until the registered descriptor is ready; ``TimeoutError`` past ``deadline``."""
    left = deadline - time.monotonic()
    if left <= 0 or not poller.poll(max(1, int(left * 1000))):
        if time.monotonic() >= deadline:
            raise TimeoutError


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        _wait(poller, deadline)
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue


def _read_frame(fd: int, deadline: float) -> bytes:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    buffer = bytearray()
    size: int | None = None
    while size is None or len(buffer) < LENGTH_BYTES + size:
        _wait(poller, deadline)
        try:
            chunk = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError
        buffer += chunk
        if size is None and len(buffer) >= LENGTH_BYTES:
            size = int.from_bytes(buffer[:LENGTH_BYTES], "big")
    return bytes(buffer[LENGTH_BYTES:LENGTH_BYTES + size])
