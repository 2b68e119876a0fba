"""Whether a string is an RFC 3986 URI-reference, and if not, why (one short phrase).

CloudEvents 1.0 requires its ``source`` to be one. No URI library is a dependency, so the
grammar is checked here: the reference is split as RFC 3986 Appendix B splits it, then each
part is held to its own rule (brackets only around an IP-literal host, one ``#`` at most,
a port of digits only, no ':' in the first segment of a relative path...).
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata

# RFC 3986: unreserved, gen-delims, sub-delims and "%" (of a %XX escape) are all a URI may hold.
_URI_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~" + ":/?#[]@"
                            + "!$&'()*+,;=" + "%")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# RFC 3986 Appendix B: scheme, authority, path, query, fragment (each group None when absent).
_PARTS = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)
_IPV_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")
_PORT = re.compile(r"[0-9]*")


def uri_reference_problem(text: str) -> str | None:
    """What keeps ``text`` from being an RFC 3986 URI-reference; None if nothing does."""
    why = _characters_problem(text)
    if why:
        return why
    parts = _PARTS.fullmatch(text)
    assert parts is not None  # every group may be empty: the pattern matches any string
    scheme, authority, path, query, fragment = parts.groups()
    if scheme is not None and not _SCHEME.fullmatch(scheme):
        return (f"{scheme!r}, before the first ':', is not a scheme "
                f"(a letter, then letters, digits, '+', '-' or '.')")
    if scheme is None and authority is None and ":" in path.partition("/")[0]:
        # A relative reference's first segment may hold no ':' (RFC 3986 §4.2: it would read
        # as a scheme). Appendix B leaves one only where nothing comes before that ':'.
        return (f"{path.partition('/')[0]!r}, its first path segment, holds ':' with no scheme "
                f"before it (start it with './' or percent-encode the ':' as %3A)")
    if fragment is not None and "#" in fragment:
        return "it holds more than one '#' (percent-encode the others as %23)"
    for part in (path, query, fragment):
        if part and (bracket := _bracket(part)):
            return _bracket_problem(bracket)
    return _authority_problem(authority) if authority else None


def _characters_problem(text: str) -> str | None:
    refused = next((c for c in text if c not in _URI_CHARACTERS), None)
    if refused is not None:
        if refused.isspace():
            return "it holds whitespace"
        if unicodedata.category(refused) == "Cc":
            return "it holds a control character"
        return f"{refused!r} is not allowed in one (percent-encode it)"
    if _BAD_PERCENT.search(text):
        return "'%' must start a %XX escape"
    return None


def _authority_problem(authority: str) -> str | None:
    """``[userinfo "@"] host [":" port]``: the host a reg-name, IPv4 address or IP-literal."""
    userinfo, at, host_port = authority.rpartition("@")
    if at and "@" in userinfo:
        return "its authority holds more than one '@' (percent-encode the others as %40)"
    if bracket := _bracket(userinfo):
        return _bracket_problem(bracket)
    if host_port.startswith("["):
        end = host_port.find("]") + 1
        host, rest = (host_port[:end], host_port[end:]) if end else (host_port, "")
        if not end or not _ip_literal(host[1:-1]) or (rest and not rest.startswith(":")):
            return (f"{host_port!r} is not an IP-literal host and port: an IPv6 address or "
                    f"vX.… in brackets, then ':' and a port if any")
        port = rest[1:]
    else:
        host, _, port = host_port.partition(":")
        if bracket := _bracket(host):
            return _bracket_problem(bracket)
    if not _PORT.fullmatch(port):
        return f"the port {port!r} is not digits"
    return None


def _ip_literal(inside: str) -> bool:
    if _IPV_FUTURE.fullmatch(inside):
        return True
    if "%" in inside:  # a zone id ("fe80::1%25eth0") is RFC 6874, not RFC 3986
        return False
    try:
        ipaddress.IPv6Address(inside)
    except ValueError:
        return False
    return True


def _bracket(part: str) -> str | None:
    return next((c for c in part if c in "[]"), None)


def _bracket_problem(bracket: str) -> str:
    return (f"{bracket!r} may only enclose an IP-literal host (percent-encode it elsewhere: "
            f"{'%5B' if bracket == '[' else '%5D'})")
