"""Web routes: sign-in, the approval queue, plan, run and ledger pages, and their forms.

Every form posts to a handler that calls the same use case as the API and
the CLI, so the approval rules are identical everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from baton.api.app import API_PREFIX
from baton.api.auth import services_of, user_for_token
from baton.api.database_failures import caller_message
from baton.api.errors import ApiError, status_for
from tools import BatonError

from .pages import HERE, FormError, read_form, redirect, render
from .session import (
    COOKIE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    SignInRequired,
    cookie_value,
    keep_session_nonce,
    new_session_nonce,
    new_signin_nonce,
    session_token,
    signin_csrf_ok,
    signin_csrf_token,
    web_key,
)

router = APIRouter(include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> HTMLResponse:
    """The sign-in form, its CSRF token bound to a sign-in cookie of this browser."""
    return _signin_form(request)


def _signin_form(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    # A SameSite=Strict cookie: a form posted from another site arrives without it, so
    # nobody can sign a visitor in as themselves (login CSRF).
    nonce = request.cookies.get(SIGNIN_COOKIE) or new_signin_nonce()
    stale = _stale_session(request)
    response = render(request, "signin.html", None, status=status, signout=not stale,
                      signin_csrf=signin_csrf_token(request, nonce), **context)
    response.set_cookie(SIGNIN_COOKIE, nonce, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/signin")
    if stale:
        forget_session(response)
    return response


def _stale_session(request: Request) -> bool:
    """Whether the browser sent a session cookie whose token is known not to be valid (not
    while the settings file does not load: the token may be, and sign-out is offered)."""
    token = session_token(request)
    if token is None:
        return False
    try:
        return user_for_token(services_of(request), token) is None
    except ApiError:
        return False


def forget_session(response: Response) -> None:
    """Clear the session cookies in the browser ``response`` goes to."""
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check the form's CSRF token and the API token; keep the token in an HttpOnly cookie."""
    form = await read_form(request, check_csrf=False)
    # In a thread, as every check of a token runs: the settings file may be read again.
    return await run_in_threadpool(_signed_in, request, form)


def _signed_in(request: Request, form: dict[str, str]) -> Response:
    if not signin_csrf_ok(request, form.get("csrf")):
        return _signin_form(request, status=403, flash_kind="error",
                            flash="The sign-in form expired or came from another site; try again.")
    token = form.get("token", "").strip()
    if user_for_token(services_of(request), token) is None:
        return _signin_form(request, status=401, flash_kind="error",
                            flash="That token is not known to this server.")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, cookie_value(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    # A new session, a new value: the forms of any earlier one (this token's) no longer post.
    keep_session_nonce(request, response, new_session_nonce())
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Forget the token: always, once the form's CSRF token is this cookie's.

    The user is not looked up: a revoked token, or a settings file that no longer loads,
    must not keep a browser signed in. The CSRF token is the cookie's own MAC, checked
    without the settings, so another site still cannot sign a visitor out.
    """
    await read_form(request)
    response = RedirectResponse("/signin", status_code=303)
    forget_session(response)
    return response


def install_web(app: FastAPI) -> None:
    """Add the web pages, their static files and their error pages to ``app``."""
    from . import views

    app.state.web_key = web_key(app.state.services.settings)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)
    app.include_router(views.router)

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        response = redirect(request, "/signin")
        # The cookie sent holds no valid token: harmless to clear, and it would otherwise sign
        # the browser back in once the token is restored. Never cleared for a request sent
        # without it (a cross-site link): that would sign the visitor out from another site.
        if session_token(request) is not None:
            forget_session(response)
        return response

    api_handler = app.exception_handlers[BatonError]

    @app.exception_handler(BatonError)
    async def _baton(request: Request, exc: BatonError) -> Response:
        # The API answers JSON; a page answers a page (an unknown plan id, a refused action...).
        if request.url.path.startswith(API_PREFIX):
            return await api_handler(request, exc)
        return render(request, "error.html", None, status=status_for(exc.code),
                      title="That did not work", message=caller_message(exc, request))

    for failure in (ApiError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(failure, _page_for_browsers(app.exception_handlers[failure]))

    @app.exception_handler(FormError)
    async def _form(request: Request, exc: FormError) -> Response:
        return render(request, "error.html", None, status=exc.status, title="Form refused",
                      message=exc.message)


_TITLES = {400: "Request refused", 401: "Sign-in needed", 403: "Not allowed", 404: "Not found",
           405: "Not allowed", 413: "Too large", 422: "Request refused"}


def _page_for_browsers(api_handler: Any) -> Any:
    """The API's handler for API paths; for a page, the same status and message as an HTML page."""

    async def handler(request: Request, exc: Exception) -> Response:
        response = await api_handler(request, exc)
        if request.url.path.startswith(API_PREFIX):
            return response
        try:
            message = json.loads(bytes(response.body))["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = "the request failed"
        status = response.status_code
        title = _TITLES.get(status, "Server error" if status >= 500 else "That did not work")
        page = render(request, "error.html", None, status=status, title=title, message=message)
        # The answer's own headers (Allow on a 405, naming every method the path takes;
        # Retry-After...) say as much of a page; its body's are the page's.
        for name, value in response.headers.items():
            if name not in _BODY_HEADERS and name not in page.headers:
                page.headers.append(name, value)
        return page

    return handler


_BODY_HEADERS = frozenset({"content-length", "content-type"})
