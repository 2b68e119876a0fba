"""The demo's throw-away workspace: its own settings file, data directory and sample data.

Settings are built from the workspace's own ``baton.toml`` with an empty
environment, so the demo never reads the user's configuration and never
writes outside its directory.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from baton.settings import Settings, hash_token, load_settings, user_toml
from tools import BatonError

SALES_CSV = """date,region,product,amount
2024-05-01,north,widgets,120.50
2024-05-01,south,widgets,80.00
2024-05-02,north,gadgets,42.25
2024-05-02,east,widgets,310.00
2024-05-03,south,gadgets,99.75
2024-05-03,east,gadgets,57.50
2024-05-04,north,widgets,64.00
"""

class DemoDirectoryError(BatonError):
    """The directory given to ``baton demo --dir`` cannot hold a fresh demo."""

    code = "demo_dir_not_empty"


DEMO_USERS = {"alice": "analyst", "bob": "approver", "carol": "approver"}


@dataclass(frozen=True)
class DemoWorkspace:
    """Where the demo lives and the settings that confine it there."""

    root: Path
    config_path: Path
    settings: Settings
    tokens: dict[str, str]

    @property
    def files_dir(self) -> Path:
        """The directory the files.* tools read and write."""
        return self.settings.resolved_workspace


def new_workspace_dir(parent: Path | None = None) -> Path:
    """A fresh, empty directory for the demo (under the system temp dir by default)."""
    return Path(tempfile.mkdtemp(prefix="baton-demo-", dir=parent))


def settings_toml(tokens: dict[str, str]) -> str:
    """The demo's ``baton.toml``: three users with API tokens and an egress allowlist."""
    lines = ['# Written by `baton demo`: a self-contained Baton installation.',
             'data_dir = ".baton"', 'workspace = "files"', ""]
    for user, role in DEMO_USERS.items():
        lines += [user_toml(user, [role], [hash_token(tokens[user])])]
    lines += ["[policy.data]", 'egress_allowlist = ["api.internal.example", "*.hooks.example.com"]',
              ""]
    return "\n".join(lines)


def prepare_workspace(root: Path) -> DemoWorkspace:
    """Write settings and sample data into ``root`` (which must be empty or missing)."""
    root = root.resolve()
    if root.exists() and any(root.iterdir()):
        raise DemoDirectoryError(f"demo directory {root} is not empty; pick a new one")
    root.mkdir(parents=True, exist_ok=True)
    tokens = {user: f"{user}-{secrets.token_urlsafe(12)}" for user in DEMO_USERS}
    config = root / "baton.toml"
    config.write_text(settings_toml(tokens), encoding="utf-8")
    files = root / "files"
    files.mkdir()
    (files / "sales.csv").write_text(SALES_CSV, encoding="utf-8")
    settings = load_settings(config, environ={})
    return DemoWorkspace(root=root, config_path=config, settings=settings, tokens=tokens)
