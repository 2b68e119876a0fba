"""The sign-in check of the web pages and forms, made before anything reads a request's body.

The app-wide NUL check and the body size limit run before a route: a route that checked the
session itself told a browser that is not signed in how its form would have been judged
(422, 413) instead of sending it to the sign-in page. :class:`SignInFirst` checks the
session cookie first, as the API's ``Authentication`` checks the bearer token first.
"""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path

from baton.api.auth import PathGuard, has_body, services_of, user_for_token
from baton.api.errors import ApiError
from baton.api.limits import Receive, Scope, Send

from .session import SignInRequired, session_token


def signin_paths() -> tuple[re.Pattern[str], ...]:
    """The paths of the pages and forms that need a signed-in user: every route of the views
    (sign-in, sign-out and the static files are elsewhere)."""
    from . import views

    return tuple(compile_path(route.path)[0] for route in views.router.routes
                 if isinstance(route, APIRoute))


class SignInFirst(PathGuard):
    """ASGI middleware: a request to one of ``paths`` (however its slashes are written) from a
    browser without a valid session is answered as its route would answer it, the sign-in
    redirect (or the 503 page while the settings file does not load), before its body is
    read, counted or checked; any method.

    Only a gate: the route checks the session again, and the role, as the settings say then.
    """

    async def guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let a signed-in browser's request in; answer any other before it is read."""
        request = Request(scope, receive)
        refusal: Exception = SignInRequired()
        try:
            # In a thread, as the route's check runs: the settings file may be read again.
            user = await run_in_threadpool(user_for_token, services_of(request),
                                           session_token(request))
        except ApiError as exc:  # the settings file does not load: no session can be judged
            refusal = exc
        else:
            if user is not None:
                await self.app(scope, receive, send)
                return
        # The app's own handlers (installed with the pages): the answer the route would give.
        handler = scope["app"].exception_handlers[type(refusal)]
        response = await handler(request, refusal)
        if has_body(scope):
            response.headers["connection"] = "close"  # the body is never read
        await response(scope, receive, send)
