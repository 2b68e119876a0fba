"""The settings file breaking while a run runs (an editor's half-saved ``baton.toml``) keeps
the step that had just finished, and the next step waits for the file, checked once it loads.

The write step's runtime check reads the requester's roles from the settings file; while the
file did not load, the check raised the settings error, the run stopped before the turn's
commit, and the read that had just finished was never recorded: a takeover read it again
(a finished write was failed "may have had its effect"). Now the check waits, the finished
step committed meanwhile, as a worker waits to claim runs while the file does not load. The
file is fixed here once another connection sees the finished step committed: no set time.
"""

from __future__ import annotations

import threading
import time

import pytest
from structlog.testing import capture_logs

from baton.services import Services
from baton.settings import load_settings
from baton.usecases.runs import start_run
from executor.ledger import Ledger
from executor.records import RunStatus
from executor.scheduling import StepStatus
from tests.support.approved_plans import ALICE, approved_copy_plan
from tests.support.gate_services import BACKENDS, database_url
from tests.support.settings_files import USERS, write_settings

GIVE_UP_S = 20.0


def _until(seen) -> bool:
    give_up = time.monotonic() + GIVE_UP_S
    while not seen() and time.monotonic() < give_up:
        time.sleep(0.05)
    return bool(seen())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_settings_file_broken_mid_run_keeps_the_finished_step_and_waits(backend, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "sales.csv").write_text("amount\n3\n", encoding="utf-8")
    path = tmp_path / "baton.toml"
    with database_url(backend, tmp_path) as url:
        extra = f'workspace = "{workspace}"\ndatabase_url = "{url}"\n'
        write_settings(path, USERS, extra=extra)
        services = Services(load_settings(path, environ={}))
        try:
            plan_id = approved_copy_plan(services)
            ledger = Ledger(services.engine)
            runs: list[str] = []
            fixed: list[bool] = []

            def fix_once_load_is_committed() -> None:
                # What another process sees: load's result is committed while save waits.
                fixed.append(_until(lambda: bool(runs and ledger.events(
                    subject=runs[0], kinds=["attempt_success"]))))
                write_settings(path, USERS, extra=extra)

            fixer = threading.Thread(target=fix_once_load_is_committed)

            def break_the_file_once_load_ends(progress) -> None:
                if progress.step_id == "load" and progress.status is StepStatus.SUCCEEDED:
                    (path.with_suffix(".new")).write_text(path.read_text() + "x = = 1\n")
                    path.with_suffix(".new").replace(path)  # as an editor saves a typo
                    fixer.start()

            with capture_logs() as logs:
                record = start_run(services, plan_id, ALICE, created=runs.append,
                                   observer=break_the_file_once_load_ends)
            fixer.join(GIVE_UP_S)
            assert fixed == [True]
            assert record.status is RunStatus.SUCCEEDED
            assert [s.attempts for s in record.steps] == [1, 1]  # load was not read again
            assert (workspace / "copy.csv").read_text(encoding="utf-8") == "amount\n3\n"
            waits = [e for e in logs if e["event"].startswith("run waits")]
            assert len(waits) == 1 and "no longer loads" in waits[0]["error"]
            assert [e.payload["step"] for e in ledger.events(
                subject=record.id, kinds=["step_check"])] == ["save"]
            assert ledger.verify().ok
        finally:
            services.engine.dispose()
