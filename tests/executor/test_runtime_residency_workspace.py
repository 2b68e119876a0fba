"""Residency at run time counts a step that reads the workspace as fed by every step of the plan
that writes to it, as the plan decision does: EU data a step wrote to a file and another step
read back, with no ``depends_on`` between them, may not be posted to a US host, whether the
read ran after the write in one go or on a resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from executor.records import RunStatus
from tests.executor.runsupport import make_runner, run_plan
from tests.executor.test_runtime_residency import policy  # noqa: F401 - the fixture
from tests.support.residency_workspace import EU_ROWS, EU_URL, US_URL
from tests.support.residency_workspace import workspace_registry as _registry

# The reviewer's plan: load reads the file save writes, with no depends_on on it.
PLAN = {"goal": "copy eu data", "steps": [
    {"id": "get", "tool": "http.request", "args": {"url": EU_URL}},
    {"id": "save", "tool": "files.write",
     "args": {"path": "tmp.txt", "text": {"ref": "get.text"}, "overwrite": True}},
    {"id": "load", "tool": "files.read", "args": {"path": "tmp.txt"}},
    {"id": "post", "tool": "http.request",
     "args": {"method": "POST", "url": US_URL, "body": {"ref": "load.text"}}}]}


def _workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    return workspace


def _assert_denied(record, calls) -> None:
    assert record.status is RunStatus.FAILED
    assert [c for c in calls if c[0] == "POST"] == []
    post = next(s for s in record.steps if s.step_id == "post")
    assert "data from region eu would go to host x.us.example.com in region us" in post.error


def test_eu_data_read_back_one_step_at_a_time_may_not_go_to_a_us_host(
        engine, tmp_path, policy):  # noqa: F811 - the fixture
    calls: list[tuple[str, str, Any]] = []
    workspace = _workspace(tmp_path)
    runner = make_runner(engine, _registry(workspace, calls), tmp_path, runtime_check=policy,
                         workspace=workspace)
    record = run_plan(runner, engine, PLAN, concurrency=1)
    load = next(s for s in record.steps if s.step_id == "load")
    assert load.status.value == "succeeded"  # the file was there: only the check stops post
    _assert_denied(record, calls)


def test_eu_data_read_back_on_a_resume_may_not_go_to_a_us_host(
        engine, tmp_path, policy):  # noqa: F811 - the fixture
    # At the default concurrency load runs beside save and fails (no file yet); the resume
    # reruns it, now that save wrote the file.
    calls: list[tuple[str, str, Any]] = []
    workspace = _workspace(tmp_path)
    registry = _registry(workspace, calls)
    first = make_runner(engine, registry, tmp_path, runtime_check=policy, workspace=workspace)
    record = run_plan(first, engine, PLAN)
    assert record.status is RunStatus.FAILED
    assert (workspace / "tmp.txt").read_text() == EU_ROWS
    second = make_runner(engine, registry, tmp_path, runtime_check=policy, workspace=workspace)
    _assert_denied(second.resume_sync(record.id), calls)


def test_data_read_back_may_go_to_a_host_in_its_own_region(
        engine, tmp_path, policy):  # noqa: F811 - the fixture
    calls: list[tuple[str, str, Any]] = []
    workspace = _workspace(tmp_path)
    runner = make_runner(engine, _registry(workspace, calls), tmp_path, runtime_check=policy,
                         workspace=workspace)
    plan = {**PLAN, "steps": [*PLAN["steps"][:3], {
        "id": "post", "tool": "http.request",
        "args": {"method": "POST", "url": "https://y.eu.example.com/in",
                 "body": {"ref": "load.text"}}}]}
    record = run_plan(runner, engine, plan, concurrency=1)
    assert record.status is RunStatus.SUCCEEDED
    assert calls[-1] == ("POST", "https://y.eu.example.com/in", EU_ROWS)


def _read_first(get_url: Any) -> dict[str, Any]:
    # load and post run before get and save: in this run the file holds what was there
    # before, but a later run of the plan would read what save writes now.
    return {"goal": "copy eu data", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "tmp.txt"}},
        {"id": "post", "tool": "http.request",
         "args": {"method": "POST", "url": US_URL, "body": {"ref": "load.text"}}},
        {"id": "links", "tool": "files.list", "args": {}},
        {"id": "get", "tool": "http.request", "args": {"url": get_url}, "depends_on": ["post"]},
        {"id": "save", "tool": "files.write",
         "args": {"path": "tmp.txt", "text": {"ref": "get.text"}, "overwrite": True}}]}


def test_a_write_that_runs_after_the_read_still_counts_by_its_sources_url(
        engine, tmp_path, policy):  # noqa: F811 - the fixture
    calls: list[tuple[str, str, Any]] = []
    workspace = _workspace(tmp_path)
    (workspace / "tmp.txt").write_text("old")
    runner = make_runner(engine, _registry(workspace, calls), tmp_path, runtime_check=policy,
                         workspace=workspace)
    record = run_plan(runner, engine, _read_first(EU_URL), concurrency=1)
    _assert_denied(record, calls)
    assert (workspace / "tmp.txt").read_text() == "old"


def test_a_write_whose_source_url_is_not_known_yet_denies_the_call(
        engine, tmp_path, policy):  # noqa: F811 - the fixture
    # get's URL comes from a step that has not run: where the data it writes comes from is
    # unknown, so the call is denied, never let through.
    calls: list[tuple[str, str, Any]] = []
    workspace = _workspace(tmp_path)
    (workspace / "tmp.txt").write_text("old")
    runner = make_runner(engine, _registry(workspace, calls), tmp_path, runtime_check=policy,
                         workspace=workspace)
    record = run_plan(runner, engine, _read_first({"ref": "links.entries.0.path"}),
                      concurrency=1)
    assert record.status is RunStatus.FAILED
    assert calls == []
    post = next(s for s in record.steps if s.step_id == "post")
    assert "the URL a source step read from could not be resolved yet (step get has not " \
           "run, and its URL comes from a step that has not run either" in post.error, post.error
    # Not "after step get": get depends on post, so that would make a cycle.
    assert "make step post run after step links (depends_on)" in post.error, post.error
