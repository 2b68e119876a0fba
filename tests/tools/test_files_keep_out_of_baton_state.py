"""files.* keep out of Baton's own state wherever the workspace lies: the whole data directory
when the workspace holds it, the state files themselves when the workspace is the data
directory, nothing when the data directory holds the workspace (the default). Checked by path
(symlinks followed, a state file not made yet included) and by identity (a hard link)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from baton.services import baton_state
from baton.settings import Settings
from tools import ToolContext, ToolInputError, ToolRegistry
from tools.builtin import register_builtin_tools


def tools_for(settings: Settings) -> ToolRegistry:
    registry = ToolRegistry()
    register_builtin_tools(registry, workspace=settings.resolved_workspace,
                           protected=baton_state(settings))
    return registry


def call(registry: ToolRegistry, tool: str, **args) -> dict:
    return asyncio.run(registry.get(tool).invoke(args, ToolContext(idempotency_key="k")))


def refusal(registry: ToolRegistry, tool: str, **args) -> str:
    with pytest.raises(ToolInputError) as caught:
        call(registry, tool, **args)
    assert caught.value.code == "path_refused"
    return str(caught.value)


@pytest.fixture
def around(tmp_path) -> Path:
    """A workspace (tmp_path) holding a data directory with a database, a key and artifacts."""
    data = tmp_path / "state"
    (data / "artifacts").mkdir(parents=True)
    (data / "artifacts" / "ab12").write_text("a stored output")
    (data / "baton.db").write_text("db")
    (data / "web_secret.key").write_text("key")
    (tmp_path / "notes.txt").write_text("ordinary")
    return tmp_path


def test_a_data_directory_not_made_yet_cannot_be_planted(tmp_path):
    registry = tools_for(Settings(data_dir=tmp_path / "state", workspace=tmp_path))
    for spelling in ("state/web_secret.key", "STATE/web_secret.key"):
        error = refusal(registry, "files.write", path=spelling, text="a key I chose")
        assert "is inside Baton's data directory (data_dir)" in error
    assert not (tmp_path / "state").exists() and not (tmp_path / "STATE").exists()


def test_an_absolute_symlink_into_the_data_directory_is_refused(around):
    registry = tools_for(Settings(data_dir=around / "state", workspace=around))
    os.symlink(around / "state" / "artifacts", around / "outputs")
    assert "is inside Baton's data directory" in refusal(registry, "files.read",
                                                         path="outputs/ab12")
    os.symlink(around / "state", around / "elsewhere")
    assert "path 'elsewhere' is Baton's data directory" in refusal(registry, "files.list",
                                                                   path="elsewhere")


def test_a_hard_link_to_the_database_is_the_database(around):
    registry = tools_for(Settings(data_dir=around / "state", workspace=around))
    os.link(around / "state" / "baton.db", around / "copy.db")
    error = refusal(registry, "files.write", path="copy.db", text="x", overwrite=True)
    assert "path 'copy.db' is Baton's database" in error
    assert (around / "state" / "baton.db").read_text() == "db"
    listed = [e["path"] for e in call(registry, "files.list", pattern="**/*")["entries"]]
    assert listed == ["notes.txt"]


def test_a_workspace_that_is_the_data_directory_keeps_out_of_the_state_files(around):
    data = around / "state"
    registry = tools_for(Settings(data_dir=data, workspace=data))
    assert "path 'baton.db' is Baton's database" in refusal(registry, "files.read",
                                                            path="baton.db")
    assert "Baton's artifact store" in refusal(registry, "files.read", path="artifacts/ab12")
    assert "Baton's web key" in refusal(registry, "files.read", path="web_secret.key")
    assert "Baton's templates directory" in refusal(registry, "files.write",
                                                    path="templates/t.yaml", text="x")
    assert call(registry, "files.write", path="report.txt", text="fine")["bytes"] == 4
    listed = [e["path"] for e in call(registry, "files.list", pattern="*")["entries"]]
    assert listed == ["report.txt"]


def test_the_default_workspace_inside_the_data_directory_is_used_as_before(tmp_path):
    registry = tools_for(Settings(data_dir=tmp_path / "state"))
    assert call(registry, "files.write", path="artifacts/baton.db", text="mine")["bytes"] == 4
    assert call(registry, "files.read", path="artifacts/baton.db")["text"] == "mine"


def test_a_workspace_from_the_call_context_is_guarded_alike(around, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("configured")
    registry = tools_for(Settings(data_dir=around / "state", workspace=elsewhere))
    with pytest.raises(ToolInputError, match="Baton's data directory"):
        asyncio.run(registry.get("files.read").invoke(
            {"path": "state/web_secret.key"}, ToolContext(idempotency_key="k", workspace=around)))


def test_the_web_key_protected_is_the_one_the_server_makes():
    from baton.services import WEB_KEY_FILE
    from baton.web.session import KEY_FILE

    assert WEB_KEY_FILE == KEY_FILE
