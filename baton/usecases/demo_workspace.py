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
from baton.settings_checks import byte_not_utf8, shown_path
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


class DemoDirectoryNameError(DemoDirectoryError):
    """The demo's directory has a name its settings would refuse (found before writing)."""

    code = "demo_dir_name"


DATA_DIR = ".baton"  # the demo's data_dir, under its root


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
    """A fresh, empty directory for the demo (under the system temp dir by default).

    A parent whose name the demo's settings would refuse is refused before the directory is
    made (``DemoDirectoryNameError``); the directory's own name is ASCII.
    """
    base = Path(tempfile.gettempdir()) if parent is None else parent
    problem = _name_problem(base.absolute())
    if problem is not None:
        where = "the temporary directory (TMPDIR)" if parent is None else "the directory"
        raise DemoDirectoryNameError(f"{where} {shown_path(base.absolute())} cannot hold the "
                                     f"demo: its name {problem}; nothing was written: set "
                                     "TMPDIR to another directory, or pass --dir")
    return Path(tempfile.mkdtemp(prefix="baton-demo-", dir=parent))


def workspace_problem(root: Path) -> str | None:
    """Why the demo's settings would refuse ``root``, if they would; asked before anything is
    written there, so that a refused directory is left as it was found.

    Its data_dir holds the SQLite database, named by a URL, which is text: the path must be
    UTF-8 (``sqlite_dir_problem``, which ``load_settings`` runs once the files are written).
    """
    data_dir = root.resolve() / DATA_DIR  # as the settings will name it, links followed
    problem = _name_problem(data_dir)
    if problem is None:
        return None
    return (f"{shown_path(root.resolve())} cannot hold the demo: its data_dir, "
            f"{shown_path(data_dir)}, {problem}; nothing was written, pick another directory")


def _name_problem(path: Path) -> str | None:
    byte = byte_not_utf8(path)
    if byte is None:
        return None
    return (f"must be valid UTF-8 (byte 0x{byte:02x} is not): the demo's SQLite database is "
            "named by a URL, which is text")


def settings_toml(tokens: dict[str, str]) -> str:
    """The demo's ``baton.toml``: three users with API tokens and an egress allowlist."""
    lines = ['# Written by `baton demo`: a self-contained Baton installation.',
             f'data_dir = "{DATA_DIR}"', 'workspace = "files"', ""]
    for user, role in DEMO_USERS.items():
        lines += [user_toml(user, [role], [hash_token(tokens[user])])]
    lines += ["[policy.data]", 'egress_allowlist = ["api.internal.example", "*.hooks.example.com"]',
              ""]
    return "\n".join(lines)


def prepare_workspace(root: Path) -> DemoWorkspace:
    """Write settings and sample data into ``root`` (which must be empty or missing, with a
    name the settings accept: checked before anything is written)."""
    problem = workspace_problem(root)
    if problem is not None:
        raise DemoDirectoryNameError(problem)
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
