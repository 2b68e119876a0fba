"""The ``openai_server`` fixture: the scripted OpenAI-compatible server of ``evals.scripted_server``.

Use it with the real ``openai`` SDK::

    def test_plan(openai_server):
        openai_server.script(Completion(content='{"steps": []}'))
        config = LLMConfig(base_url=openai_server.base_url, model="scripted")
        ...
        assert openai_server.requests[0]["response_format"]["type"] == "json_schema"

:func:`refuse_remote_endpoints` is the guard that keeps tests off real models:
it makes any ``openai.OpenAI`` client whose base URL is not on 127.0.0.1 or
localhost raise at construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from evals.scripted_server import Completion, Failure, ScriptedOpenAIServer, completion_body

__all__ = ["Completion", "Failure", "ScriptedOpenAIServer", "completion_body", "openai_server",
           "refuse_remote_endpoints"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def refuse_remote_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``openai.OpenAI`` refuse any base URL off this machine."""
    import openai

    original = openai.OpenAI.__init__

    def guarded(self: Any, *args: Any, base_url: Any = None, **kwargs: Any) -> None:
        host = urlsplit(str(base_url or "")).hostname
        if host not in LOCAL_HOSTS:
            raise RuntimeError(f"tests must not reach a real model endpoint (base_url={base_url!r})")
        original(self, *args, base_url=base_url, **kwargs)

    monkeypatch.setattr(openai.OpenAI, "__init__", guarded)


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAIServer]:
    """A started scripted OpenAI-compatible server; remote endpoints are refused meanwhile."""
    refuse_remote_endpoints(monkeypatch)
    server = ScriptedOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
