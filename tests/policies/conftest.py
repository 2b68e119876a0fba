"""Fixtures for policy tests: both engines over the shipped bundle."""

from __future__ import annotations

import pytest

from policies.bundle import PolicyBundle
from policies.embedded import EmbeddedEngine
from policies.opa import OpaEngine
from tests.support.fake_opa import FakeOpa


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
    return OpaEngine(bundle, fake_opa.url, timeout_s=10.0)
