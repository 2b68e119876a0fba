"""The one spelling of a host that policies judge: the host a request actually goes to.

A URL may write one host many ways (any case, a trailing dot or an ideographic full stop,
non-ASCII letters, an IP address in octal or as one number); host patterns
(``egress_allowlist``, ``host_regions``, ``secret_destinations``) are compared with this
spelling, so each way must give the same one. Kept apart from the input building so the
settings checks can tell a host pattern that no host would ever be spelled as.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import SplitResult, urlsplit


def url_host(url: Any) -> str | None:
    """The host a URL goes to (lower case, no trailing dot, IDNA, an IP address in one
    spelling: :func:`address_form`); None when ``url`` is not a URL."""
    if not isinstance(url, str):
        return None
    try:
        return parts_host(urlsplit(url.strip()))
    except ValueError:
        return None


def parts_host(parts: SplitResult) -> str | None:
    # The full stops IDNA reads as "." become one before the trailing dot is dropped:
    # "example.com。" is example.com to the client, and must be to every host pattern too.
    host = (parts.hostname or "").lower().translate(_FULL_STOPS).rstrip(".")
    return address_form(ascii_host(host)) or None


# The full stops UTS #46 maps to "." (ideographic, fullwidth, halfwidth ideographic).
_FULL_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def address_form(host: str) -> str:
    """``host`` in one spelling when it is an IP address, else as it is.

    An IPv6 address in its compressed form (``2001:db8::1``), one that maps an IPv4 address
    (``::ffff:203.0.113.5``) as that address; an IPv4 address as the resolver reads it
    (inet_aton: ``3405803781``, ``0xcb.0.113.5``, ``0313.0.0161.5`` and ``203.0.28933`` are
    all 203.0.113.5), in dotted decimal. The client connects to the same address however the
    URL writes it, so the host patterns must see one spelling of it."""
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            return host
        mapped = address.ipv4_mapped
        return str(mapped if mapped is not None else address)
    number = _inet_aton(host)
    return host if number is None else str(ipaddress.IPv4Address(number))


def _inet_aton(host: str) -> int | None:
    # glibc's inet_aton, which getaddrinfo reads a numeric host with: one to four parts, each
    # decimal, octal (a leading 0) or hexadecimal (0x); the last fills the bytes left.
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers = []
    for part in parts:
        if part[:2] in ("0x", "0X"):
            digits, base = part[2:], 16
        elif part[:1] == "0":
            digits, base = part, 8
        else:
            digits, base = part, 10
        # Leading zeros aside, no part of an address is over 11 digits (int() refuses a
        # decimal text of thousands, and a URL's host may be that long).
        if (not digits or len(digits.lstrip("0")) > 11
                or any(c not in _DIGITS[base] for c in digits)):
            return None
        numbers.append(int(digits, base))
    *first, last = numbers
    if any(n > 0xFF for n in first) or last >= 1 << (8 * (4 - len(first))):
        return None
    return sum(n << (8 * (3 - i)) for i, n in enumerate(first)) + last


_DIGITS = {8: frozenset("01234567"), 10: frozenset("0123456789"),
           16: frozenset("0123456789abcdefABCDEF")}


def ascii_host(host: str) -> str:
    """``host`` as requests send it: a name with non-ASCII letters in its IDNA form, as the
    HTTP client encodes it (``bücher.example``: ``xn--bcher-kva.example``), so that a host
    is judged by one name however the URL writes it. One the client cannot encode (it
    refuses the URL) is left as it is: no pattern, all ASCII, matches it."""
    if host.isascii():
        return host
    import idna

    try:
        return idna.encode(host).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return host
