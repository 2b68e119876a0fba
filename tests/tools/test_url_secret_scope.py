"""Credentials written into configured URLs are masked in a run; ordinary words are not.

The configured URLs' credentials join the secret values every run output is
masked with. A query parameter whose name merely contains "key" or "sig", or a
password too short to mask without corrupting text, must leave the outputs and
the values passed to dependent steps as the tools wrote them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from baton.services import Services
from baton.settings import LLMSettings, Settings
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.store.db import make_engine
from executor.store.migrate import upgrade
from tests.executor.runsupport import make_runner, run_plan
from tools import ToolRegistry
from tools.redaction import REDACTED

TOKEN = "tok-live-7c1d2e3f"  # long enough to be masked everywhere


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """A SQLite database at the head revision."""
    engine = make_engine(f"sqlite:///{tmp_path / 'baton.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def reporting_registry(seen: list[Any]) -> ToolRegistry:
    """``sales.report`` writes ordinary words and the token; ``report.send`` records its input."""
    registry = ToolRegistry()

    @registry.tool("sales.report")
    def report() -> dict:
        """A report that mentions the sales, a pw column and, carelessly, the token."""
        return {"title": "sales by region", "columns": ["region", "pw"], "note": f"via {TOKEN}"}

    @registry.tool("report.send")
    def send(body: dict) -> dict:
        """Records what it was handed.

        Args:
            body: What to send.
        """
        seen.append(body)
        return body

    return registry


PLAN = {"goal": "send the sales report", "steps": [
    {"id": "report", "tool": "sales.report"},
    {"id": "send", "tool": "report.send", "args": {"body": {"ref": "report.value"}}}]}


def test_ordinary_parameters_and_a_short_password_in_configured_urls_leave_outputs_intact(
        engine, tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://postgres:pw@db.example/baton",
        llm=LLMSettings(base_url="http://127.0.0.1:8000/v1?keyword=sales&design=x"),
        http_tools=[{"name": "crm", "url": f"https://crm.example/api?author=bob&api_key={TOKEN}"}],
    )
    secret_values = Services(settings).secret_values
    seen: list[Any] = []
    runner = make_runner(engine, reporting_registry(seen), tmp_path,
                         ledger=Ledger(engine, secret_values=secret_values))
    record = run_plan(runner, engine, PLAN)

    assert record.status is RunStatus.SUCCEEDED
    expected = {"title": "sales by region", "columns": ["region", "pw"], "note": f"via {REDACTED}"}
    assert seen == [expected]
    assert [step.output for step in record.steps] == [{"value": expected}, {"value": expected}]


def test_a_placeholder_llm_key_is_not_masked_everywhere_but_a_real_one_is(tmp_path):
    def values(key: str) -> list[str]:
        return Services(Settings(data_dir=tmp_path, llm=LLMSettings(api_key=key))).secret_values

    assert values("ollama") == [] and values("EMPTY") == []
    assert values("sk-live-0123456789abcdef") == ["sk-live-0123456789abcdef"]
