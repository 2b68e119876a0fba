"""http.request: a Retry-After no one can read is ignored, one too long to be a float is too
long, and a URL no request can go to is a final typed error, never a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.support import Reply
from tools import RetryPolicy, ToolContext, ToolError, ToolInputError, ToolRegistry
from tools.builtin.http import RETRY_AFTER_TOO_LONG_S, parse_retry_after, status_error

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("header", [
    "Mon, 01 Jan 2024 00:00:00 +99999999999999",  # an offset past C's int: OverflowError
    "Mon, 01 Jan 99999999999999999 00:00:00 GMT",  # a year past C's int: OverflowError
    "Mon, 01 Jan 2024 00:00:00 +2500",  # an offset no clock has (ValueError, as before)
    "inf", "NaN", "-inf", "soon", "1_000", "",
])
def test_an_unreadable_retry_after_is_ignored(header):
    assert parse_retry_after(header, NOW) is None


@pytest.mark.parametrize("header", ["9" * 309, "9" * 5000, "1e400", "1.5e999"])
def test_a_wait_too_long_for_a_float_is_the_longest_wait_not_none(header):
    # It was read as inf, taken for no header at all, and retried after 0.5 s.
    assert parse_retry_after(header, NOW) == RETRY_AFTER_TOO_LONG_S


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("-5", 0.0), ("2.5", 2.5), ("1e3", 1000.0),
    ("-1e400", 0.0), ("Mon, 01 Jan 2024 00:01:30 GMT", 90.0),
    ("Sun, 31 Dec 2023 23:00:00 GMT", 0.0), ("Fri, 31 Dec 9999 23:59:59 -2359", None),
])
def test_a_readable_retry_after_is_its_seconds(header, seconds):
    parsed = parse_retry_after(header, NOW)
    if seconds is None:  # the last day any calendar here holds: a finite, very long wait
        assert parsed is not None and 2.5e11 < parsed < RETRY_AFTER_TOO_LONG_S
    else:
        assert parsed == seconds


def test_a_503_asking_for_a_wait_too_long_for_a_float_is_refused_as_too_long():
    from executor.retry import decide, retry_after_refusal

    policy = RetryPolicy(max_attempts=3, initial_backoff_s=0.5, max_backoff_s=30.0)
    error = status_error(503, "Service Unavailable", "http://x/", "", "9" * 400, [])
    assert error.retryable and error.retry_after_s == RETRY_AFTER_TOO_LONG_S
    assert decide(error, 1, policy, seed="r:s:1") is None
    assert retry_after_refusal(error, 1, policy).startswith("not retried: Retry-After ")


def test_a_503_with_an_unreadable_retry_after_is_retryable_without_a_wait():
    error = status_error(503, "Service Unavailable", "http://x/", "busy",
                         "Mon, 01 Jan 2024 00:00:00 +99999999999999", [])
    assert error.retryable and error.retry_after_s is None and error.code == "http_503"


def call(registry: ToolRegistry, url: str) -> dict:
    return asyncio.run(registry.get("http.request").invoke(
        {"url": url, "timeout_s": 5}, ToolContext(idempotency_key="k")))


@pytest.mark.parametrize(("url", "why"), [
    ("http://127.0.0.1:99999/", "port 99999 is not in 1-65535"),  # ExceptionGroup(OverflowError)
    ("http://127.0.0.1:0/", "port 0 is not in 1-65535"),  # retried as a transport error
    ("http://xn--a.com/", "no valid internationalized domain name"),  # idna.InvalidCodepoint
    ("http://[::1/", "Invalid port"),
])
def test_a_url_no_request_can_go_to_is_a_final_typed_error(registry, url, why):
    with pytest.raises(ToolInputError) as caught:
        call(registry, url)
    assert caught.value.code == "http_bad_url" and not caught.value.retryable
    assert why in str(caught.value)


def test_a_url_credential_is_not_shown_in_a_bad_url_error(registry):
    with pytest.raises(ToolError) as caught:
        call(registry, "http://user:hunter2secret@127.0.0.1:99999/")
    assert "hunter2secret" not in str(caught.value)


def test_a_url_with_its_port_still_reaches_the_server(registry, http_server):
    http_server.script("/p", Reply(body="ok"))
    assert call(registry, http_server.url("/p"))["text"] == "ok"
