"""A kept web key others on the machine can read or write is used with a warning.

``<data_dir>/web_secret.key`` is made 0600; one copied with ``cp`` or restored from a backup
0644 was read silently, though anyone who can read it can forge every form's token. It is
still used (a data directory a group shares on purpose keeps working), with one warning that
names the file, its mode and the fix, never the key.
"""

from __future__ import annotations

import os
import secrets

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from baton.web.session import KEY_FILE, web_key
from tests.api.live import make_settings

pytestmark = pytest.mark.skipif(os.name != "posix", reason="no permission bits to check")


def _kept(tmp_path, mode: int):
    """Settings whose data directory keeps a key of file mode ``mode``; the key's text."""
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path = settings.data_dir / KEY_FILE
    path.write_text(key + "\n", encoding="ascii")
    os.chmod(path, mode)
    return settings, key


def _warnings(logs):
    return [entry for entry in logs if entry["log_level"] == "warning"]


def test_a_key_file_others_can_read_is_used_with_one_warning_naming_file_mode_and_fix(
        tmp_path):
    settings, key = _kept(tmp_path, 0o644)
    path = settings.data_dir / KEY_FILE
    with capture_logs() as logs:
        assert web_key(settings) == bytes.fromhex(key)
    [warning] = _warnings(logs)
    text = " ".join(str(value) for value in warning.values())
    assert str(path) in text and "0644" in text
    assert f"chmod 600 {path}" in text and "web_secret" in text and "BATON_WEB_SECRET" in text
    assert key not in text


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620], ids=lambda mode: f"{mode:04o}")
def test_group_or_other_bits_of_any_kind_are_warned_of(tmp_path, mode):
    settings, _ = _kept(tmp_path, mode)
    with capture_logs() as logs:
        web_key(settings)
    [warning] = _warnings(logs)
    assert f"{mode:04o}" in " ".join(str(value) for value in warning.values())


def test_a_key_file_for_the_owner_alone_is_read_without_a_warning(tmp_path):
    settings, key = _kept(tmp_path, 0o600)
    with capture_logs() as logs:
        assert web_key(settings) == bytes.fromhex(key)
    assert _warnings(logs) == []


def test_a_key_baton_makes_is_read_without_a_warning(tmp_path):
    settings = make_settings(tmp_path)
    with capture_logs() as logs:
        made = web_key(settings)
        again = web_key(settings)
    assert made == again and (settings.data_dir / KEY_FILE).exists()
    assert _warnings(logs) == []


def test_a_configured_web_secret_reads_no_file_and_warns_of_none(tmp_path):
    secret = "a-web-secret-every-server-shares-0123456789"
    settings = make_settings(tmp_path, web_secret=SecretStr(secret))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / KEY_FILE).write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    os.chmod(settings.data_dir / KEY_FILE, 0o644)
    with capture_logs() as logs:
        assert web_key(settings) == secret.encode("utf-8")
    assert _warnings(logs) == []
