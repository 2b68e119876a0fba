"""What an API or web caller is told of a database failure: its kind, never where the database is.

A store error's message names the database (the SQLite file; the server's URL with its user,
host, port and database name; the settings file that gave it) and quotes the driver, whose
words name hosts and paths too: what the operator needs, and nothing a token holder should
learn. The caller is told what it can act on (unreachable or busy: retry later; failed: tell
the operator), and the whole message goes to the server log, as ``/healthz`` does already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools import BatonError

if TYPE_CHECKING:
    from starlette.requests import Request

#: What ``SqliteFile.change`` says became of a file, as its ``DatabaseFileGoneError`` ends.
_FILE_CHANGES = ("was deleted while in use", "was replaced while in use")


def caller_message(exc: BatonError, request: Request) -> str:
    """``exc``'s message as the caller of ``request`` may read it: a database failure told by
    its kind only, its whole message logged."""
    from executor.store import StoreError

    if not isinstance(exc, StoreError):
        return exc.message
    import structlog

    structlog.get_logger("baton.api").warning("database failed", path=request.url.path,
                                              code=exc.code, error=exc.message)
    return told_of_database_failure(exc)


def told_of_database_failure(exc: BaseException) -> str:
    """What a caller is told of ``exc``, a ``StoreError`` or a driver's error: the kind of
    failure, and that the server log says the rest."""
    from executor.store.db import DatabaseFileGoneError, is_connection_loss, is_transient

    gone = next((cause for cause in _causes(exc) if isinstance(cause, DatabaseFileGoneError)),
                None)
    if gone is not None:
        change = next((words for words in _FILE_CHANGES if gone.problem.endswith(words)),
                      "cannot be checked")
        return f"the database is unreachable: its file {change}; the server log names the file"
    if is_connection_loss(exc):
        return ("the database is unreachable: its server refused, dropped or did not answer "
                "the connection; retry later (the server log says why)")
    if is_transient(exc):
        return ("the database is busy: a lock was held too long or writes conflicted; retry "
                "(the server log says more)")
    return "the database failed; the server log says why"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, nearest first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__
    return chain
