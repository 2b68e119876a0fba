"""The FastAPI application: ``create_app(services)`` wires routes, auth, limits and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router

from baton import __version__
from baton.services import Services

from .auth import Authentication, route_path, token_paths
from .errors import FailureReplies, install_error_handlers
from .limits import (
    DEFAULT_MAX_BODY_BYTES,
    ASGIApp,
    BodySizeLimit,
    Message,
    Receive,
    Scope,
    Send,
    refuse_nul_characters,
)
from .verify_guard import VerifyGuard
from .worker import DEFAULT_GRACE_S, DEFAULT_POLL_INTERVAL_S, BackgroundWorker

API_PREFIX = "/api/v1"

DESCRIPTION = """Baton's HTTP API: goals become typed plans of tool calls, vetted by
policy and people, run by a durable executor, every step recorded in a
hash-chained ledger.

Authenticate with `Authorization: Bearer <token>`; tokens are declared (as
SHA-256 hex) under `[users.ID] token_sha256` in `baton.toml`. Every error is
`{"error": {"code": "...", "message": "..."}}`.
"""


def create_app(services: Services, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               web: bool = True, worker_poll_s: float | None = DEFAULT_POLL_INTERVAL_S,
               verify_guard: VerifyGuard | None = None,
               shutdown_grace_s: float = DEFAULT_GRACE_S) -> FastAPI:
    """The API (under ``/api/v1``) and, unless ``web=False``, the web page, over ``services``.

    While it serves, the background worker looks for runs queued by other
    processes every ``worker_poll_s`` seconds (None: only when kicked). Full
    ledger verifications go through ``verify_guard`` (default: one with the
    ``[audit] verify_cooldown_s`` setting).

    Its shutdown begins with ``app.state.worker.begin_shutdown()`` (the server calls it as
    a signal comes; the lifespan's end at the latest): event streams end, no run is claimed,
    and the run in progress gets ``shutdown_grace_s`` for its calls in flight to end.
    """
    from . import routes_ledger, routes_plans, routes_policy, routes_runs, routes_tools

    # Every route, the web page's included: a NUL never reaches a use case or the database
    # (on a route that needs a token or a session, only once the middleware let it in).
    # /docs and /redoc serve their scripts from the package, not a CDN: Baton runs offline.
    # A trailing slash is redirected by SlashRedirect, not by the router (see there).
    app = FastAPIOffline(title="Baton", version=__version__, description=DESCRIPTION, lifespan=_lifespan,
                  dependencies=[Depends(refuse_nul_characters)], redirect_slashes=False,
                  openapi_tags=[{"name": n} for n in ("plans", "runs", "tools", "policy",
                                                      "ledger", "health")])
    app.router.default = SlashRedirect(app.router)
    app.state.services = services
    app.state.worker = BackgroundWorker(services, worker_poll_s, grace_s=shutdown_grace_s)
    app.state.verify_guard = verify_guard or VerifyGuard(services.settings.audit.verify_cooldown_s)
    install_error_handlers(app)
    routers = (routes_plans.router, routes_runs.router, routes_policy.router,
               routes_tools.router, routes_ledger.router, routes_ledger.health_router)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    if web:
        from baton.web import install_web

        install_web(app)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    # Added after the size limit, so they run before it: a request without a valid token to a
    # route that needs one is refused (401) before the size limit buffers its body or anything
    # parses it; a page's or form's without a valid session is sent to sign in (303).
    if web:
        from baton.web import SignInFirst, signin_paths

        app.add_middleware(SignInFirst, paths=signin_paths())
    app.add_middleware(Authentication, paths=token_paths(routers, API_PREFIX))
    # Last, so outside the others: what they or a route raise is answered, not raised on.
    app.add_middleware(FailureReplies)
    _hardened_outermost(app)
    return app


class SlashRedirect:
    """What the router answers when no route matches: a redirect (307) to the same path less
    its trailing slashes (or with one added) when a route matches that, else its 404.

    Starlette's ``redirect_slashes`` does the same with an absolute URL built from the Host
    header, so a forged one (or one a proxy passes on) sent the client to another site: this
    ``Location`` is a path on this server, never a host.
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self.not_found = router.not_found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Redirect to the path a route matches, or answer as the router does (404)."""
        location = self._location(scope) if scope["type"] == "http" else None
        if location is None:
            await self.not_found(scope, receive, send)
            return
        await RedirectResponse(location, status_code=307)(scope, receive, send)

    def _location(self, scope: Scope) -> str | None:
        path = scope["path"]  # the whole path (a root_path included): the client's
        if route_path(scope) == "/":
            return None
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        # Never "//host": a browser reads a Location that starts so as another site's.
        if other.startswith("//") or not other.startswith("/"):
            return None
        moved = {**scope, "path": other}
        if not any(route.matches(moved)[0] is not Match.NONE for route in self.router.routes):
            return None
        # Percent-encoded whole: a backslash, '?' or '#' in the path stays part of the path.
        query = scope.get("query_string", b"").decode("latin-1")
        return quote(other, safe="/!$&'()*+,;=:@-._~") + (f"?{query}" if query else "")


# On every response: no page of this server may be framed (clickjacking an approval), no
# response is read as another type than it says, and no URL (a run id, a flash) leaves in
# a Referer to another site.
FRAME_ANCESTORS = "frame-ancestors 'none'"
SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff",
                    "referrer-policy": "same-origin"}
# Nor is any response stored by a browser or a proxy, but the pages' stylesheet and script:
# kept, a signed-in page (a plan and its forms) came back with Back after Sign out, and an
# API answer stayed on a shared machine's disk.
NO_STORE = "no-store"
CACHEABLE_PREFIX = "/static/"


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` and a Content-Security-Policy that forbids
    framing on every response. A policy a response already has (the web pages' fuller one)
    gets ``frame-ancestors 'none'`` added when it does not say it, never a second header.
    ``Cache-Control: no-store`` on every response but the static files'.

    Pure ASGI, so a streamed response (the run's server-sent events) is passed on as it comes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to its response as it starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        cacheable = route_path(scope).startswith(CACHEABLE_PREFIX)

        async def hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                harden(MutableHeaders(scope=message), cacheable=cacheable)
            await send(message)

        await self.app(scope, receive, hardened)


def harden(headers: MutableHeaders, *, cacheable: bool = False) -> None:
    """Add :data:`SECURITY_HEADERS` and ``frame-ancestors 'none'`` to ``headers``, and
    ``Cache-Control: no-store`` unless ``cacheable`` (replacing a weaker one: an event
    stream's ``no-cache`` lets it be stored)."""
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    if not cacheable:
        headers["cache-control"] = NO_STORE
    policies = headers.getlist("content-security-policy")
    if not policies:
        headers["content-security-policy"] = FRAME_ANCESTORS
    elif not any("frame-ancestors" in policy for policy in policies):
        # Setting a header drops its other values: every policy applies, so they are kept.
        headers["content-security-policy"] = f"{policies[0].rstrip('; ')}; {FRAME_ANCESTORS}"
        for policy in policies[1:]:
            headers.append("content-security-policy", policy)


def _hardened_outermost(app: FastAPI) -> None:
    """Put :class:`SecurityHeaders` around ``app``'s whole middleware stack: outside
    Starlette's own error middleware too (``add_middleware`` puts it inside), so that an
    unexpected error's 500 page has the headers as well."""
    build = app.build_middleware_stack

    def build_hardened() -> ASGIApp:
        return SecurityHeaders(build())

    app.build_middleware_stack = build_hardened  # type: ignore[method-assign]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs queued while no server was up (or left by a crashed one) are drained at start;
    # runs queued later by other processes are found by the worker's poller.
    app.state.worker.start()
    try:
        yield
    finally:  # the shutdown began as the signal came (baton serve); here, at the latest
        app.state.worker.stop()
