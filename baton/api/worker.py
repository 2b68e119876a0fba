"""The server's background worker: runs started through the API execute off the request thread.

``POST /runs`` queues the run (``start_run(detach=True)``, which checks the
approval first) and kicks this worker, which drains the queue with the
``run_worker`` use case. One thread at a time; a kick while it is busy makes
it look again before stopping, so no queued run is left behind.
"""

from __future__ import annotations

import threading

import structlog

from baton.services import Services

log = structlog.get_logger(__name__)


class BackgroundWorker:
    """Drains queued runs in one daemon thread, on demand."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.Lock()
        self._again = False
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        """Make sure queued runs get picked up soon."""
        with self._lock:
            self._again = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._drain, name="baton-api-worker",
                                            daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        from baton.usecases.runs import run_worker

        while True:
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False
            try:
                run_worker(self._services, once=True)
            except Exception:  # noqa: BLE001 - keep serving; the run's own record says what failed
                log.exception("background worker pass failed")
