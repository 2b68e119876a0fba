"""Something other than a regular file where an artifact file should be (a FIFO) is refused
unread: the step reading it fails with "artifact … cannot be read", and the run ends. It was
read with ``Path.read_bytes()`` on the event loop: a FIFO with no writer hung the worker that
claimed the run (which then stopped renewing its lease), and the next worker hung too."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from executor.artifacts import URI_PREFIX, ArtifactError, ArtifactStore
from executor.records import RunStatus
from planner.plan import Plan
from tests.executor.runsupport import approved_plan, make_runner
from tools import ToolError, ToolRegistry

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs")


def _without_waiting(read: Callable[[], Any], fifo: Path) -> Any:
    """What ``read()`` returned or raised; a read stuck on the pipe is let go and the test fails."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(read())
        except BaseException as exc:  # noqa: BLE001  (handed to the test's thread)
            outcome.append(exc)

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer that ends: EOF
        reader.join(timeout=10)
        pytest.fail("reading the artifact waited on the pipe")
    return outcome[0]


def test_a_fifo_at_an_artifact_s_path_is_refused_unread(tmp_path):
    store = ArtifactStore(tmp_path / "artifacts", threshold_bytes=8)
    digest = "ab" * 32
    fifo = store.path_of(digest)
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    refused = _without_waiting(lambda: store.read_bytes(URI_PREFIX + digest), fifo)
    assert isinstance(refused, ArtifactError), refused
    assert refused.message == (f"artifact {URI_PREFIX}{digest} cannot be read: {fifo} is a FIFO, "
                               "not a regular file")


def test_a_directory_at_an_artifact_s_path_cannot_be_read(tmp_path):
    store = ArtifactStore(tmp_path / "artifacts", threshold_bytes=8)
    digest = "cd" * 32
    store.path_of(digest).mkdir(parents=True)
    with pytest.raises(ArtifactError, match="cannot be read: .* is a directory, not a regular"):
        store.read_bytes(URI_PREFIX + digest)


def test_a_regular_artifact_file_still_reads_and_is_still_checked(tmp_path):
    store = ArtifactStore(tmp_path / "artifacts", threshold_bytes=8)
    stored = store.keep({"rows": list(range(100))})
    assert store.load(stored.uri) == {"rows": list(range(100))}
    with store.path_of(stored.sha256).open("ab") as grown:
        grown.write(b" ")
    with pytest.raises(ArtifactError, match="does not match its hash"):
        store.load(stored.uri)


def test_a_run_reading_a_fifo_artifact_fails_its_step_and_ends(engine, tmp_path):
    registry = ToolRegistry()
    calls: list[str] = []

    @registry.tool("big.make")
    def make() -> dict:
        """An output stored as an artifact."""
        return {"rows": list(range(200))}

    @registry.tool("big.use")
    def use(rows: list) -> int:
        """Fails for good the first time, so that the run can be resumed."""
        calls.append("use")
        if len(calls) == 1:
            raise ToolError("not yet")
        return len(rows)

    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "a", "tool": "big.make"},
        {"id": "b", "tool": "big.use", "args": {"rows": {"ref": "a.value.rows"}}}]})
    runner = make_runner(engine, registry, tmp_path, threshold=64)
    run_id = runner.create_run(approved_plan(engine, plan), 1, plan, requested_by="alice")
    first = runner.run_sync(run_id)
    assert first.status is RunStatus.FAILED and calls == ["use"]
    assert first.steps[0].output_uri is not None
    digest = first.steps[0].output_uri.removeprefix(URI_PREFIX)
    path = runner.artifacts.path_of(digest)
    path.unlink()
    os.mkfifo(path)

    record = _without_waiting(lambda: runner.resume_sync(run_id), path)
    assert not isinstance(record, BaseException), record
    assert record.status is RunStatus.FAILED and calls == ["use"]
    b = record.steps[1]
    assert b.error == (f"artifact {URI_PREFIX}{digest} cannot be read: {path} is a FIFO, "
                       "not a regular file")
