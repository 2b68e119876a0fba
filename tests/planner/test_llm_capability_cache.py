"""The remembered response formats are written even where the data directory is still to be made."""

from __future__ import annotations

import json

from planner.llm import LLMConfig, LLMPlanner
from tests.support.openai_server import Completion
from tools import ToolRegistry

PLAN = json.dumps({"steps": [{"id": "load", "tool": "files.read",
                              "args_json": json.dumps({"path": "a.csv"})}]})


def test_the_capability_cache_is_written_into_a_data_directory_not_made_yet(
        openai_server, tmp_path):
    registry = ToolRegistry()

    @registry.tool("files.read")
    def read(path: str) -> str:
        """Read a text file from the workspace."""
        return ""

    openai_server.reject_formats = {"json_schema", "json_object"}
    openai_server.script(Completion(content=PLAN), Completion(content=PLAN))
    cache = tmp_path / "data" / "llm_capabilities.json"
    for _ in range(2):
        LLMPlanner(LLMConfig(base_url=openai_server.base_url, model="scripted", timeout_s=5.0,
                             capability_cache=cache)).plan("Read a.csv", registry)
    assert list(json.loads(cache.read_text()).values()) == ["text"]
    kinds = [r.get("response_format", {}).get("type") for r in openai_server.requests]
    assert kinds == ["json_schema", "json_object", None, None]  # the second plan went straight
