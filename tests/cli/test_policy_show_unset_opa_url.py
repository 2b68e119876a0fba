"""``policy show`` prints an OPA URL that is not set as "-" with why, not Python's ``None``.

The embedded engine's listing read ``opa_url: None``; other listings print an unset value as
"-" (``tools show``'s secrets and tags). ``--json`` keeps ``null`` for scripts.
"""

from __future__ import annotations

import json


def _line(stdout: str, key: str) -> str:
    [line] = [line for line in stdout.splitlines() if line.startswith(f"{key}:")]
    return line


def test_an_unset_opa_url_reads_as_not_set_and_the_embedded_engine_deciding(cli):
    shown = cli("policy", "show")
    assert shown.returncode == 0, shown.stderr
    assert "None" not in shown.stdout
    assert _line(shown.stdout, "opa_url") == "opa_url: - (not set: the embedded engine decides)"
    assert _line(shown.stdout, "engine") == "engine: embedded"
    assert json.loads(cli("policy", "show", "--json").stdout)["opa_url"] is None


def test_a_set_opa_url_is_printed_as_set(cli, data_dir):
    config = data_dir / "baton.toml"
    config.write_text('opa_url = "http://svc:opa-pa55@127.0.0.1:9"\n' + config.read_text())
    shown = cli("policy", "show")
    assert shown.returncode == 0, shown.stderr
    assert _line(shown.stdout, "opa_url") == "opa_url: http://svc:***@127.0.0.1:9"
