"""Shared fixtures. Tests never reach a real model or a host outside 127.0.0.1."""

from __future__ import annotations

import functools
import logging
import os

import pytest

from tests.support.http_server import http_server  # noqa: F401 - fixture: a real server on 127.0.0.1
from tests.support.openai_server import openai_server  # noqa: F401 - fixture: scripted OpenAI API
from tests.support.settings_files import file_live, settings_file  # noqa: F401 - fixtures
from tests.support.python_reports import python_report_hooks, restore_python_report_hooks

# No test may talk to a real LLM endpoint or inherit the developer's settings.
for _var in ("OPENAI_API_KEY", "BATON_LLM_BASE_URL", "BATON_LLM_API_KEY", "BATON_OPA_URL",
             "BATON_CONFIG", "BATON_DATABASE_URL", "BATON_USER", "BATON_DATA_DIR"):
    os.environ.pop(_var, None)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: three workers for every two cores. The suite's tests wait (on servers,
    subprocesses, SQLite's fsync, a poll) about a third of their time: on two cores, two
    workers kept them 68% busy and took 803 s, three took 655 s. ``PYTEST_XDIST_AUTO_NUM_WORKERS``
    still overrides it, as it does xdist's own count."""
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if chosen and chosen.isdigit():
        return int(chosen)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (3 * (cores or 1) + 1) // 2)


@pytest.fixture(autouse=True)
def _structlog_as_found():
    """Put structlog's configuration back after every test: one that configured logging (a
    CLI command run in-process) and left a level filter behind would hide later tests' info
    events from ``capture_logs``, which replaces the processors but keeps the filter."""
    import structlog

    found = structlog.get_config()
    yield
    structlog.configure(**found)


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context_per_kind():
    """httpx builds a TLS context for every client it makes, loading the whole CA bundle
    (~45 ms of CPU), though every test client speaks plain HTTP to 127.0.0.1: several
    hundred clients made that a minute of the suite. Made once per set of arguments here
    (no test configures TLS: none calls an HTTPS server)."""
    from httpx._transports import default as transports

    made = transports.create_ssl_context
    transports.create_ssl_context = functools.lru_cache(maxsize=16)(made)
    yield
    transports.create_ssl_context = made


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh data directory used as the working directory (so ./baton.toml is the test's)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def restore_logging():
    """Put structlog, the root logger, alembic's logger and the hooks Python reports warnings
    and uncaught exceptions through back after a test configures them."""
    import structlog

    alembic = logging.getLogger("alembic")
    handlers, level, alembic_level = logging.root.handlers[:], logging.root.level, alembic.level
    hooks = python_report_hooks()
    yield
    structlog.reset_defaults()
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)
    alembic.setLevel(alembic_level)
    restore_python_report_hooks(hooks)
