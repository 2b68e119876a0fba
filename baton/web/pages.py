"""Rendering helpers shared by the web routes: templates, forms, redirects, error pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from baton import limits as text_limits
from baton.api import limits
from baton.api.auth import role_table_of
from baton.api.permissions import Action
from baton.settings import User

from .session import (
    csrf_ok,
    csrf_token,
    flash_signature,
    keep_session_nonce,
    new_session_nonce,
    session_nonce,
    session_token,
    verified_flash,
)
from .shown import lines_html, shown

HERE = Path(__file__).parent
# Every value a template writes is ``shown`` (control and format characters escaped, as the
# CLI prints them), then HTML-escaped: a plan's text cannot reorder or hide what is read.
templates = Jinja2Templates(env=Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, finalize=shown))
templates.env.filters["lines"] = lines_html
templates.env.globals["Action"] = Action
# The API's limits, so a form's maxlength and the server's check are the API's own.
TEXT_LIMITS = {"goal": text_limits.GOAL_MAX_CHARS, "feedback": text_limits.FEEDBACK_MAX_CHARS,
               "comment": text_limits.COMMENT_MAX_CHARS, "reason": text_limits.REASON_MAX_CHARS}
templates.env.globals["max_chars"] = TEXT_LIMITS

# What a page may load and do: its own stylesheet and script, nothing inline (the templates
# hold no inline script, style or handler), no plugin, no <base>, forms to this server only.
# Framing is forbidden here and on every other response (baton.api.app.SecurityHeaders).
PAGE_POLICY = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")

MAX_FORM_FIELDS = 20
FORM_TYPE = "application/x-www-form-urlencoded"  # what the pages' forms send


class FormError(Exception):
    """A form was refused (bad CSRF token, missing field); shown to the user, status 400/403."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def render(request: Request, name: str, user: User | None, status: int = 200, *,
           signout: bool = True, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the signed-in user, this session's CSRF token and ``may``,
    the role table in force's check of the user (a template shows what the user may do).

    A browser that sends a session cookie gets the CSRF token, and so the sign-out form, on
    every page, signed in or not (unless ``signout`` is False: the cookie is being cleared):
    with its token revoked, or the settings file no longer loading, it must still be able to
    drop a cookie that would sign it back in once the token or the file is back.
    """
    offered = user is not None or (signout and session_token(request) is not None)
    # A session signed in before sessions had their own value gets one now: its forms then
    # post only within it, as a session's signed in since.
    minted = new_session_nonce() if offered and session_nonce(request) is None else None
    csrf = csrf_token(request, minted) if offered else ""
    if "flash" not in context:
        context["flash"], context["flash_kind"] = verified_flash(request)
    if user is not None:
        context["may"] = role_table_of(request).may
    response = templates.TemplateResponse(request, name, {"user": user, "csrf": csrf, **context},
                                          status_code=status)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    if minted is not None:
        keep_session_nonce(request, response, minted)
    return response


async def read_form(request: Request, *, check_csrf: bool = True) -> dict[str, str]:
    """The url-encoded form body (first value of each field); refuses a body not labelled as a
    form (415), one that is not UTF-8 (400), a NUL in any field (422 ``invalid_request``) and
    a bad CSRF token (403)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != FORM_TYPE:
        # The edge's NUL check reads a body as its label says: parsed here as a form whatever
        # its label, a body labelled otherwise would pass that check unread.
        raise FormError(f"a form must be sent as {FORM_TYPE}; send the page's own form",
                        status=415)
    # Strictly UTF-8, raw and percent-encoded alike: with errors replaced, bytes that are
    # not UTF-8 (an encoded surrogate among them) were taken as U+FFFD and acted on.
    try:
        raw = (await request.body()).decode("utf-8")
        parsed = parse_qs(raw, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                          errors="strict")
    except UnicodeDecodeError:
        raise FormError("the form is not UTF-8 text; send the page's own form") from None
    except ValueError:  # the parser's refusal of too many fields: the sender's mistake
        raise FormError(f"the form has more than {MAX_FORM_FIELDS} fields; "
                        "send the page's own form") from None
    _refuse_nul(parsed)
    # A browser sends a textarea's line breaks as CRLF (its maxlength counts each as one):
    # read as LF, as the API and the CLI take text, before any length is checked.
    form = {key: _lf(values[0]) for key, values in parsed.items()}
    if check_csrf and not csrf_ok(request, form.get("csrf")):
        raise FormError("the form expired or did not come from this site; reload and try again",
                        status=403)
    return form


def _lf(text: str) -> str:
    """``text`` with each line break (CRLF, or a lone CR) as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _refuse_nul(parsed: dict[str, list[str]]) -> None:
    """422 ``invalid_request`` naming the field, as the API's edge check answers: checked on
    the fields as parsed here, so no labelling of the body can slip a NUL past it."""
    for name, values in parsed.items():
        if "\x00" in name or any("\x00" in value for value in values):
            shown = name.replace("\x00", "\\0")
            raise limits.InvalidTextError(shown, ["body", shown])


def form_text(form: dict[str, str], name: str) -> str:
    """Field ``name`` of ``form`` ('' when absent); a 422 page past the API's limit for it,
    counted with its line breaks read as LF (``read_form``), as the page's ``maxlength``
    counts them."""
    value = form.get(name, "")
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        raise FormError(f"{name}: at most {limit} characters, like the API ({len(value)} sent)",
                        status=422)
    return value


def redirect(request: Request, url: str, flash: str | None = None,
             kind: str = "info") -> RedirectResponse:
    """A 303 redirect (after a POST), optionally with a one-line message signed for this session."""
    if flash:
        from urllib.parse import urlencode

        query = urlencode({"flash": flash, "kind": kind,
                           "sig": flash_signature(request, flash, kind)})
        url = f"{url}{'&' if '?' in url else '?'}{query}"
    return RedirectResponse(url, status_code=303)


def require_role(request: Request, user: User, action: Action) -> None:
    """Refuse (403 page) unless one of ``user``'s roles grants ``action`` in the role table in
    force."""
    table = role_table_of(request)
    if not table.may(user, action):
        raise FormError(table.refusal(user, action), status=403)
