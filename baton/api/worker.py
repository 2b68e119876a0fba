"""The server's background worker: runs execute off the request thread.

``POST /runs`` queues the run (``start_run(detach=True)``, which checks the
approval first) and kicks this worker, which drains the queue with the
``run_worker`` use case. One thread at a time; a kick while it is busy makes
it look again before stopping, so no queued run is left behind.

Runs queued by another process (``baton run --detach``) never kick it, so
while the server is up a poller kicks it every ``poll_interval_s`` seconds.

A shutdown (:meth:`BackgroundWorker.begin_shutdown`, called the moment the server gets
SIGTERM or Ctrl-C) is a drain (:mod:`executor.draining`): no run is claimed from then on,
the run in progress starts nothing more, its calls in flight get ``grace_s`` to end, and
what is still unfinished is left, its lease given back, for another worker or a resume.
"""

from __future__ import annotations

import math
import threading

import structlog

from baton.services import Services
from baton.settings_reload import SettingsFileError, SettingsWait
from executor.draining import DEFAULT_GRACE_S, Drain

__all__ = ["DEFAULT_GRACE_S", "DEFAULT_POLL_INTERVAL_S", "BackgroundWorker"]

log = structlog.get_logger(__name__)

DEFAULT_POLL_INTERVAL_S = 3.0
# What stop() waits for the worker past its drain's grace: a poll of the run (at most 1 s),
# giving its lease back, the run's end.
STOP_MARGIN_S = 5.0


class BackgroundWorker:
    """Drains queued runs in one daemon thread, on demand and every ``poll_interval_s``."""

    def __init__(self, services: Services, poll_interval_s: float | None = DEFAULT_POLL_INTERVAL_S,
                 *, grace_s: float = DEFAULT_GRACE_S) -> None:
        if poll_interval_s is not None and poll_interval_s <= 0:
            raise ValueError(f"poll interval must be positive seconds, not {poll_interval_s!r}")
        self._services = services
        self._poll_interval_s = poll_interval_s
        self.grace_s = grace_s
        self._shutdown = Drain(grace_s)  # a fresh one at each start
        self._lock = threading.Lock()
        self._again = False
        self._thread: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._settings = SettingsWait(lambda: services.settings, "background worker")

    @property
    def polling(self) -> bool:
        """Whether the poller thread is running."""
        return self._poller is not None and self._poller.is_alive()

    @property
    def shutting_down(self) -> bool:
        """Whether the server is shutting down (:meth:`begin_shutdown`): event streams end."""
        return self._shutdown.requested

    def start(self) -> None:
        """Drain what is queued now, then poll for runs queued elsewhere (when an interval is set)."""
        self._shutdown = Drain(self.grace_s)
        self._stopping.clear()
        self.kick()
        if self._poll_interval_s is not None and not self.polling:
            self._poller = threading.Thread(target=self._poll, name="baton-api-poller",
                                            daemon=True)
            self._poller.start()

    def begin_shutdown(self) -> None:
        """Claim no more runs; the run in progress starts nothing more, and is ended or left
        within the grace (see the module doc). Safe in a signal handler: it takes no lock."""
        self._shutdown.request()

    def stop(self) -> None:
        """Shut down (:meth:`begin_shutdown`) and wait for the worker to end: about the grace
        from the shutdown's start; a worker stuck past it (its database hanging) is left."""
        self.begin_shutdown()
        self._stopping.set()
        for thread in (self._poller, self._thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=self._shutdown.time_left() + STOP_MARGIN_S)
        if self._thread is not None and self._thread.is_alive():
            log.warning("the background worker did not stop in time; exiting without it",
                        waited_s=self.grace_s + STOP_MARGIN_S)

    def kick(self) -> None:
        """Make sure queued runs get picked up soon."""
        with self._lock:
            self._again = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._drain, name="baton-api-worker",
                                            daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        # Event.wait doubles as the sleep, so stop() ends the poller at once.
        while not self._stopping.wait(self._poll_interval_s):
            self.kick()

    def _drain(self) -> None:
        from baton.usecases.runs import run_worker

        while True:
            with self._lock:
                if not self._again or self._stopping.is_set() or self._shutdown.requested:
                    self._thread = None
                    return
                self._again = False
            try:
                # The server outlives a database restart: a pass waits for the database as
                # long as it takes (a stop still ends the wait), as `baton worker` does.
                run_worker(self._services, once=True, should_stop=self._held,
                           wait_for_database_s=math.inf, drain=self._shutdown)
            except SettingsFileError as exc:  # broke as the pass began (its runner reads them)
                self._settings.waits(exc)
            except Exception:  # noqa: BLE001 - keep serving; the run's own record says what failed
                log.exception("background worker pass failed")

    def _held(self) -> bool:
        """Whether to claim no more runs: the server stops, or the settings file no longer
        loads (its runs stay queued until it does: the approval check would refuse them, and
        they would end failed over a half-saved file). One warning line per new problem."""
        return (self._stopping.is_set() or self._shutdown.requested
                or self._settings.blocked())
