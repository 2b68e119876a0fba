"""Stdlib loggers (uvicorn, alembic, httpx) come out like structlog's: same format, secrets masked."""

from __future__ import annotations

import io
import json
import logging

from baton.logging import configure_logging


def test_a_stdlib_log_record_is_json_with_known_secrets_masked(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["hunter2-secret"], stream=out)
    logging.getLogger("httpx").info("GET %s -> 200", "https://x.example/?key=hunter2-secret")
    (line,) = out.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "GET https://x.example/?key=[REDACTED] -> 200"
    assert (entry["level"], entry["logger"]) == ("info", "httpx")
    assert "hunter2-secret" not in out.getvalue()


def test_a_secret_in_a_uvicorn_traceback_is_masked_even_after_uvicorn_configured_itself(
        restore_logging):
    import uvicorn.config

    uvicorn.Config(app=None, log_level="warning")  # installs uvicorn's own plain-text handlers
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["tok-99"], stream=out)
    try:
        raise RuntimeError("refused token tok-99")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("request failed")
    entry = json.loads(out.getvalue())
    assert "tok-99" not in out.getvalue() and "[REDACTED]" in entry["exception"]


def test_alembic_info_chatter_is_quiet_unless_debugging(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=True, stream=out)
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("alembic.runtime.migration").warning("odd revision")
    assert [json.loads(line)["event"] for line in out.getvalue().splitlines()] == ["odd revision"]
    configure_logging("debug", json=True, stream=out)
    logging.getLogger("alembic.runtime.migration").info("Will assume non-transactional DDL.")
    assert "Will assume non-transactional DDL." in out.getvalue()
