"""http.request against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.support import Reply
from tools import Effect, RetryableToolError, ToolContext, ToolError, ToolRegistry
from tools.builtin import register_builtin_tools
from tools.builtin.http import parse_retry_after

LIMIT = 64 * 1024


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=tmp_path / "ws", http_max_response_bytes=LIMIT)
    return registry


def call(registry: ToolRegistry, args: dict, *, key: str = "run1-step1", secrets=None) -> dict:
    context = ToolContext(idempotency_key=key, secrets=secrets or {})
    return asyncio.run(registry.get("http.request").invoke(args, context))


def test_get_parses_a_json_response(registry, http_server):
    http_server.script("/items", Reply(body={"items": [1, 2]}, headers={"X-Trace": "t1"}))
    out = call(registry, {"url": http_server.url("/items"), "query": {"limit": 2}})
    assert out["status"] == 200
    assert out["json"] == {"items": [1, 2]}
    assert out["headers"]["x-trace"] == "t1"
    assert out["url"].endswith("/items?limit=2")
    assert http_server.requests("/items")[0].query == {"limit": ["2"]}


def test_text_response_has_null_json(registry, http_server):
    http_server.script("/t", Reply(body="plain words"))
    out = call(registry, {"url": http_server.url("/t")})
    assert out["text"] == "plain words"
    assert out["json"] is None


def test_post_sends_json_body_and_idempotency_key(registry, http_server):
    call(registry, {"method": "POST", "url": http_server.url("/hook"), "json": {"total": 3}},
         key="run9-post")
    [request] = http_server.requests("/hook")
    assert request.method == "POST"
    assert request.idempotency_key == "run9-post"
    assert request.json() == {"total": 3}
    assert request.headers["content-type"] == "application/json"


def test_same_idempotency_key_is_applied_once_by_the_server(registry, http_server):
    args = {"method": "POST", "url": http_server.url("/pay"), "body": "x"}
    first = call(registry, args, key="k-1")
    second = call(registry, args, key="k-1")
    assert http_server.count("/pay") == 2
    assert len(http_server.effects("/pay")) == 1
    assert second["headers"]["idempotent-replayed"] == "true"
    assert first["status"] == second["status"] == 200


def test_effect_is_read_for_get_and_head_and_write_otherwise(registry):
    spec = registry.get("http.request")
    assert spec.effect_of({"method": "GET", "url": "http://x"}) is Effect.READ
    assert spec.effect_of({"method": "HEAD", "url": "http://x"}) is Effect.READ
    assert spec.effect_of({"url": "http://x"}) is Effect.READ
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert spec.effect_of({"method": method, "url": "http://x"}) is Effect.WRITE
    assert spec.effect_of({"method": {"ref": "a.method"}, "url": "http://x"}) is Effect.WRITE
    assert spec.info().effect_depends_on_args is True
    assert set(spec.tags) == {"egress", "network"}


def test_it_sends_the_key_and_declares_its_timeout_s_as_its_deadline(registry):
    spec = registry.get("http.request")
    assert spec.sends_idempotency_key and spec.info().sends_idempotency_key
    assert spec.declared_timeout_s({"url": "http://x", "timeout_s": 300}) == 300.0
    assert spec.declared_timeout_s({"url": "http://x"}) is None  # the default 30 s: within 60 s
    assert spec.declared_timeout_s({"url": "http://x", "timeout_s": {"ref": "a.t"}}) is None
    assert spec.info().timeout_depends_on_args is True


def test_oversized_body_is_refused_with_size_and_limit(registry, http_server):
    http_server.script("/big", Reply(body=b"x" * (LIMIT + 1)))
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/big")})
    assert not caught.value.retryable
    assert str(LIMIT + 1) in str(caught.value) and str(LIMIT) in str(caught.value)


def test_oversized_body_without_length_is_refused_while_streaming(registry, http_server):
    http_server.script("/stream", Reply(body=b"y" * (LIMIT * 3), send_length=False))
    with pytest.raises(ToolError, match=f"exceeds the limit of {LIMIT} bytes"):
        call(registry, {"url": http_server.url("/stream")})


def test_head_of_a_large_resource_is_not_refused(registry, http_server):
    http_server.script("/big", Reply(body=b"x" * (LIMIT * 2)))
    out = call(registry, {"method": "HEAD", "url": http_server.url("/big")})
    assert out["status"] == 200 and out["headers"]["content-length"] == str(LIMIT * 2)
    assert out["text"] == ""


def test_plan_supplied_idempotency_key_is_replaced_by_the_runs(registry, http_server):
    headers = {"idempotency-key": "from-plan", "X-Other": "kept"}
    call(registry, {"method": "PUT", "url": http_server.url("/k"), "headers": headers},
         key="from-run")
    [request] = http_server.requests("/k")
    assert request.header_values("Idempotency-Key") == ["from-run"]
    assert request.headers["x-other"] == "kept"


def test_body_at_the_limit_is_returned_whole(registry, http_server):
    http_server.script("/edge", Reply(body=b"z" * LIMIT, send_length=False))
    assert len(call(registry, {"url": http_server.url("/edge")})["text"]) == LIMIT


def test_server_error_is_retryable(registry, http_server):
    http_server.script("/flaky", Reply(status=503, body="down for maintenance"))
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/flaky")})
    assert caught.value.retryable
    assert "503" in str(caught.value) and "down for maintenance" in str(caught.value)


def test_too_many_requests_carries_retry_after_seconds(registry, http_server):
    http_server.script("/rl", Reply(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/rl")})
    assert caught.value.retryable
    assert caught.value.retry_after_s == 7.0
    assert "(Retry-After 7s)" in caught.value.message  # the failure says what the server asked


def test_retry_after_http_date_is_parsed():
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("inf", now) is None and parse_retry_after("NaN", now) is None
    assert parse_retry_after(None, now) is None


def test_not_found_is_final_with_status_and_excerpt(registry, http_server):
    http_server.script("/gone", Reply(status=404, body="no such item " + "x" * 1000))
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/gone")})
    assert not caught.value.retryable
    assert "HTTP 404" in str(caught.value) and "no such item" in str(caught.value)
    assert len(str(caught.value)) < 400


def test_redirect_is_returned_not_followed(registry, http_server):
    http_server.script("/old", Reply(status=302, headers={"Location": "/new"}))
    out = call(registry, {"url": http_server.url("/old")})
    assert out["status"] == 302 and out["headers"]["location"] == "/new"
    assert http_server.count("/new") == 0


def test_timeout_is_retryable(registry, http_server):
    http_server.script("/slow", Reply(delay_s=30))
    with pytest.raises(RetryableToolError, match="timed out"):
        call(registry, {"url": http_server.url("/slow"), "timeout_s": 0.2})


def test_dropped_connection_is_retryable(registry, http_server):
    http_server.script("/drop", Reply(drop=True))
    with pytest.raises(RetryableToolError):
        call(registry, {"url": http_server.url("/drop")})


def test_connection_refused_is_retryable(registry):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableToolError) as caught:
        call(registry, {"url": f"http://127.0.0.1:{port}/x"})
    assert caught.value.retryable


def test_only_http_urls_are_accepted(registry):
    with pytest.raises(ValidationError, match="url"):
        call(registry, {"url": "file:///etc/passwd"})
    with pytest.raises(ValidationError, match="json or body"):
        call(registry, {"url": "http://127.0.0.1/", "json": {}, "body": "x"})


def test_secret_header_is_filled_at_call_time(registry, http_server):
    args = {"url": http_server.url("/auth"),
            "headers": {"Authorization": "Bearer ${secret:API_TOKEN}"}}
    call(registry, args, secrets={"API_TOKEN": "s3cr3t-value"})
    assert http_server.requests("/auth")[0].headers["authorization"] == "Bearer s3cr3t-value"


def test_secret_value_never_appears_in_errors(registry, http_server):
    http_server.script("/echo", Reply(status=401, body="you sent Bearer s3cr3t-value, bad"))
    args = {"url": http_server.url("/echo"), "headers": {"Authorization": "Bearer ${secret:T}"}}
    with pytest.raises(ToolError) as caught:
        call(registry, args, secrets={"T": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(caught.value)
    assert "HTTP 401" in str(caught.value)


def test_missing_secret_is_final_and_named(registry, http_server):
    args = {"url": http_server.url("/auth"), "headers": {"X-Key": "${secret:NOPE}"}}
    with pytest.raises(ToolError, match="'NOPE'") as caught:
        call(registry, args, secrets={"OTHER": "v"})
    assert not caught.value.retryable
    assert http_server.count() == 0


def test_a_short_url_credential_echoed_by_the_server_is_masked_in_the_calls_error(registry, http_server):
    http_server.script("/echo", Reply(status=403, body="key k-12 is not allowed here"))
    with pytest.raises(ToolError) as caught:
        call(registry, {"url": http_server.url("/echo") + "?api_key=k-12"})
    assert "k-12" not in str(caught.value)
    assert "api_key=***" in str(caught.value)


def test_query_parameters_are_added_to_the_urls_own_query_string(registry, http_server):
    # httpx's params= replaced the URL's query: ?api-version=... was silently dropped.
    url = http_server.url("/list?api-version=2024-01-01&dir=a%2Fb")
    out = call(registry, {"url": url, "query": {"page": 2, "full": True}})
    assert http_server.requests("/list")[0].query == {
        "api-version": ["2024-01-01"], "dir": ["a/b"], "page": ["2"], "full": ["true"]}
    assert out["url"].endswith("/list?api-version=2024-01-01&dir=a%2Fb&page=2&full=true")


def test_a_query_parameter_the_url_already_has_is_refused(registry, http_server):
    from tools import ToolInputError

    with pytest.raises(ToolInputError, match="'page' is also in the url"):
        call(registry, {"url": http_server.url("/list?page=1"), "query": {"page": 2}})
    assert http_server.count() == 0


def test_a_json_body_holding_nan_or_infinity_is_not_parsed_as_json(registry, http_server):
    # Python's parser takes NaN and Infinity, which no JSON document may hold.
    body = '{"v": NaN, "w": -Infinity, "ok": 1}'
    http_server.script("/nan", Reply(body=body, headers={"Content-Type": "application/json"}))
    out = call(registry, {"url": http_server.url("/nan")})
    assert out["json"] is None and out["text"] == body


@pytest.mark.parametrize("charset", ["bogus", "x-user-defined", "base64"])
def test_an_unknown_charset_is_read_as_utf8_with_replacement(registry, http_server, charset):
    # Python knows no such codec: the lookup's LookupError crashed the tool.
    http_server.script("/t", Reply(body=b"caf\xc3\xa9 \xff",
                                   headers={"Content-Type": f"text/plain; charset={charset}"}))
    out = call(registry, {"url": http_server.url("/t")})
    assert out["text"] == "caf\u00e9 \ufffd"


def test_a_json_body_with_an_unknown_charset_is_still_parsed(registry, http_server):
    http_server.script("/j", Reply(body=b'{"name": "caf\xc3\xa9"}',
                                   headers={"Content-Type": "application/json; charset=bogus"}))
    assert call(registry, {"url": http_server.url("/j")})["json"] == {"name": "caf\u00e9"}


@pytest.fixture
def trickling_url():
    """A server that sends its 200-byte body one byte every 50 ms (10 s in all)."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Trickle(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "200")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the client gave up

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/t"
    server.shutdown()
    server.server_close()


def test_timeout_s_bounds_the_whole_exchange_not_each_read(registry, trickling_url):
    # Every byte came well within timeout_s, so httpx's per-read timeout never fired and the
    # call took the whole 10 s.
    with pytest.raises(RetryableToolError, match="timed out after 0.5s") as caught:
        call(registry, {"url": trickling_url, "timeout_s": 0.5})
    assert caught.value.code == "http_timeout"


@pytest.mark.parametrize("token", ["tok-abcdef1234567890\n", "tok-abc\r\ndef1234567890",
                                   "tok-abc\x00def1234567890", "tok-abc€def1234567890"])
def test_a_header_value_no_request_can_carry_is_a_final_error_naming_the_header(
        registry, http_server, token):
    args = {"url": http_server.url("/auth"), "headers": {"Authorization": "Bearer ${secret:T}"}}
    with pytest.raises(ToolError) as caught:
        call(registry, args, secrets={"T": token})
    assert not caught.value.retryable and caught.value.code == "http_bad_header"
    assert "'Authorization'" in str(caught.value) and "'T'" in str(caught.value)
    assert "abc" not in str(caught.value)
    assert http_server.requests("/auth") == []
