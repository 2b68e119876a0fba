"""Residency counts a step that reads the workspace as fed by every step of the plan that writes
to it, whatever ``depends_on`` says: without a ``depends_on`` the read may still run after the
write (one step at a time, or on a resume), and the workspace outlives a run, so a read that
runs first may read what an earlier run of the same plan wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planner.plan import Plan
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input, data_sources, step_call_for
from tests.support.policy_tools import policy_registry
from tools import Effect, ToolContext

ALICE = Requester(id="alice", roles=("analyst",))
TUESDAY_10 = PolicyContext(now=datetime(2024, 6, 4, 10, tzinfo=UTC))
EU_URL = "https://data.eu.example.com/customers"
US_URL = "https://x.us.example.com/in"
LEAK = "step post: data from step get (region eu) would go to host x.us.example.com in region us"


def _step(id: str, tool: str, **args: Any) -> dict[str, Any]:  # noqa: A002 - the wire field
    return {"id": id, "tool": tool, "args": args}


def _leak(read: dict[str, Any], post_body: Any = None, *, post_url: str = US_URL) -> Plan:
    # get (EU) -> save (a file) ... read (no depends_on on save) -> post.
    return Plan.model_validate({"goal": "copy eu data", "steps": [
        _step("get", "http.request", url=EU_URL),
        _step("save", "files.write", path="tmp.txt", text={"ref": "get.text"}, overwrite=True),
        read,
        _step("post", "http.request", method="POST", url=post_url,
              body=post_body or {"ref": f"{read['id']}.text"})]})


def _decide(engine, plan: Plan, registry=None):
    return engine.decide(build_policy_input(plan, registry or policy_registry(),
                                            requester=ALICE, context=TUESDAY_10))


def test_a_file_read_with_no_depends_on_is_fed_by_the_write(engine):
    decision = _decide(engine, _leak(_step("load", "files.read", path="tmp.txt")))
    assert not decision.allow
    assert LEAK in decision.deny


def test_a_file_read_of_another_path_is_fed_by_the_write_too(engine):
    # Paths are not compared: a symlink inside the workspace, or a case-insensitive file
    # system, makes two spellings one file.
    decision = _decide(engine, _leak(_step("load", "files.read", path="other/TMP.txt")))
    assert LEAK in decision.deny


def test_a_listing_is_fed_by_the_write(engine):
    # File names are data too: a write may put EU data in a path.
    plan = _leak(_step("ls", "files.list", path="."), {"ref": "ls.entries"})
    assert LEAK in _decide(engine, plan).deny


def test_a_read_ordered_before_the_write_is_fed_by_it(engine):
    # The workspace outlives a run: a second run of the plan reads what the first one wrote.
    plan = Plan.model_validate({"goal": "copy eu data", "steps": [
        _step("load", "files.read", path="tmp.txt"),
        _step("post", "http.request", method="POST", url=US_URL, body={"ref": "load.text"}),
        {**_step("get", "http.request", url=EU_URL), "depends_on": ["load"]},
        _step("save", "files.write", path="tmp.txt", text={"ref": "get.text"}, overwrite=True)]})
    assert LEAK in _decide(engine, plan).deny


def test_the_same_data_may_go_to_a_host_in_its_own_region(engine):
    decision = _decide(engine, _leak(_step("load", "files.read", path="tmp.txt"),
                                     post_url="https://ingest.eu.example.com/in"))
    assert not [d for d in decision.deny if "region" in d], decision.deny


def test_data_sources_add_every_workspace_write_to_a_workspace_step():
    plan = Plan.model_validate({"goal": "g", "steps": [
        _step("get", "http.request", url=EU_URL),
        _step("save", "files.write", path="a.txt", text={"ref": "get.text"}),
        _step("note", "files.write", path="b.txt", text="hello"),
        _step("load", "files.read", path="c.txt"),
        _step("ls", "files.list"),
        _step("sum", "table.aggregate", csv={"ref": "load.text"}, column="x", op="sum"),
        _step("other", "json.query", expression="a", data={"a": 1})]})
    assert data_sources(plan, policy_registry()) == {
        "get": [], "save": ["get", "note"], "note": ["get", "save"],
        "load": ["get", "note", "save"], "ls": ["get", "note", "save"],
        "sum": ["get", "load", "note", "save"], "other": []}


def test_a_plan_with_no_workspace_write_adds_nothing():
    plan = Plan.model_validate({"goal": "g", "steps": [
        _step("load", "files.read", path="c.txt"), _step("ls", "files.list")]})
    assert data_sources(plan, policy_registry()) == {"load": [], "ls": []}


def _own_tools(registry) -> None:
    # A plugin's tools that share the workspace say so with the "workspace" tag; a read or a
    # write decided from the arguments counts as a write only when it is one.
    def stash(text: str, context: ToolContext) -> dict:
        """Keep a text in the workspace.

        Args:
            text: The text.
        """
        return {}

    def unstash(context: ToolContext) -> dict:
        """Read the kept text back."""
        return {"text": ""}

    def sync(mode: str, context: ToolContext) -> dict:
        """Read or write the workspace.

        Args:
            mode: "pull" (write) or "peek" (read).
        """
        return {"text": ""}

    registry.register_function(stash, name="kv.stash", effect=Effect.WRITE, tags=("workspace",))
    registry.register_function(unstash, name="kv.unstash", tags=("workspace",))
    registry.register_function(
        sync, name="kv.sync", tags=("workspace",),
        effect_from_args=lambda args: "write" if args["mode"] == "pull" else "read")


def test_a_plugin_tool_tagged_workspace_counts(engine):
    registry = policy_registry()
    _own_tools(registry)
    plan = Plan.model_validate({"goal": "g", "steps": [
        _step("get", "http.request", url=EU_URL),
        _step("keep", "kv.stash", text={"ref": "get.text"}),
        _step("back", "kv.unstash"),
        _step("peek", "kv.sync", mode="peek"),
        _step("post", "http.request", method="POST", url=US_URL, body={"ref": "back.text"})]})
    sources = data_sources(plan, registry)
    assert sources["back"] == ["get", "keep"]
    assert sources["keep"] == ["get"]  # peek (a read) and back write nothing
    assert LEAK in _decide(engine, plan, registry).deny


def test_the_step_check_counts_the_write_as_a_source(tmp_path: Path):
    # step_call_for (and the executor, through the same function) sees the write's source.
    plan = _leak(_step("load", "files.read", path="tmp.txt"))
    call = step_call_for(plan, "post", {"method": "POST", "url": US_URL, "body": "EU rows"},
                         policy_registry(tmp_path), run_id="r", plan_id="p", requester=ALICE)
    assert call.source_hosts == ("data.eu.example.com",)
    assert set(call.source_tools) == {"files.read", "files.write", "http.request"}
