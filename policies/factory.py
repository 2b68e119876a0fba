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
) -> PolicyEngine:
    """The engine for these settings' values (the shell passes them; nothing here reads settings)."""
    bundle = PolicyBundle.load(policies_dir, overrides=policy_data)
    if opa_url:
        return OpaEngine(bundle, opa_url, timeout_s=opa_timeout_s)
    return EmbeddedEngine(bundle)
