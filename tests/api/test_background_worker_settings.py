"""The server's background worker while the settings file does not load: one warning line per
problem (its runs stay queued), not a traceback every poll."""

from __future__ import annotations

import structlog

from baton.api.worker import BackgroundWorker
from baton.settings_reload import SettingsFileError


def _drain_with(monkeypatch, outcomes: list[Exception | None]) -> list[dict]:
    def run_worker(*_args, **_kwargs):
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    monkeypatch.setattr("baton.usecases.runs.run_worker", run_worker)
    background = BackgroundWorker(services=object(), poll_interval_s=None)  # type: ignore[arg-type]
    with structlog.testing.capture_logs() as logs:
        for _ in range(len(outcomes)):
            background._again = True
            background._drain()
    return [entry for entry in logs if entry["event"].startswith("background worker")]


def test_a_settings_file_that_does_not_load_is_one_warning_per_problem(monkeypatch):
    broken = SettingsFileError("baton.toml: unknown role 'aprover'")
    other = SettingsFileError("baton.toml: invalid TOML at line 3")
    logged = _drain_with(monkeypatch, [broken, broken, broken, other, None, broken])
    assert [(entry["log_level"], entry.get("error")) for entry in logged] == [
        ("warning", broken.message), ("warning", other.message), ("warning", broken.message)]
    assert all("exc_info" not in entry for entry in logged)


def test_any_other_failure_is_still_logged_with_its_traceback(monkeypatch):
    logged = _drain_with(monkeypatch, [RuntimeError("boom")])
    assert [(entry["log_level"], entry["event"]) for entry in logged] == [
        ("error", "background worker pass failed")]
