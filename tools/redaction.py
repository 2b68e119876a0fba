"""Masking secret values wherever they could leak: ledger payloads, step outputs, logs, error texts.

It lives in the lowest layer so that every layer (and ``baton --help``, which
must not import the database stack) can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"


def redact(value: Any, secret_values: Iterable[str]) -> Any:
    """A copy of ``value`` where every string containing a secret value has it masked.

    Strings inside dicts, lists and tuples are masked too, dict keys included:
    in a tool's output or a payload, keys are data (a header name, a row id).
    """
    # Longest first, so a secret that contains another is masked whole.
    secrets = sorted({s for s in secret_values if s}, key=len, reverse=True)
    if not secrets:
        return value
    return _redact(value, secrets)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {_redact(k, secrets): _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    return value
