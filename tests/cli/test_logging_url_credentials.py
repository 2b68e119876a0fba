"""Every log entry shows a URL's credentials hidden (``user:***@host``, ``api-key=***``),
whatever logger wrote it and however short they are. Only configured values of 8 or more
characters were masked: httpx's ``HTTP Request: POST http://llmuser:pw12345@…/v1/?api-key=…``
line, written for every call to an LLM ``base_url`` holding a short password or key, was
logged in full by ``baton serve``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog

from baton.logging import configure_logging

BASE_URL = "http://llmuser:pw12345@127.0.0.1:18971/v1?api-key=k3y4567"


def _entries(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.fixture
def access_log() -> Iterator[logging.Logger]:
    """uvicorn's access logger, at INFO: a uvicorn.Config made by an earlier test in the same
    process sets its level from that test's log_level."""
    logger = logging.getLogger("uvicorn.access")
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False
    yield logger
    logger.setLevel(level)
    logger.disabled = disabled


def test_httpx_request_lines_show_the_base_urls_credentials_hidden(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=True, stream=out)  # no secrets configured: short ones
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    with httpx.Client(base_url=BASE_URL, transport=transport) as client:
        client.post("chat/completions", json={})
    (entry,) = _entries(out)
    assert entry["logger"] == "httpx"
    assert "pw12345" not in out.getvalue() and "k3y4567" not in out.getvalue()
    # httpx joins the path after the base URL's query or into it, as its version does.
    assert entry["event"].startswith("HTTP Request: POST http://llmuser:***@127.0.0.1:18971/v1")
    assert "api-key=***" in entry["event"] and entry["event"].endswith('"HTTP/1.1 200 OK"')


def test_url_credentials_are_hidden_in_values_keys_and_objects_of_any_logger(
        restore_logging, access_log):
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["long-secret-value"], stream=out)
    log = structlog.get_logger("baton")
    log.warning("calling https://svc:pw1@api.example/x?token=t0k&page=2",
                url="postgresql://baton:pw2@db/baton",
                nested={"to": ["https://t0k2@git.example/r"]},
                error=httpx.ConnectError("failed: http://u:pw3@h.example/?sig=s1g"))
    access_log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET",
                    "/api/v1/x?access_token=t0k3", "1.1", 200)
    logging.getLogger("openai._base_client").info("Request options: %s",
                                                  {"url": "https://u:pw4@llm.example/v1"})
    text = out.getvalue()
    for credential in ("pw1", "t0k&", "pw2", "t0k2", "pw3", "s1g", "t0k3", "pw4"):
        assert credential not in text, credential
    first, access, options = _entries(out)
    assert first["event"] == "calling https://svc:***@api.example/x?token=***&page=2"
    assert first["url"] == "postgresql://baton:***@db/baton"
    assert first["nested"] == {"to": ["https://***@git.example/r"]}
    assert first["error"] == "ConnectError('failed: http://u:***@h.example/?sig=***')"
    assert access["event"] == '127.0.0.1:5 - "GET /api/v1/x?access_token=*** HTTP/1.1" 200'
    assert options["event"] == "Request options: {'url': 'https://u:***@llm.example/v1'}"


def test_the_console_renderer_shows_url_credentials_hidden_too(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=False, stream=out)
    structlog.get_logger("baton").info("llm", base_url=BASE_URL)
    assert "pw12345" not in out.getvalue() and "k3y4567" not in out.getvalue()
    assert "http://llmuser:***@127.0.0.1:18971/v1?api-key=***" in out.getvalue()


def test_text_without_url_credentials_is_logged_as_it_is(restore_logging, access_log):
    out = io.StringIO()
    configure_logging("info", json=True, stream=out)
    message = "GET /api/v1/runs?page=2 and https://x.example/a?keyword=sales; 3/4?x=1 done"
    access_log.info(message)
    structlog.get_logger("baton").info("ok", path="/v1?q=1", count=3)
    first, second = _entries(out)
    assert first["event"] == message
    assert (second["path"], second["count"]) == ("/v1?q=1", 3)


@pytest.mark.parametrize(("logged", "shown"), [
    # A quote or space-free text before the credential: the HTTP client sends it all the same.
    ("GET https://api.example/search?q=O'Brien&access_token=f8Kq2LmZx9",
     "GET https://api.example/search?q=O'Brien&access_token=***"),
    ('GET /search?q="x"&api_key=f8Kq2LmZx9 200', 'GET /search?q="x"&api_key=*** 200'),
    # What only closes the URL stays shown, after the hidden value.
    ("{'url': 'https://a.example/p?token=f8Kq2LmZx9', 'n': 1}",
     "{'url': 'https://a.example/p?token=***', 'n': 1}"),
    ("(see https://a.example/?token=f8Kq2LmZx9).", "(see https://a.example/?token=***)."),
    ('["https://a.example/?x=1","https://b.example/?token=f8Kq2LmZx9"]',
     '["https://a.example/?x=1","https://b.example/?token=***"]'),
])
def test_a_quote_in_a_url_does_not_hide_the_credential_after_it(restore_logging, logged, shown):
    out = io.StringIO()
    configure_logging("info", json=True, stream=out)
    structlog.get_logger("baton").warning(logged)
    (entry,) = _entries(out)
    assert entry["event"] == shown
