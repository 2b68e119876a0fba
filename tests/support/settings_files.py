"""A settings file on disk with the test users, and a live server that reads it (fixtures).

The tests of what a running server does when ``baton.toml`` changes (a token revoked, a role
removed, the file broken) all start from this file; its fixtures are offered by the tests'
conftest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from baton.services import Services
from baton.settings import hash_token, load_settings, user_toml
from tests.api.live import serve, token_of

USERS = {"alice": ("analyst",), "bob": ("approver",), "dave": ("auditor",)}


def write_settings(path: Path, users: dict[str, tuple[str, ...]], *, extra: str = "",
                   tokens: dict[str, list[str]] | None = None) -> None:
    """The settings file with ``users`` (each with its test token unless ``tokens`` says),
    written as an editor saves it: a new file moved over the old one."""
    tokens = tokens or {}
    data = path.parent / "data"
    text = f"data_dir = {json.dumps(str(data))}\n{extra}" + "".join(
        user_toml(uid, roles, tokens.get(uid, [hash_token(token_of(uid))]))
        for uid, roles in users.items())
    staged = path.with_suffix(".new")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


@pytest.fixture
def settings_file(tmp_path):
    """``baton.toml`` in ``tmp_path``, with :data:`USERS` and their test tokens."""
    path = tmp_path / "baton.toml"
    write_settings(path, USERS)
    return path


@pytest.fixture
def file_live(settings_file):
    """A live server over :func:`settings_file`, which it reads again whenever it changes."""
    server = serve(Services(load_settings(settings_file, environ={})))
    yield server
    server.stop()
