"""Fixtures for policy tests: both engines over the shipped bundle."""

from __future__ import annotations

import pytest

from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa
from tests.support.gate_services import BACKENDS, database_url, services_on


@pytest.fixture(scope="session")
def bundle() -> PolicyBundle:
    """The shipped policies and data."""
    return PolicyBundle.load()


@pytest.fixture(scope="session")
def fake_opa():
    """One fake OPA server for the session."""
    with FakeOpa() as server:
        yield server


@pytest.fixture(scope="session", params=["embedded", "opa"])
def engine(request, bundle, fake_opa):
    """Each backend in turn: embedded regopy, then the OPA client against the fake server."""
    if request.param == "embedded":
        return EmbeddedEngine(bundle)
    return OpaEngine(bundle, fake_opa.url, timeout_s=60.0)  # a loaded CI machine: tens of seconds


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    """A fresh database for a gate test: SQLite, then PostgreSQL."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def opened(url, tmp_path):
    """``opened(**settings)``: Services on the test's database (each a process with its
    settings of the moment); all disposed at the end."""
    made = []

    def open_services(**settings):
        services = services_on(url, tmp_path, **settings)
        made.append(services)
        return services

    yield open_services
    for services in made:
        if "engine" in services.__dict__:
            services.engine.dispose()
