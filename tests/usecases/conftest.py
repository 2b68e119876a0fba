"""Fixtures of the use-case tests: the services over a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from baton.services import Services
from tests.api.live import make_settings


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    """The services of a fresh data directory (SQLite), its engine closed afterwards."""
    built = Services(make_settings(tmp_path))
    yield built
    built.engine.dispose()
