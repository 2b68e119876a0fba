"""Web routes: sign-in, the approval queue, plan, run and ledger pages, and their forms.

Every form posts to a handler that calls the same use case as the API and
the CLI, so the approval rules are identical everywhere.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from baton.api.app import API_PREFIX
from baton.api.auth import services_of, user_for_token
from baton.api.errors import status_for
from tools import BatonError

from .pages import HERE, FormError, read_form, redirect, render
from .session import COOKIE, SignInRequired, signed_in_user

router = APIRouter(include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "signin.html", None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie."""
    form = await read_form(request, check_csrf=False)
    token = form.get("token", "").strip()
    if user_for_token(services_of(request), token) is None:
        return render(request, "signin.html", None, status=401,
                      flash="That token is not known to this server.", flash_kind="error")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Forget the token."""
    signed_in_user(request)
    await read_form(request)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def install_web(app: FastAPI) -> None:
    """Add the web pages, their static files and their error pages to ``app``."""
    from . import views

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)
    app.include_router(views.router)

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        return redirect("/signin")

    api_handler = app.exception_handlers[BatonError]

    @app.exception_handler(BatonError)
    async def _baton(request: Request, exc: BatonError) -> Response:
        # The API answers JSON; a page answers a page (an unknown plan id, a refused action...).
        if request.url.path.startswith(API_PREFIX):
            return await api_handler(request, exc)
        return render(request, "error.html", None, status=status_for(exc.code),
                      title="That did not work", message=exc.message)

    @app.exception_handler(FormError)
    async def _form(request: Request, exc: FormError) -> Response:
        return render(request, "error.html", None, status=exc.status, title="Form refused",
                      message=exc.message)
