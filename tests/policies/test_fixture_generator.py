"""``python -m tests.support.make_policy_fixtures``: --help writes nothing; the shipped fixtures
are what it makes today (an input format change regenerates them)."""

from __future__ import annotations

import json

import pytest

from policies.bundle import SHIPPED_FIXTURES
from tests.support import make_policy_fixtures


def test_help_prints_usage_and_writes_nothing(monkeypatch, capsys):
    monkeypatch.setattr(make_policy_fixtures, "write_fixtures",
                        lambda *_: pytest.fail("--help wrote fixtures"))
    with pytest.raises(SystemExit) as done:
        make_policy_fixtures.main(["--help"])
    assert done.value.code == 0
    assert "usage: python -m tests.support.make_policy_fixtures" in capsys.readouterr().out


def test_an_unknown_argument_is_a_usage_error_that_writes_nothing(monkeypatch):
    monkeypatch.setattr(make_policy_fixtures, "write_fixtures",
                        lambda *_: pytest.fail("a bad command line wrote fixtures"))
    with pytest.raises(SystemExit) as done:
        make_policy_fixtures.main(["fixtures/"])
    assert done.value.code == 2


def test_the_shipped_fixtures_are_what_the_generator_makes(tmp_path):
    assert make_policy_fixtures.main(["--dir", str(tmp_path)]) == 0
    made = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    shipped = {p.name: json.loads(p.read_text()) for p in SHIPPED_FIXTURES.glob("*.json")}
    assert sorted(made) == sorted(shipped)
    stale = [name for name in made if made[name] != shipped[name]]
    assert not stale, f"regenerate with python -m tests.support.make_policy_fixtures: {stale}"
