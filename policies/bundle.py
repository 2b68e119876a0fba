"""A policy bundle: the Rego modules and the data they read, with one hash for both."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from planner.loading import read_scalars_as_json
from planner.plan import canonical_json
from tools import BatonError

SHIPPED_DIR = Path(__file__).parent / "rego"
SHIPPED_FIXTURES = Path(__file__).parent / "fixtures"
DATA_ROOT = "baton_config"  # the data lands at data.baton_config
DATA_FILES = ("data.json", "data.yaml", "data.yml")


class PolicyBundleError(BatonError):
    """The policy files cannot be read (missing directory, unreadable or malformed data)."""

    code = "policy_bundle"


@dataclass(frozen=True)
class PolicyBundle:
    """Rego modules (name → source) plus the merged data, identified by ``bundle_hash``."""

    directory: Path
    modules: tuple[tuple[str, str], ...]
    data: Mapping[str, Any]

    @classmethod
    def load(cls, directory: Path | None = None, *, overrides: Mapping[str, Any] | None = None
             ) -> PolicyBundle:
        """Read ``*.rego`` and the data file from ``directory`` (default: the shipped policies).

        ``overrides`` (settings' ``policy_data``) replace top-level keys of the data.
        """
        root = Path(directory) if directory else SHIPPED_DIR
        if not root.is_dir():
            raise PolicyBundleError(f"policies directory {str(root)!r} does not exist")
        files = sorted(root.glob("*.rego"))
        if not files:
            raise PolicyBundleError(f"policies directory {str(root)!r} holds no .rego files")
        modules = tuple((f.name, f.read_text(encoding="utf-8")) for f in files)
        data = {**_read_data(root), **dict(overrides or {})}
        return cls(directory=root, modules=modules, data=data)

    @property
    def bundle_hash(self) -> str:
        """SHA-256 over the sorted (file name, content) pairs and the canonical data."""
        digest = hashlib.sha256()
        for name, source in sorted(self.modules):
            digest.update(canonical_json([name, source]).encode("utf-8"))
        digest.update(canonical_json(dict(self.data)).encode("utf-8"))
        return digest.hexdigest()

    @property
    def fixtures_dir(self) -> Path:
        """Where this bundle's fixtures live: ``fixtures/`` beside custom policies, else shipped."""
        custom = self.directory / "fixtures"
        return custom if custom.is_dir() else SHIPPED_FIXTURES

    def data_document(self) -> dict[str, Any]:
        """The whole data document as the engine sees it."""
        return {DATA_ROOT: json.loads(canonical_json(dict(self.data)))}


@cache  # one class for every bundle; yaml imported here: only a bundle being loaded needs it
def _data_loader() -> type:
    """SafeLoader reading scalars as plans do: YAML 1.1's 09:30, 017, yes or dates stay text."""
    import yaml

    class DataLoader(yaml.SafeLoader):
        """Policy data is JSON data for Rego, so it is read as YAML 1.2 reads it."""

    read_scalars_as_json(DataLoader)
    return DataLoader


def _read_data(root: Path) -> dict[str, Any]:
    for name in DATA_FILES:
        path = root / name
        if not path.exists():
            continue
        import yaml  # for its YAMLError; loaded by _data_loader already

        try:
            text = path.read_text(encoding="utf-8")
            value = (json.loads(text) if name.endswith(".json")
                     else yaml.load(text, Loader=_data_loader()))  # noqa: S506 - a SafeLoader
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise PolicyBundleError(f"cannot read policy data {path}: {exc}") from exc
        if not isinstance(value, dict):
            raise PolicyBundleError(f"policy data {path} must hold an object at the top")
        return value
    return {}
