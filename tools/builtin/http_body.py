"""Reading an HTTP response's body: decoded one bounded slice at a time, capped, as text and JSON.

The one job of this module is turning the bytes an answer sends into the body ``http.request``
returns (and its ``[[tools.http]]`` tables): gzip and deflate decoded without ever holding more
than the size limit, a body undecodable or over the limit judged by the answer's status, the
text in its declared charset and the JSON parsed strictly. The call itself (headers, secrets,
URL, retries by status) is :mod:`tools.builtin.http`'s.
"""

from __future__ import annotations

import json as jsonlib
import math
import zlib
from typing import TYPE_CHECKING, Any

from ..errors import ToolError
from ..output_checks import OUTPUT_MAX_DEPTH
from ..redaction import CUT_MARK, redact

if TYPE_CHECKING:
    import httpx

EXCERPT_CHARS = 200
"""The most characters of a server's text quoted in an error (a body, an encoding's name)."""

ACCEPT_ENCODING = "gzip, deflate"
"""What every request accepts unless its headers say otherwise: the encodings
:class:`_Inflater` decodes with bounded memory (httpx would add br and zstd when their
packages are installed, whose decoders it cannot bound)."""
_INFLATABLE = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}  # RFC 9110 8.4.1.3


class _Inflater:
    """One gzip or deflate layer, decoded a bounded slice at a time.

    httpx decodes each chunk it receives in full: a 1 KB chunk of a doubly gzipped body
    became 512 MiB before the size cap saw it. Here zlib's ``max_length`` stops each chunk's
    output one byte past the room left, so memory stays near the cap whatever the ratio.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._z: Any = None  # made once the first two bytes say which form the stream takes
        self._held = b""  # a first byte, kept until the second comes
        self._members = 0  # gzip members (or deflate streams) decoded to their end
        self._ignoring = False  # past the end of the data: trailing bytes dropped, as httpx does

    def decode(self, data: bytes, room: int) -> bytes:
        """The bytes ``data`` decodes to: at most ``room + 1``, so that more means over the cap.

        Raises ``zlib.error`` for data that is not of this encoding.
        """
        data, self._held = self._held + data, b""
        out: list[bytes] = []
        while data and not self._ignoring and room >= 0:
            if self._z is None:
                if len(data) < 2:
                    self._held = data
                    break
                self._z = self._start(data[:2])
                if self._z is None:
                    self._ignoring = True
                    break
            chunk = self._z.decompress(data, room + 1)
            out.append(chunk)
            room -= len(chunk)
            if self._z.eof:
                self._members += 1
                data, self._z = self._z.unused_data, None
            else:  # output under max_length means every byte was taken: the tail is empty
                data = self._z.unconsumed_tail
        return b"".join(out)

    def _start(self, head: bytes) -> Any:
        """A decompressor for a stream starting with ``head``; None for bytes past the end."""
        if self.encoding == "gzip":
            if self._members and head != b"\x1f\x8b":
                return None  # not another member (RFC 1952 2.2): junk after the data
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._members:
            return None
        # "deflate" is meant as zlib-wrapped (RFC 9110) but often sent raw (as httpx, both).
        zlib_wrapped = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)

    @property
    def truncated(self) -> bool:
        """Whether the body ended inside a compressed stream (some bytes came, no end did)."""
        return self._z is not None or (bool(self._held) and not self._members)


class _Unusable(Exception):
    """A body this reader cannot decode, or that is over the size limit: the call's error for a
    2xx answer, whose body is its result; left out of any other answer, whose status decides
    (see :func:`read_capped`)."""

    def __init__(self, error: ToolError, summary: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.summary = summary  # why, in a few words, for the status error's message


def _encodings(response: httpx.Response) -> list[str]:
    """The response's Content-Encoding layers in the order applied, ``identity`` left out."""
    layers = [name.strip().lower()
              for name in response.headers.get_list("content-encoding", split_commas=True)]
    return [name for name in layers if name not in ("", "identity")]


def _inflater(layers: list[str], shown: str, secret_values: list[str]) -> _Inflater | None:
    """The decoder of these Content-Encoding layers: None for none; :class:`_Unusable` for
    one whose output cannot be bounded (br, zstd, compress, an unknown name, or layers stacked)."""
    if not layers:
        return None
    if len(layers) == 1 and layers[0] in _INFLATABLE:
        return _Inflater(_INFLATABLE[layers[0]])
    why = "several encodings stacked" if len(layers) > 1 else "an encoding it cannot decode"
    named = redact(", ".join(layers), secret_values)  # the server's text, as a body excerpt is
    if len(named) > EXCERPT_CHARS:
        named = named[:EXCERPT_CHARS] + CUT_MARK
    raise _Unusable(ToolError(
        f"response body from {shown} has Content-Encoding {named!r}: {why} "
        f"(http.request decodes one of gzip or deflate, and asks for {ACCEPT_ENCODING})",
        retryable=False, code="http_unsupported_encoding",
    ), f"http.request does not decode Content-Encoding {named!r} ({why})")


def _body_needed(status: int) -> bool:
    """Whether the caller needs this answer's body: a 2xx body is the call's result, while a
    3xx answer is acted on by its headers and an error by its status (and Retry-After)."""
    return 200 <= status < 300


def _has_body(method: str, status: int) -> bool:
    """Whether the answer can carry a body (RFC 9110 6.4.1): not to HEAD, nor a 1xx, 204 or 304,
    whatever Content-Length it declares (that of the body a GET would get)."""
    return method != "HEAD" and status >= 200 and status not in (204, 304)


async def read_capped(response: httpx.Response, max_bytes: int, method: str, shown: str,
                       secret_values: list[str]) -> tuple[bytes, str | None]:
    """Read and decode the body, refusing (not truncating) one over ``max_bytes`` once decoded.

    Returns the body and None, or, for an answer other than 2xx whose body cannot be decoded
    (its encoding refused, its data corrupt or cut) or is over ``max_bytes``, an empty body
    and why it was left out: a 503 with a Brotli page or a large one is still retried after
    its Retry-After, a 301 still returned. For a 2xx answer such a body fails the call
    (http_unsupported_encoding, http_bad_encoding, http_response_too_large).
    """
    try:
        return await _read_decoded(response, max_bytes, method, shown, secret_values), None
    except _Unusable as exc:
        if _body_needed(response.status_code):
            raise exc.error from exc.__cause__
        return b"", exc.summary


async def _read_decoded(response: httpx.Response, max_bytes: int, method: str, shown: str,
                        secret_values: list[str]) -> bytes:
    """The decoded body, at most ``max_bytes``; :class:`_Unusable` for one it cannot decode or
    that is longer."""
    layers = _encodings(response)
    # A HEAD, 204 or 304 answer may declare the length of a body it does not send. An encoded
    # body declares its length on the wire, not the decoded one the cap counts (1000 random
    # bytes gzip to 1023): only the bytes decoded decide then.
    has_body = _has_body(method, response.status_code)
    declared = response.headers.get("content-length") if has_body else None
    if declared and declared.isdigit() and int(declared) > max_bytes and not layers:
        raise _too_large(f"response body of {int(declared)} bytes from {shown} exceeds the "
                         f"limit of {max_bytes} bytes", max_bytes)
    chunks: list[bytes] = []
    size = 0
    inflater: _Inflater | None = None
    started = False
    async for raw in response.aiter_raw():
        if not raw:
            continue
        if not started:  # at the first byte: an empty body (HEAD, 204, 304) in any encoding is fine
            started = True
            inflater = _inflater(layers, shown, secret_values)
        chunk = raw if inflater is None else _inflate(inflater, raw, max_bytes - size, shown)
        size += len(chunk)
        if size > max_bytes:
            after = f", once {inflater.encoding}-decoded" if inflater is not None else ""
            raise _too_large(f"response body from {shown} exceeds the limit of {max_bytes} "
                             f"bytes (stopped reading at {size} bytes{after})", max_bytes)
        chunks.append(chunk)
    if inflater is not None and inflater.truncated:
        raise _bad_encoding(shown, inflater, "the body ends before the compressed data does")
    return b"".join(chunks)


def _too_large(message: str, max_bytes: int) -> _Unusable:
    return _Unusable(ToolError(message, retryable=False, code="http_response_too_large"),
                     f"over the limit of {max_bytes} bytes")


def _inflate(inflater: _Inflater, raw: bytes, room: int, shown: str) -> bytes:
    try:
        return inflater.decode(raw, room)
    except zlib.error as exc:
        raise _bad_encoding(shown, inflater, str(exc)) from exc


def _bad_encoding(shown: str, inflater: _Inflater, why: str) -> _Unusable:
    return _Unusable(
        ToolError(f"response body from {shown} is not valid {inflater.encoding} data: {why}",
                  retryable=False, code="http_bad_encoding"),
        f"not valid {inflater.encoding} data ({why})")


def _text(raw: bytes, charset: str | None) -> str:
    """The body as text in its declared charset, or UTF-8 when Python has no usable text codec.

    A server's label (``charset=bogus``, ``x-user-defined``, ``base64``) must not fail the
    call: the body is still read, undecodable bytes replaced. Some text codecs cannot replace
    (``idna``, ``punycode``, ``undefined`` raise a UnicodeError, a ValueError, whatever the
    error handler): they are no codec Python can use for a body either.
    """
    if charset:
        try:
            return raw.decode(charset, errors="replace")
        except (LookupError, ValueError):
            pass
    return raw.decode("utf-8", errors="replace")


def _not_json(constant: str) -> Any:
    # Python's parser takes NaN and Infinity; no JSON document holds them, and a value
    # holding them would make the run's rows and the ledger unreadable as JSON.
    raise ValueError(f"{constant} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):  # 1e400: too large for a float, read as Infinity
        raise ValueError(f"{number[:20]} overflows a float")
    return value


def _too_deep(value: Any) -> bool:
    """Whether lists and dicts nest in ``value`` deeper than an output may hold them."""
    level: list[Any] = [value]
    for _ in range(OUTPUT_MAX_DEPTH):
        level = [inner for outer in level
                 for inner in (outer.values() if isinstance(outer, dict) else outer)
                 if isinstance(inner, dict | list)]
        if not level:
            return False
    return True


def decode_body(response: httpx.Response, raw: bytes) -> tuple[str, Any]:
    """The body as text and, for a JSON content type, parsed (None when it does not parse,
    or when the value is one no output can hold)."""
    text = _text(raw, response.charset_encoding)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    parsed = None
    if raw and (content_type == "application/json" or content_type.endswith("+json")):
        try:
            parsed = jsonlib.loads(text, parse_constant=_not_json, parse_float=_finite)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            return text, None  # a server that mislabels its body still returns the text
        if isinstance(parsed, dict | list) and _too_deep(parsed):
            # Deeper than any output nests (tool_output_too_deep): returned as text only, as
            # it is when it is too deep for the parser, whose limit depends on the stack.
            return text, None
    return text, parsed
