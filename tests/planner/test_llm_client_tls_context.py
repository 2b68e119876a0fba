"""Each model attempt has an SDK client of its own, but the TLS context (the CA bundle loaded,
~50 ms of CPU) is built once per process and shared by them."""

from __future__ import annotations

import importlib

import openai
from pydantic import SecretStr

from planner.llm import client as llm_client
from planner.llm.client import default_client_factory
from planner.llm.config import LLMConfig


def test_clients_of_two_attempts_share_one_tls_context(monkeypatch):
    library = importlib.import_module(next(
        cls.__module__.split(".")[0] for cls in openai.DefaultHttpxClient.__mro__
        if not cls.__module__.startswith("openai")))
    built = []
    original = library.create_ssl_context

    def counted(*args, **kwargs):
        built.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(library, "create_ssl_context", counted)
    llm_client._tls_context.cache_clear()
    config = LLMConfig(base_url="http://127.0.0.1:9/v1", model="m", api_key=SecretStr("k" * 20))
    first, second = default_client_factory(config), default_client_factory(config)
    try:
        assert first is not second
        assert len(built) == 1
    finally:
        first.close()
        second.close()
        llm_client._tls_context.cache_clear()
