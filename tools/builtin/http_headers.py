"""Which request headers a plan or a ``[[tools.http]]`` table may set, and what their values may hold.

Refused, whatever their case (see ``docs/tools.md``):

- a name that is not an RFC 9110 token (``X Bad``, ``X-A\\r\\nX-B``, the HTTP/2
  pseudo-headers ``:authority`` and ``:path``): the HTTP client fails on it, and the
  failure was taken for a transport error and retried;
- names that say where the request goes or whom it comes from (``Host``,
  ``Forwarded``, ``X-Forwarded-*`` …): the egress allowlist and the secret destinations
  judge the URL's host, and a server or proxy behind it may route on these instead;
- names that change what the request does (``X-HTTP-Method-Override`` …): policy judges
  read or write by the method;
- names that frame the message or manage the connection (``Content-Length``,
  ``Transfer-Encoding``, ``Connection``, ``Proxy-*`` …): the HTTP client sets them from
  the request itself, and a value of the plan's could split one request into two.
"""

from __future__ import annotations

import re
from typing import Any

# RFC 9110 section 5.6.2: token = 1*tchar.
_TCHAR = "[!#$%&'*+.^_`|~0-9A-Za-z-]"
_TOKEN_RE = re.compile(f"{_TCHAR}+")  # fullmatch: a pattern's "$" lets a final line break by
# A name ending in "*" refuses every name it starts (lower case, compared lower-cased).
ROUTING_HEADERS = ("host", "forwarded", "x-forwarded-*", "x-real-ip", "x-host",
                   "x-original-host", "x-http-host-override", "x-original-url", "x-rewrite-url")
METHOD_OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
FRAMING_HEADERS = ("content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                   "te", "trailer", "proxy-*")
_WHY = {
    ROUTING_HEADERS: "may send the request elsewhere than the url's host, which the egress "
                     "allowlist judges: put the host in the url",
    METHOD_OVERRIDE_HEADERS: "may make the server do another method than the one policy "
                             "judged: use the method argument",
    FRAMING_HEADERS: "is set by the HTTP client from the request itself (a value of its own "
                     "could split or smuggle requests)",
}
REFUSED_HEADERS = tuple(name for names in _WHY for name in names)


def _refused_pattern() -> str:
    # The names hold letters and "-" only: written as they are, no escape (ECMA-262 in
    # unicode mode refuses "\-"), so the planner and every JSON Schema engine read the same.
    alternatives = (name.replace("*", ".*") for name in REFUSED_HEADERS)
    return f"^(?i:{'|'.join(alternatives)})$"


HEADER_NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    # "No character outside the token set" rather than ^token$: in Python's re, which checks
    # plans, "$" also matches before a final line break.
    "allOf": [{"minLength": 1, "not": {"pattern": f"[^{_TCHAR[1:]}"}},
              {"not": {"pattern": _refused_pattern()}}],
}
"""JSON Schema of a header name a plan may send, for plan validation (``propertyNames``)."""


def header_name_problem(name: str) -> str | None:
    """Why no plan or table may send a header named ``name``, in words; None if it may."""
    if not _TOKEN_RE.fullmatch(name):
        if name.startswith(":"):
            return ("is an HTTP/2 pseudo-header, which the HTTP client sets from the method "
                    "and the url")
        return ("is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only: no "
                "space, colon or line break)")
    lowered = name.lower()
    for names, why in _WHY.items():
        if any(lowered == refused or (refused.endswith("*") and
                                      lowered.startswith(refused.removesuffix("*")))
               for refused in names):
            return f"is refused: it {why}"
    return None


# What no header value can hold (RFC 9110 field-value): control characters but the tab.
_UNSENDABLE_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def header_value_problem(value: str) -> str | None:
    """What in ``value`` no HTTP header can carry, in words (never the value); None if nothing."""
    if _UNSENDABLE_IN_VALUE.search(value):
        return "a line break, NUL or other control character"
    # RFC 9110 5.5: a field value neither starts nor ends with whitespace (a parser strips it,
    # and h11 refuses to send it: every attempt failed as a retried transport error).
    if value != value.strip(" \t"):
        return "a space or tab at its start or end"
    if not value.isascii() and not _latin1(value):
        return "a character outside latin-1"
    return None


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
