"""A server on SQLite whose data directory is deleted under it: health says so, every write and
read is a 503 store_error saying so (the server log names the file), instead of accepted into a
file nobody will find again (plans, approvals, runs acknowledged, then lost) and a run that
stopped shown running forever."""

from __future__ import annotations

import shutil
import time

import pytest
from structlog.testing import capture_logs

from executor.store.db import sqlite_file

from .test_api_basics import assert_error

GOAL = "Summarise the amount column of sales.csv by region into summary.json"
DOC = {"goal": "read the sales", "steps": [{"id": "load", "tool": "files.read",
                                             "args": {"path": "sales.csv"}}]}


def _plan(alice) -> str:
    """A plan that writes, so waits for approval."""
    created = alice.post("/plans", json={"goal": GOAL})
    assert created.status_code == 201, created.text
    return created.json()["plan_id"]


def _approved(client_for, plan_id: str) -> None:
    for approver in ("bob", "carol"):
        answer = client_for(approver).post(f"/plans/{plan_id}/approve", json={})
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] == "approved":
            return
    pytest.fail(f"plan {plan_id} was not approved")


def _ended(alice, run_id: str) -> None:
    deadline = time.monotonic() + 60  # how long to wait, not a limit on how fast it is
    while alice.get(f"/runs/{run_id}").json()["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"run {run_id} did not end"
        time.sleep(0.05)


def test_a_deleted_data_dir_is_unhealthy_and_refuses_writes_and_reads(services, client_for):
    alice, bob, dave = client_for("alice"), client_for("bob"), client_for("dave")
    ran, waiting = _plan(alice), _plan(alice)
    _approved(client_for, ran)
    started = alice.post("/runs", json={"plan_id": ran})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    _ended(alice, run_id)
    path = sqlite_file(services.engine).path

    shutil.rmtree(services.settings.data_dir)

    health = client_for(None).get("/healthz")
    assert_error(health, 503, "store_error")
    # Anyone may ask: the problem is named, not where the file was.
    assert health.json()["error"]["message"] == \
        "the database is unreachable: its file was deleted while in use"
    calls = {
        "plan a goal": lambda: alice.post("/plans", json={"goal": GOAL}),
        "plan a document": lambda: alice.post("/plans/document", json={"document": DOC}),
        "approve": lambda: bob.post(f"/plans/{waiting}/approve", json={}),
        "reject": lambda: bob.post(f"/plans/{waiting}/reject", json={"reason": "no"}),
        "start a run": lambda: alice.post("/runs", json={"plan_id": ran}),
        "read the run": lambda: alice.get(f"/runs/{run_id}"),
        "list the plans": lambda: alice.get("/plans"),
        "verify the ledger": lambda: dave.get("/ledger/verify"),
    }
    for what, call in calls.items():
        with capture_logs() as logs:
            answer = call()
        assert_error(answer, 503, "store_error")
        # As health says it: what became of the file, not where it was (a token holder asks).
        assert answer.json()["error"]["message"] == ("the database is unreachable: its file was "
                                                     "deleted while in use; the server log "
                                                     "names the file"), what
        assert any(f"the database file {path} was deleted while in use" in entry.get("error", "")
                   for entry in logs), what
