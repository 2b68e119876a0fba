"""What the ledger may see of a call: secret-typed arguments masked, secret references named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretBytes, SecretStr

from policies.step_strings import secret_names
from tools import ToolSpec
from tools.redaction import REDACTED


def secret_fields(spec: ToolSpec) -> frozenset[str]:
    """Names of the tool's arguments typed as secrets (their values never reach the ledger)."""
    names = set()
    for name, info in spec.input_model.model_fields.items():
        annotation = str(info.annotation)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "SecretStr" in annotation or "SecretBytes" in annotation or extra.get("secret"):
            names.add(info.alias or name)
        elif info.annotation in (SecretStr, SecretBytes):
            names.add(info.alias or name)
    return frozenset(names)


def referenced_secrets(args: Any) -> tuple[str, ...]:
    """Names of configured secrets (``${secret:NAME}``) a call's resolved arguments ask for,
    sorted; never values. The runtime check judges these same names (one rule,
    :func:`policies.step_strings.secret_names`): a tool is handed no secret it did not judge."""
    return tuple(secret_names(args, resolved=True))


def mask_args(args: Mapping[str, Any], secret_names: frozenset[str]) -> dict[str, Any]:
    """``args`` with the values of secret-typed arguments replaced by a marker."""
    if not secret_names:
        return dict(args)
    return {k: (REDACTED if k in secret_names else v) for k, v in args.items()}
