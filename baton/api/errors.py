"""The API's one error shape and the translation of every failure into it.

Every failure answers ``{"error": {"code": ..., "message": ...}}`` with a
stable ``code`` clients may branch on. ``BatonError`` subclasses keep their
own ``.code``; the HTTP status comes from :data:`STATUS_BY_CODE` or from the
shape of the code (``*_not_found`` → 404...), defaulting to 409: most of what
a use case refuses is a state conflict (not approved yet, already rejected).
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tools import BatonError

from .database_failures import caller_message, told_of_database_failure


class ErrorDetail(BaseModel):
    """What went wrong, for people and for programs."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable machine-readable code, e.g. 'not_found'.")
    message: str = Field(description="Human-readable explanation naming the problem.")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems for invalid requests; for "
        "template_invalid, the problems of the plan the template made (loc: its JSON path, "
        "type: the problem code)."
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(frozen=True)

    error: ErrorDetail = Field(description="The error.")


class ApiError(Exception):
    """An error raised by the API layer itself (auth, lookups, limits)."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


STATUS_BY_CODE: dict[str, int] = {
    "not_found": 404,
    "unknown_tool": 404,
    "unknown_user": 403,
    "self_approval": 403,
    "wrong_role": 403,
    "missing_reason": 422,
    "run_not_found": 404,
    "not_eligible": 403,
    "forbidden": 403,
    "invalid_plan": 422,
    "plan_invalid": 422,
    "plan_file": 422,
    "invalid_request": 422,
    "malformed_json": 400,
    "planning_failed": 422,
    "template_invalid": 422,
    "no_template_matches": 422,
    "empty_goal": 422,
    "empty_feedback": 422,
    "bad_planner": 422,
    "model_refused": 422,
    "reply_truncated": 502,
    "endpoint_rejected": 502,
    "endpoint_unreachable": 502,
    "endpoint_error": 502,
    "endpoint_auth": 502,
    "endpoint_bad_request": 502,
    "endpoint_bad_reply": 502,
    "config_error": 409,
    "store_error": 503,
    "settings_error": 503,  # the settings file changed and no longer loads
}


def status_for(code: str) -> int:
    """HTTP status of a ``BatonError`` code."""
    if code in STATUS_BY_CODE:
        return STATUS_BY_CODE[code]
    if code.endswith("not_found") or code.startswith("unknown_"):
        return 404
    if code.startswith("invalid") or code.endswith("_invalid"):
        return 422
    return 409


def error_json(status: int, code: str, message: str, *, details: list[dict[str, Any]] | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response in the one shape."""
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status,
                        headers=headers)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
               413: "body_too_large", 415: "unsupported_media_type", 429: "too_many_requests"}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", "")),
             "type": str(err.get("type", ""))} for err in exc.errors()]


def _problem_details(exc: BatonError) -> list[dict[str, Any]] | None:
    """The problems of the plan a template made, as ``details`` in the shape of a request's
    validation errors: a ``template_invalid`` message says only how many there are (``baton
    plan`` lists them under it), while an invalid plan document's and a model's list them in
    the message itself. Masked already, as the INVALID version stores them."""
    if exc.code != "template_invalid":
        return None
    problems = getattr(exc, "problems", None) or []
    return [{"loc": [problem.path], "msg": problem.message, "type": problem.code.value}
            for problem in problems] or None


# Why a body of bytes that are not text (in the encoding JSON is read in) is malformed_json.
NOT_UTF8 = "it is not UTF-8 text"


def _json_parser_refusal(exc: StarletteHTTPException) -> str | None:
    """Why the JSON parser refused a body, when the framework answered a bare 400 for it.

    FastAPI turns only ``JSONDecodeError`` into a validation error; the parser's
    other errors (a number past Python's int digit limit, bytes that are not UTF-8,
    arrays nested past the recursion limit) come here as "error parsing the body",
    chained as the cause.
    """
    cause = exc.__cause__
    if exc.status_code != 400:
        return None
    if isinstance(cause, RecursionError):
        return "it nests arrays or objects too deeply"
    if not isinstance(cause, ValueError):
        return None
    if isinstance(cause, UnicodeDecodeError):
        return NOT_UTF8
    if "integer string conversion" in str(cause):  # CPython's wording since 3.11
        return f"a number is too long (over {sys.get_int_max_str_digits()} digits)"
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Make every failure of ``app`` answer in the one error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_json(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(BatonError)
    async def _baton_error(request: Request, exc: BatonError) -> JSONResponse:
        from executor.store.migrate import schema_mismatch

        mismatch = schema_mismatch(exc)  # a StoreError raised from a missing column or table
        if mismatch is not None:
            return error_json(500, "schema_mismatch", mismatch)
        # A database failure is told by its kind: its message names where the database is.
        message = caller_message(exc, request)
        # An error that names fields (the NUL refusal) carries them as ``details``.
        details = getattr(exc, "details", None)
        return error_json(status_for(exc.code), exc.code, message,
                          details=details if details is not None else _problem_details(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return error_json(400, "malformed_json", "the request body is not valid JSON",
                              details=details)
        summary = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:5])
        return error_json(422, "invalid_request", f"invalid request: {summary}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        problem = _json_parser_refusal(exc)
        if problem is not None:
            message = f"the request body is not valid JSON: {problem}"
            return error_json(400, "malformed_json", message,
                              details=[{"loc": ["body"], "msg": problem, "type": "json_invalid"}])
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return error_json(exc.status_code, code, str(exc.detail), headers=headers)

    # Called by FailureReplies (below), which create_app puts around the routes and middleware.
    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        import structlog

        from executor.store.db import database_failure, is_database_error
        from executor.store.migrate import schema_mismatch

        mismatch = schema_mismatch(exc)
        if mismatch is not None:  # a database that is up, with tables not this Baton's: no 503
            structlog.get_logger("baton.api").error("schema mismatch", path=request.url.path,
                                                    error=mismatch)
            return error_json(500, "schema_mismatch", mismatch)
        if is_database_error(exc):
            structlog.get_logger("baton.api").warning("database failed", path=request.url.path,
                                                      error=database_failure(exc))
            return error_json(503, "store_error", told_of_database_failure(exc))
        structlog.get_logger("baton.api").exception("unhandled error", path=request.url.path)
        return error_json(500, "internal_error", "internal error; see the server log")


class FailureReplies:
    """ASGI middleware, outside the app's own: an exception nothing inside answered (one of
    ``Exception``'s that no handler of the routes takes, or any raised in a middleware) is
    answered by the app's handler for its type, and not raised on.

    Starlette runs an ``Exception`` handler in its outermost error middleware, which sends the
    reply and then raises the exception again for the server: uvicorn logged a second
    traceback and closed the kept-alive connection without ``Connection: close``, and the
    client's next request on it met a reset. A reply already started is still raised on:
    only the connection's end tells the client it was cut short.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; answer a failure before the reply starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            # Looked up now: the web pages wrap the API's handlers after they are installed.
            handler = _handler_for(getattr(scope.get("app"), "exception_handlers", {}), exc)
            if started or handler is None:
                raise
            response = handler(Request(scope, receive), exc)
            if inspect.isawaitable(response):
                response = await response
            await response(scope, receive, send)


def _handler_for(handlers: dict[Any, Any], exc: Exception) -> Any:
    """The handler of ``handlers`` for ``exc``'s type or its nearest base, as Starlette picks."""
    for kind in type(exc).__mro__:
        if kind in handlers:
            return handlers[kind]
    return None


def error_responses(*statuses: int, described: dict[int, str] | None = None
                    ) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error shape for ``statuses``; ``described``
    gives a route's own description of some of them."""
    text = {400: "Malformed JSON body", 401: "Missing or unknown bearer token",
            403: "The user's role may not do this", 404: "Not found",
            409: "Conflicts with the current state", 413: "Request body too large",
            422: "Invalid request",
            502: "The LLM endpoint failed, refused or answered what cannot be read "
                 "(endpoint_*, reply_truncated)",
            503: "The database failed or is unreachable (store_error), or the server's "
                 "settings file changed and no longer loads (settings_error); retry later"}
    text.update(described or {})
    return {s: {"model": ErrorResponse, "description": text.get(s, "Error")} for s in statuses}


def any_route_errors() -> dict[int | str, dict[str, Any]]:
    """The errors every route may answer, whatever it does: 413 from the body size limit,
    422 from the NUL check and 400 from its check of a JSON body's text, applied to every
    request before the route."""
    return error_responses(400, 413, 422)


def token_route_errors() -> dict[int | str, dict[str, Any]]:
    """The errors every route that needs a token may answer: those of any route, 401 and 403
    from the token and role checks, 503 from the settings file (read again by the token
    check) or the database."""
    return {**any_route_errors(), **error_responses(401, 403, 503)}


def allowed_methods(request: Request) -> str:
    """Every method a route of the request's path takes ('' when none does): the router's 405
    names only the first matching route's (POST for /api/v1/plans, whose GET is another
    route's; GET for /signin). Asked of each route as the router asks it; a mount (the static
    files) answers its own 405."""
    from starlette.routing import Match, Mount

    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return ", ".join(method for method in _METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL
        for route in routes))


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
