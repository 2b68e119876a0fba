"""Where the CLI judges policies: in its own process for commands that judge a plan or two and
exit, in evaluator processes for those that may judge thousands of calls (serve, worker, run,
resume), which rego-cpp's kept memory would otherwise grow without bound."""

from __future__ import annotations

import importlib

import pytest

from baton.cli.common import CliState
from policies.embedded import EmbeddedEngine
from policies.isolated_rego import IsolatedEmbeddedEngine


def _engine_of(cli, monkeypatch, *args: str):
    seen: list[object] = []
    real = CliState.services

    def services(self):
        built = real.fget(self)
        seen.append(built)
        return built

    monkeypatch.setattr(CliState, "services", property(services))
    cli(*args)
    return type(seen[-1].policy_engine)


@pytest.mark.parametrize("args", [("--as", "alice", "plan", "--file", "write.json"),
                                  ("--as", "alice", "policy", "eval", "write.json")])
def test_a_short_command_judges_in_its_own_process(cli, monkeypatch, args):
    assert _engine_of(cli, monkeypatch, *args) is EmbeddedEngine


def test_long_running_commands_judge_in_evaluator_processes(cli, monkeypatch):
    cli_main = importlib.import_module("baton.cli.main")  # baton.cli.main is also a function
    assert cli_main._JUDGING_AT_LENGTH == {"serve", "worker", "run", "resume"}
    assert _engine_of(cli, monkeypatch, "--as", "alice", "runs", "list") is EmbeddedEngine
    assert _engine_of(cli, monkeypatch, "--as", "alice", "run", "p-none") \
        is IsolatedEmbeddedEngine
