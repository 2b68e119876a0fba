"""Choosing the engine: embedded by default, the OPA server when a URL is configured."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .bundle import PolicyBundle
from .embedded import EmbeddedEngine
from .engine import PolicyEngine
from .opa import DEFAULT_TIMEOUT_S, OpaEngine


def make_policy_engine(
    *,
    policies_dir: Path | None = None,
    policy_data: Mapping[str, Any] | None = None,
    opa_url: str | None = None,
    opa_timeout_s: float = DEFAULT_TIMEOUT_S,
    isolated: bool = False,
) -> PolicyEngine:
    """The engine for these settings' values (the shell passes them; nothing here reads settings).

    ``isolated``: the embedded engine judges in evaluator processes that are replaced before
    they grow (``policies.isolated_rego``), for processes that live long; otherwise in this
    process, which keeps the memory each evaluation leaks (fine for a short command).
    """
    bundle = PolicyBundle.load(policies_dir, overrides=policy_data)
    if opa_url:
        return OpaEngine(bundle, opa_url, timeout_s=opa_timeout_s)
    if isolated:
        from .isolated_rego import IsolatedEmbeddedEngine

        return IsolatedEmbeddedEngine(bundle)
    return EmbeddedEngine(bundle)
