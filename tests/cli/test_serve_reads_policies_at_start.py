"""``baton serve`` and ``baton worker`` read ``policies_dir`` when they start, as the README
says ("policies … change on a restart").

The engine was built at the first decision: a data file edited after the start (``max_steps:
2``) denied plans until a restart, and a Rego file broken after the start denied every plan
even after it was fixed, with ``/healthz`` saying all was well.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import uvicorn

from baton.cli import run_cmd
from tests.support.cli_in_process import in_process_baton

ROOT = Path(__file__).resolve().parents[2]
THREE_STEPS = {"goal": "read three files", "steps": [
    {"id": f"s{n}", "tool": "files.read", "args": {"path": f"f{n}.csv"}} for n in range(3)]}


def _workspace(data_dir: Path) -> Path:
    policies = data_dir / "policies"
    shutil.copytree(ROOT / "policies" / "rego", policies)
    (data_dir / "ws").mkdir()
    (data_dir / "baton.toml").write_text(
        'policies_dir = "policies"\nworkspace = "ws"\n[users.alice]\nroles = ["analyst"]\n')
    return policies / "data.yaml"


def _limit_to_two_steps(data_file: Path) -> None:
    text = data_file.read_text()
    assert "max_steps: 50" in text
    data_file.write_text(text.replace("max_steps: 50", "max_steps: 2"))


def _decision_of_three_steps(services) -> str:
    from baton.usecases.plans import plan_from_document

    stored = plan_from_document(services, THREE_STEPS, services.settings.users["alice"])
    return stored.status.value


def test_serve_decides_with_the_policies_it_started_with(data_dir, capsys, monkeypatch):
    data_file = _workspace(data_dir)
    seen: list[str] = []

    def serving(self, sockets=None):  # in place of uvicorn's loop: the server has started
        _limit_to_two_steps(data_file)
        seen.append(_decision_of_three_steps(self.config.app.state.services))

    monkeypatch.setattr(uvicorn.Server, "run", serving)
    with in_process_baton(capsys) as baton:
        done = baton("serve", "--port", "0")
    assert done.returncode == 0, done.stderr
    assert seen and seen[0] != "denied", seen


def test_worker_decides_with_the_policies_it_started_with(data_dir, capsys, monkeypatch):
    data_file = _workspace(data_dir)
    seen: list[str] = []

    def working(services, once, drain):  # in place of the worker's loop: it has started
        _limit_to_two_steps(data_file)
        seen.append(_decision_of_three_steps(services))
        return 0

    monkeypatch.setattr(run_cmd, "_work", working)
    with in_process_baton(capsys) as baton:
        done = baton("worker", "--once")
    assert done.returncode == 0, done.stderr
    assert seen and seen[0] != "denied", seen
