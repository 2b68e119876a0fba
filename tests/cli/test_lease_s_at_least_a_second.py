"""``[executor] lease_s`` below a second is a configuration error, naming the setting.

The owner renews its lease every third of it (at most every second): a lease of a few
milliseconds ran out between renewals whenever a commit or a tool held the loop for a moment,
and other workers took the live run over, calling its steps again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.settings import ConfigError, load_settings

USERS = '[users.alice]\nroles = ["analyst"]\n'


def _load(tmp_path: Path, toml: str):
    (tmp_path / "baton.toml").write_text(toml + USERS)
    return load_settings(tmp_path / "baton.toml", environ={})


@pytest.mark.parametrize("value", ["0.00005", "0.5", "0.999"])
def test_a_lease_under_a_second_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match=r"executor\.lease_s: .*greater than or equal to 1"):
        _load(tmp_path, f"[executor]\nlease_s = {value}\n")


def test_a_lease_of_one_second_is_fine(tmp_path):
    assert _load(tmp_path, "[executor]\nlease_s = 1\n").executor.lease_s == 1.0
