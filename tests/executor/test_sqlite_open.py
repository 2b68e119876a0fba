"""Opening a brand-new SQLite database from several workers at once."""

from __future__ import annotations

import threading

from sqlalchemy import text

from executor.store import make_engine


def _open_together(url: str, workers: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def open_once() -> None:
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except BaseException as exc:  # collected and asserted by the caller
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=open_once) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_workers_opening_a_new_database_together_all_succeed(tmp_path):
    # Switching a new file to WAL needs an exclusive lock and SQLite may refuse it at
    # once, without the busy handler, while another connection is doing the same:
    # this failed a few times in a hundred before the switch was retried.
    for attempt in range(40):
        url = f"sqlite:///{tmp_path / f'new-{attempt}.db'}"
        assert _open_together(url, workers=4) == []
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        engine.dispose()
