"""A transient database failure while the worker looks for a run is tried again; others stop it."""

from __future__ import annotations

import sqlite3

import pytest

from executor.store.db import StoreError
from tests.executor.runsupport import make_runner
from tools import ToolRegistry


def _failing_claims(runner, monkeypatch, *errors):
    """``claim_next`` raises each of ``errors`` in turn, then finds no run."""
    left = list(errors)
    calls = []

    def claim_next(owner, lease_s):
        calls.append(owner)
        if left:
            raise left.pop(0)
        return None

    monkeypatch.setattr(runner.store, "claim_next", claim_next)
    monkeypatch.setattr("executor.runner.time.sleep", lambda s: None)
    return calls


def _locked() -> StoreError:
    try:
        raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError as cause:
        error = StoreError("the database failed while looking for a run to claim: locked")
        error.__cause__ = cause
        return error


def test_a_transient_claim_failure_is_tried_again(engine, tmp_path, monkeypatch):
    runner = make_runner(engine, ToolRegistry(), tmp_path)
    calls = _failing_claims(runner, monkeypatch, _locked(), _locked())
    assert runner.worker(once=True) == 0
    assert len(calls) == 3


def test_any_other_claim_failure_stops_the_worker(engine, tmp_path, monkeypatch):
    runner = make_runner(engine, ToolRegistry(), tmp_path)
    calls = _failing_claims(runner, monkeypatch, StoreError("the database failed: disk I/O error"))
    with pytest.raises(StoreError, match="disk I/O error"):
        runner.worker(once=True)
    assert len(calls) == 1
