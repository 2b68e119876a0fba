"""Request limits shared by the API and the web page: body size, text lengths, NUL characters.

The body size is checked twice: the declared ``Content-Length`` (refused at
once) and the bytes actually received (a chunked or lying client is cut off
at the limit). The body is buffered up to the limit and replayed to the app,
so no route ever sees a partial body.

Text fields have one set of length limits (``*_MAX_CHARS``, from :mod:`baton.limits`), used by
the API's request models, the web forms and the CLI alike. A NUL character is refused in any
path segment, query parameter or body field (:func:`refuse_nul_characters`):
PostgreSQL cannot store one, so it would otherwise fail as a database error. So is a JSON
body whose bytes are not valid text: the parser would read them as lone surrogates.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from tools import BatonError

from ..limits import BODY_MAX_BYTES
from .errors import NOT_UTF8, ApiError, error_json

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = BODY_MAX_BYTES  # one number: the CLI refuses larger plan files
# How a NUL can arrive: raw, percent-encoded (query, path, form) or as a JSON escape.
_NUL_SPELLINGS = (b"\x00", b"%00", b"\\u0000")


NUL_REFUSED = "NUL characters (\\0) are not allowed"


class InvalidTextError(BatonError):
    """A request field holds text Baton refuses to store (a NUL character)."""

    code = "invalid_request"

    def __init__(self, field: str, loc: list[str]) -> None:
        super().__init__(f"invalid request: {field}: {NUL_REFUSED}")
        #: Per-field problems, in the shape of every other 422 ``invalid_request``.
        self.details = [{"loc": loc, "msg": NUL_REFUSED, "type": "string_nul"}]


class MalformedBodyError(BatonError):
    """A JSON body is not text in the encoding the parser reads it in (not UTF-8)."""

    code = "malformed_json"

    def __init__(self) -> None:
        super().__init__(f"the request body is not valid JSON: {NOT_UTF8}")
        #: In the shape of the framework's own refusal of bytes that are not UTF-8.
        self.details = [{"loc": ["body"], "msg": NOT_UTF8, "type": "json_invalid"}]


async def refuse_nul_characters(request: Request) -> None:
    """Refuse (422 ``invalid_request``, naming the field) a NUL in the path, query or body;
    and (400 ``malformed_json``) a JSON body that is not valid text."""
    for where, params in (("path", request.path_params.items()),
                          ("query", request.query_params.multi_items())):
        for name, value in params:
            if "\x00" in name or (isinstance(value, str) and "\x00" in value):
                shown = name.replace("\x00", "\\0")  # a query name may hold one too
                raise InvalidTextError(shown, [where, shown])
    body = await request.body()  # cached: the route reads the same bytes
    content_type = request.headers.get("content-type", "")
    if _parsed_as_json(content_type) and not _decodes(body):
        raise MalformedBodyError()
    if not any(spelling in body.lower() for spelling in _NUL_SPELLINGS):
        return
    found = next(_nul_fields(body, content_type), None)
    if found is not None:
        raise InvalidTextError(*found)


def _decodes(body: bytes) -> bool:
    """Whether ``body`` is text in the encoding the JSON parser detects (UTF-8, with or without
    a byte order mark; UTF-16, UTF-32), strictly: the parser decodes with 'surrogatepass',
    which reads an encoded surrogate (UTF-8 ED A0 80), not UTF-8, as a lone surrogate, and a
    route then judged (and recorded) text that was never sent. Other bytes that are not text
    the parser refuses itself (400 ``malformed_json``), before this runs."""
    try:
        body.decode(json.detect_encoding(body))
    except UnicodeDecodeError:
        return False
    return True


def _nul_fields(body: bytes, content_type: str) -> Iterator[tuple[str, list[str]]]:
    """Where the NULs of a JSON or url-encoded body are: (the field as named in messages, its loc)."""
    if _parsed_as_json(content_type):
        try:
            # Bytes, as the framework parses them: a UTF-8 BOM, UTF-16 and UTF-32 are detected.
            value = json.loads(body)
        except (ValueError, RecursionError):
            return  # not JSON: the route answers malformed_json
        yield from _json_nuls(value)
        return
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "\\0")
            yield shown, ["body", shown]


def _parsed_as_json(content_type: str) -> bool:
    """Whether FastAPI parses a body of ``content_type`` as JSON (its own test, case-insensitive)."""
    message = email.message.Message()
    message["content-type"] = content_type
    if not content_type or message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _json_nuls(value: Any) -> Iterator[tuple[str, list[str]]]:
    """(field, loc) of every string holding a NUL in parsed JSON; a key is named "<object> (a key)".

    Iterative: the parser accepts nesting deeper than Python's recursion limit allows to walk.
    """
    pending: list[tuple[Any, list[str]]] = [(value, ["body"])]
    while pending:
        item, loc = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                yield ".".join(loc), loc
        elif isinstance(item, dict):
            if any("\x00" in key for key in item):  # the key is not repeated: it is what is refused
                yield f"{'.'.join(loc)} (a key)", loc
            pending.extend((child, [*loc, key.replace("\x00", "\\0")])
                           for key, child in reversed(item.items()))
        elif isinstance(item, list):
            pending.extend((child, [*loc, str(index)])
                           for index, child in reversed(list(enumerate(item))))


class BodySizeLimit:
    """ASGI middleware answering 413 ``body_too_large`` past ``max_bytes`` (see ``_refuse``)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then buffer and count the body before the app runs."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away before sending the body: nothing to serve.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        """413 ``body_too_large``, answered as the app answers any ``ApiError``.

        This middleware runs before the app's error handlers, so it hands the refusal to
        the app's own handler: JSON under the API, the web's error page for a page.
        """
        refusal = ApiError(413, "body_too_large",
                           f"request body exceeds the limit of {self.max_bytes} bytes")
        handler = getattr(scope.get("app"), "exception_handlers", {}).get(ApiError)
        if handler is None:  # an app without the API's handlers
            response = error_json(refusal.status, refusal.code, refusal.message)
        else:
            response = await handler(Request(scope, receive), refusal)
        response.headers["connection"] = "close"  # the rest of the body is never read
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out the buffered body once, then defers to the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
