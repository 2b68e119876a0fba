"""The policy evaluator process: compiles one bundle, then answers queries until its input ends.

Started by ``policies.rego_process`` as ``python -I -c ...``, which reads the import path
to use from its first line of input. rego-cpp keeps memory it
never frees after evaluations whose rules iterate over the input, so this process is thrown
away after a while and its memory with it; the process that started it stays flat.

The wire, both ways: frames of an 8-byte big-endian length and that many bytes.
- first frame in: JSON ``{"modules": [[name, source], ...], "data": {...}}``; the answer is
  ``{"ready": true, "rss_kb": N}`` or ``{"failure": "the policies do not compile: ..."}``
  (then the process ends);
- then each frame in: the entry point, a newline, the input as ``policy_input_json`` made it;
  the answer: ``{"text": RESULT}`` (the result, read from the interpreter as JSON text:
  ``CompiledPolicies.evaluate_json``), ``{"failure": CAUSE}``
  (an ``EngineFailure``) or ``{"unexpected": TYPE}``, each with ``"rss_kb"``: its resident
  memory, from which the parent decides when to replace this process.

Its standard output is the parent's pipe only: file descriptor 1 is pointed at /dev/null
before anything runs, so nothing the interpreter or a logger prints can break a frame.
It receives the bundle and inputs only (its environment is stripped by the parent), and it
ends when its parent does, even in the middle of an evaluation.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from typing import Any, BinaryIO

LENGTH_BYTES = 8


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's bytes; ``None`` at the end of the stream (between frames)."""
    head = _read_exactly(stream, LENGTH_BYTES)
    if head is None:
        return None
    body = _read_exactly(stream, int.from_bytes(head, "big"))
    if body is None:
        raise EOFError("the stream ended inside a frame")
    return body


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            if left == size and size:
                return None
            raise EOFError("the stream ended inside a frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def frame(payload: bytes) -> bytes:
    """``payload`` with its length in front."""
    return len(payload).to_bytes(LENGTH_BYTES, "big") + payload


def rss_kb() -> int:
    """This process's resident memory in KiB: now, where /proc tells it; else its peak (which
    Linux would carry over from the parent's, across the fork and exec that started it)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 1024 if sys.platform == "darwin" else peak


def _answer(out: BinaryIO, reply: dict[str, Any]) -> None:
    out.write(frame(json.dumps({**reply, "rss_kb": rss_kb()}).encode("utf-8")))
    out.flush()


def _end_with(parent: int) -> None:
    """Exit as soon as the parent is gone (this process is then adopted by another)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _protocol_output() -> BinaryIO:
    """The pipe to the parent, kept apart from file descriptor 1 (then /dev/null)."""
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return out


def serve(source: BinaryIO, out: BinaryIO) -> None:
    """Compile the bundle of the first frame, then answer each query frame until the end."""
    from policies.embedded import CompiledPolicies
    from policies.engine import EngineFailure

    hello = read_frame(source)
    if hello is None:
        return
    bundle = json.loads(hello)
    try:
        compiled = CompiledPolicies(tuple((name, text) for name, text in bundle["modules"]),
                                    bundle["data"])
    except EngineFailure as exc:
        _answer(out, {"failure": str(exc)})
        return
    _answer(out, {"ready": True})
    while (query := read_frame(source)) is not None:
        entrypoint, _, input_json = query.partition(b"\n")
        try:
            reply = {"text": compiled.evaluate_json(entrypoint.decode("utf-8"),
                                                    input_json.decode("utf-8"))}
        except EngineFailure as exc:
            reply = {"failure": str(exc)}
        except Exception as exc:  # noqa: BLE001 - told to the parent, which denies
            reply = {"unexpected": type(exc).__name__}
        _answer(out, reply)


def main() -> None:
    """Entry point: ``main()`` with the parent's process id as the last argument."""
    threading.Thread(target=_end_with, args=(int(sys.argv[-1]),), daemon=True).start()
    serve(sys.stdin.buffer, _protocol_output())
