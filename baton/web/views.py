"""Pages over the use cases: queue, plan, run, ledger."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .pages import render
from .session import signed_in_user

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """The signed-in user's queue."""
    user = signed_in_user(request)
    return render(request, "index.html", user, waiting=[], mine=[])
