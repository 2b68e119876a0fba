"""The FastAPI application: ``create_app(services)`` wires routes, auth, limits and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from baton import __version__
from baton.services import Services

from .auth import Authentication, token_paths
from .errors import install_error_handlers
from .limits import DEFAULT_MAX_BODY_BYTES, BodySizeLimit, refuse_nul_characters
from .verify_guard import VerifyGuard
from .worker import DEFAULT_POLL_INTERVAL_S, BackgroundWorker

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
               verify_guard: VerifyGuard | None = None) -> FastAPI:
    """The API (under ``/api/v1``) and, unless ``web=False``, the web page, over ``services``.

    While it serves, the background worker looks for runs queued by other
    processes every ``worker_poll_s`` seconds (None: only when kicked). Full
    ledger verifications go through ``verify_guard`` (default: one with the
    ``[audit] verify_cooldown_s`` setting).
    """
    from . import routes_ledger, routes_plans, routes_policy, routes_runs, routes_tools

    # Every route, the web page's included: a NUL never reaches a use case or the database
    # (on a route that needs a token, only once the Authentication middleware let it in).
    # /docs and /redoc serve their scripts from the package, not a CDN: Baton runs offline.
    app = FastAPIOffline(title="Baton", version=__version__, description=DESCRIPTION, lifespan=_lifespan,
                  dependencies=[Depends(refuse_nul_characters)],
                  openapi_tags=[{"name": n} for n in ("plans", "runs", "tools", "policy",
                                                      "ledger", "health")])
    app.state.services = services
    app.state.worker = BackgroundWorker(services, worker_poll_s)
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
    # Added last, so it runs first: a request without a valid token to a route that needs one
    # is refused (401) before the size limit buffers its body or anything parses it.
    app.add_middleware(Authentication, paths=token_paths(routers, API_PREFIX))
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs queued while no server was up (or left by a crashed one) are drained at start;
    # runs queued later by other processes are found by the worker's poller.
    app.state.worker.start()
    try:
        yield
    finally:
        app.state.worker.stop()
