"""Bearer-token authentication: tokens (stored hashed in settings) map to users.

Tokens are checked against the users the settings file declares now (``Services.settings``
reads them again when the file changes), so a revoked token or a removed role counts at
once, as it does for the next CLI command. The web page uses the same tokens, kept in an
HttpOnly cookie after sign-in.

A route that needs a token (one that depends on :func:`current_user`) is refused by the
:class:`Authentication` middleware before anything reads its body: a caller without a valid
token learns 401, never how its body, path or size would have been judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.routing import compile_path

from baton.services import Services
from baton.settings import User
from baton.settings_reload import SettingsFileError

from .errors import ApiError, error_json
from .limits import ASGIApp, Receive, Scope, Send
from .permissions import Action, RoleTable

bearer_scheme = HTTPBearer(auto_error=False, description="An API token declared (hashed) in "
                           "the settings under [users.ID] token_sha256.")

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Where the middleware leaves the caller it authenticated, for ``current_user`` (scope state).
_USER_KEY = "baton.user"


def services_of(request: Request) -> Services:
    """The composition root the app was built with."""
    return request.app.state.services


def user_for_token(services: Services, token: str | None) -> User | None:
    """The user a token acts as now, or None for a missing or unknown token.

    ApiError 503 ``settings_error`` while the settings file no longer loads: no token can be
    judged then. The problem itself goes to the server log, not to a caller who may hold none.
    """
    if not token:
        return None
    try:
        settings = services.settings
    except SettingsFileError as exc:
        raise ApiError(503, "settings_error", "the server's settings file changed and no "
                       "longer loads, so no token can be checked until it is fixed; the "
                       "server log names the problem") from exc
    return settings.user_for_token(token)


def authenticate(services: Services, authorization: str | None) -> User:
    """The user an ``Authorization`` header acts as; ApiError 401 without a valid bearer token."""
    scheme, token = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and token) or scheme.lower() != "bearer":
        raise ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer TOKEN)",
                       headers=_CHALLENGE)
    user = user_for_token(services, token)
    if user is None:
        raise ApiError(401, "unauthorized", "unknown or revoked token", headers=_CHALLENGE)
    return user


def current_user(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> User:
    """The authenticated caller; 401 without a valid bearer token.

    ``credentials`` documents the scheme in OpenAPI; the caller is the one the middleware
    authenticated before the body was read (checked here only in an app without it).
    """
    known = request.scope.get("state", {}).get(_USER_KEY)
    if isinstance(known, User):
        return known
    return authenticate(services_of(request), request.headers.get("authorization"))


def role_table_of(request: Request) -> RoleTable:
    """The role → action table in force: the built-in roles and those the policy data adds.

    Worked out once per app (it may read a ``policies_dir``'s data file): the policy data
    changes on a restart only, as the policy engine does; the users' roles are read per
    request, as the settings file gives them now.
    """
    from baton.settings_users import role_table_in_force

    state = request.app.state
    table = getattr(state, "role_table", None)
    if table is None:  # two first requests may both work it out: the same table
        table = state.role_table = role_table_in_force(services_of(request).settings)
    return table


def check(table: RoleTable, user: User, action: Action) -> None:
    """403 unless one of ``user``'s roles grants ``action`` in ``table``."""
    if not table.may(user, action):
        raise ApiError(403, "forbidden", table.refusal(user, action))


def require(action: Action) -> Callable[..., User]:
    """A dependency yielding the caller when their role grants ``action``."""

    def dependency(request: Request, user: User = Depends(current_user)) -> User:
        check(role_table_of(request), user, action)
        return user

    dependency.__name__ = f"require_{action.name.lower()}"
    return dependency


def needs_token(dependant: Dependant) -> bool:
    """Whether a route (or dependency) depends, at any depth, on :func:`current_user`."""
    return any(sub.call is current_user or needs_token(sub) for sub in dependant.dependencies)


def token_paths(routers: Iterable[APIRouter], prefix: str) -> tuple[re.Pattern[str], ...]:
    """The paths, as the router matches them, of the routes of ``routers`` (included under
    ``prefix``) that need a token: read from their dependencies, so a public route (the
    health check) needs no list kept beside it."""
    return tuple(compile_path(prefix + route.path)[0] for router in routers
                 for route in router.routes
                 if isinstance(route, APIRoute) and needs_token(route.dependant))


class PathGuard:
    """ASGI middleware that hands the HTTP requests to ``paths`` (compiled route paths, however
    their slashes are written: :func:`guarded`) to :meth:`guard` and passes every other on.

    The API's token check and the pages' sign-in check share it, so both pick the requests
    they judge the same way.
    """

    def __init__(self, app: ASGIApp, paths: tuple[re.Pattern[str], ...]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Judge a request to one of the paths; pass the rest on."""
        if scope["type"] != "http" or not guarded(self.paths, scope):
            await self.app(scope, receive, send)
            return
        await self.guard(scope, receive, send)

    async def guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer, or pass on, a request to one of the paths (before its body is read)."""
        raise NotImplementedError


class Authentication(PathGuard):
    """ASGI middleware: 401 (or 503 ``settings_error``) for a request to a path of a route that
    needs a token (:func:`token_paths`, however its slashes are written) without a valid one,
    before its body is read, parsed or checked; the role each route requires is still checked
    by its ``require(...)``.

    Any method: a path that needs a token says nothing more (a 405) to a caller without one.
    """

    async def guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authenticate a request to a path that needs a token."""
        services = scope["app"].state.services
        authorization = Headers(scope=scope).get("authorization")
        try:
            # In a thread, as a sync dependency runs: the settings file may be read again.
            user = await run_in_threadpool(authenticate, services, authorization)
        except ApiError as exc:
            response = error_json(exc.status, exc.code, exc.message, headers=exc.headers)
            if has_body(scope):
                response.headers["connection"] = "close"  # the body is never read
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_USER_KEY] = user
        await self.app(scope, receive, send)


def guarded(paths: tuple[re.Pattern[str], ...], scope: Scope) -> bool:
    """Whether the request of ``scope`` is for one of ``paths`` (compiled route paths), however
    its slashes are written (see :func:`_spellings`)."""
    spellings = _spellings(route_path(scope))
    return any(pattern.match(path) for pattern in paths for path in spellings)


def route_path(scope: Scope) -> str:
    """The path the router matches: the request's, less a ``root_path`` mounted before it."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("", "/"):
        return path[len(root):]
    return path


def _spellings(path: str) -> tuple[str, ...]:
    """``path`` and the spellings of it a route may answer to: the router redirects a path
    that no route matches to the same less its trailing slashes (or with one added), and a
    proxy in front may merge repeated slashes. Guarding one the router would not route
    costs nothing (a 401 where a 404 would have been); missing one lets a caller without a
    token learn how its body would be judged."""
    merged = _SLASHES.sub("/", path).rstrip("/") or "/"
    return (path, merged, merged + "/")


_SLASHES = re.compile(r"//+")


def has_body(scope: Scope) -> bool:
    """Whether the request declares a body (a length above 0, or a chunked one)."""
    headers = Headers(scope=scope)
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
