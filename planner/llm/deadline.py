"""One blocking call under a wall-clock limit: ``[llm] timeout_s`` bounds a whole request.

The HTTP client behind the ``openai`` SDK times each phase (connect, each read),
not the request: an endpoint, or a proxy, that trickles its reply a few bytes at
a time keeps one request going indefinitely, and ``baton plan`` with it.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ReplyTimeout(TimeoutError):
    """The endpoint gave no complete reply within the limit."""


def call_within(seconds: float, call: Callable[[], T], *,
                on_late: Callable[[], Any] | None = None) -> T:
    """``call()``'s result (or its exception); ``ReplyTimeout`` once ``seconds`` have passed.

    The call runs on a daemon worker thread, so the caller is never kept past the limit.
    When it is late, ``on_late`` runs (closing the HTTP client, so that the worker stops at
    its next read instead of holding the connection) and the worker's outcome is dropped.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()
    context = contextvars.copy_context()  # what the caller's logging and tracing see

    def work() -> None:
        try:
            outcome["value"] = context.run(call)
        except BaseException as exc:  # handed to the caller, which decides
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="baton-llm-request", daemon=True).start()
    if not done.wait(seconds):
        if on_late is not None:
            on_late()
        raise ReplyTimeout(f"no complete reply within {seconds:g} s ([llm] timeout_s)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
