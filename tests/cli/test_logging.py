"""Stdlib loggers (uvicorn, alembic, httpx) come out like structlog's: same format, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import structlog

from baton.logging import configure_logging

ROOT = Path(__file__).resolve().parents[2]


def test_a_stdlib_log_record_is_json_with_known_secrets_masked(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["hunter2-secret"], stream=out)
    # Not after ?key=: a credential parameter's value is hidden as *** whatever it is.
    logging.getLogger("httpx").info("GET %s -> 200", "https://x.example/?q=hunter2-secret")
    (line,) = out.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "GET https://x.example/?q=[REDACTED] -> 200"
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


class ApiError(Exception):
    """An error whose text leaves its arguments out: its repr, which renderers print, has them."""

    def __str__(self) -> str:
        return f"API error {self.args[0]}"


class Holder:
    def __repr__(self) -> str:
        return "Holder(tok-repr-31)"

    def __str__(self) -> str:
        return "Holder"


def test_a_logged_value_is_masked_as_the_json_renderer_writes_it(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["tok-repr-31"], stream=out)
    log = structlog.get_logger("t")
    log.warning("failed", error=ApiError(401, "tok-repr-31"), nested={"h": [Holder()]},
                **{"key-tok-repr-31": 1})
    log.warning(Holder())
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert "tok-repr-31" not in out.getvalue()
    assert first["error"] == "ApiError(401, '[REDACTED]')"
    assert first["nested"] == {"h": ["Holder([REDACTED])"]}
    assert first["key-[REDACTED]"] == 1
    assert second["event"] == "Holder"


def test_a_number_holding_a_secret_of_digits_is_masked_in_a_log_at_any_depth(restore_logging):
    # As the ledger masks it: a PIN returned as a JSON number is the secret all the same.
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=["987654321"], stream=out)
    structlog.get_logger("t").info("tool output", output={"pin": 987654321},
                                   rows=[987654321], top=987654321, other=7, flag=True)
    (line,) = (json.loads(text) for text in out.getvalue().splitlines())
    assert "987654321" not in out.getvalue()
    assert line["output"] == {"pin": "[REDACTED]"} and line["rows"] == ["[REDACTED]"]
    assert line["top"] == "[REDACTED]" and line["other"] == 7 and line["flag"] is True


def test_a_logged_value_is_masked_as_the_console_renderer_writes_it(restore_logging):
    out = io.StringIO()
    configure_logging("info", json=False, secret_values=["tok-repr-31"], stream=out)
    structlog.get_logger("t").warning("failed", error=ApiError(401, "tok-repr-31"),
                                      path=Path("/x"), count=3)
    text = out.getvalue()
    assert "tok-repr-31" not in text and "[REDACTED]" in text
    # A value holding no secret is written as before: its repr, unquoted.
    assert "path=PosixPath('/x')" in text and "count=3" in text


WORKER_LIKE = """
import sys, threading, warnings, logging
from baton.logging import configure_logging
configure_logging("info", json=True, secret_values=["tok-hook-77"])
warnings.warn("deprecated token tok-hook-77")
def boom():
    raise RuntimeError("thread tok-hook-77")
thread = threading.Thread(target=boom, name="tool-thread")
thread.start()
thread.join()
class Leaky:
    def __del__(self):
        raise ValueError("finaliser tok-hook-77")
Leaky()
print("done", file=sys.stderr)
"""


def test_warnings_and_uncaught_thread_errors_are_json_lines_with_secrets_masked():
    done = subprocess.run([sys.executable, "-c", WORKER_LIKE], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1] == "done"
    entries = [json.loads(line) for line in lines[:-1]]  # each one JSON: no plain text lines
    assert "tok-hook-77" not in done.stderr
    warning, thread, unraisable = entries
    assert warning["logger"] == "py.warnings" and warning["level"] == "warning"
    assert "UserWarning: deprecated token [REDACTED]" in warning["event"]
    assert thread["level"] == "error" and thread["thread"] == "tool-thread"
    assert "RuntimeError: thread [REDACTED]" in thread["exception"]
    assert unraisable["level"] == "error"
    assert "ValueError: finaliser [REDACTED]" in unraisable["exception"]
