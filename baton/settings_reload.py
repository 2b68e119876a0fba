"""Users and roles as the settings file declares them now, for processes that outlive an edit.

``baton serve`` and ``baton worker`` read the settings once, at start; the next CLI command
reads them again. A token revoked or a role removed in the file must count at once in a
running process too: :class:`LiveSettings` stats the file at each use (the marks the
template library is judged fresh by, :mod:`tools.file_marks`; while the file's times are too
recent for its stat to tell an edit within the same second, its contents' digest too) and,
when it changed, reads it again as at start (same path, same environment variables) and
takes its users. Every other setting keeps its value at start: the database, policies, tools and
secrets are built from them once, so they change on a restart only, and a warning names them.

Roles follow the policy data, so they change on a restart too: the policy engine judges by the
data it started with (in ``baton worker`` as well), and a role table that took roles from the
file's new data would let a role approve where the decision never asks for it, or author plans
whose tools the policies deny. A user the file now gives a role its new policy data adds is
known at once, and granted nothing by that role until the restart: the reload's warning names
each such role and its holders, and so does the refusal they meet.

A file that no longer loads fails closed: reading the settings raises
:class:`SettingsFileError` (logged once per edit of the file) until it is fixed, rather
than going on with users the file no longer declares. Workers look before each claim
(:class:`SettingsWait`): a run they picked up meanwhile would be refused by the approval
check and end failed over a half-saved file, so it stays queued until the file loads. One
the file breaks under, between that look and its approval check, stays queued too: the
check's ``SettingsFileError`` is a ``RunDeferredError``, which the runner leaves the run for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.errors import RunDeferredError

from .settings import ConfigError, Settings

if TYPE_CHECKING:
    from tools.file_marks import FileMark

    from .usecases.permissions import RoleTable

# Not a restart's business: the users are taken from the file; ``user`` is the acting user the
# process was given (--as), kept.
_LIVE = frozenset({"users", "user"})


@dataclass(frozen=True, kw_only=True)
class SettingsSource:
    """Where settings were read from, to read them again the same way."""

    path: Path
    """The settings file, absolute (it may not exist when it was not required)."""
    required: bool
    """Whether a missing file is an error (it was named by --config or BATON_CONFIG)."""
    environ: Mapping[str, str]
    """The settings variables (``BATON_*``, ``OPENAI_API_KEY``) as they were at that read."""
    mark: FileMark
    """How the file looked just before it was read (``tools.file_marks.file_mark``)."""
    role_table: RoleTable
    """The role → action table of the policy data in force at that read: what the roles were
    then, to tell which ones a later read of the file changes."""


class SettingsFileError(ConfigError, RunDeferredError):
    """The settings file changed and no longer loads: no user can be known until it is fixed.

    A run's admission check that meets it cannot judge the run: the runner leaves the run
    queued (a ``RunDeferredError``) rather than failing it over a half-saved file."""

    code = "settings_error"


class LiveSettings:
    """The settings a process started with, with the users the settings file declares now.

    Safe to share between threads: one of them reads a changed file, the others wait for it
    (never the users the file had before).
    """

    def __init__(self, settings: Settings) -> None:
        self._start = settings
        self._lock = threading.Lock()
        source = settings.source
        # (how the file looked when last read, the settings then or why they did not load)
        self._state: tuple[FileMark | None, Settings | str] = (
            source.mark if source is not None else None, settings)
        # Whether the file was there when last read whole: one found in the working directory
        # (not required) that is then removed fails closed, as a broken one does, rather than
        # leaving the defaults' users (none) in force.
        self._file_seen = source is not None and not _absent(source.mark)

    def now(self) -> Settings:
        """The settings, users as the file declares them now; ``SettingsFileError`` while the
        file no longer loads. Settings built in code (no file) are returned as they are."""
        source = self._start.source
        if source is None:
            return self._start
        state = self._state
        if _mark(source.path) != state[0]:
            with self._lock:
                state = self._state
                if _mark(source.path) != state[0]:  # not read by another thread meanwhile
                    state = self._state = self._read_again(source)
        current = state[1]
        if isinstance(current, str):
            raise SettingsFileError(current)  # a new one each time: threads raise it at once
        return current

    def _read_again(self, source: SettingsSource) -> tuple[FileMark | None, Settings | str]:
        """The file's mark and the settings with its users now, or why it does not load."""
        from . import settings as settings_module  # read_settings, looked up when called

        log = _log()

        mark = _mark(source.path)
        # What this read finds is news only for contents not read before: the file is also
        # read once more when it leaves the racy window (tools.file_marks), unchanged, and
        # its problem, or the settings it changed, must not be logged a second time.
        edited = not _same_contents(self._state[0], mark)
        try:
            fresh = settings_module.read_settings(
                source.path, required=source.required or self._file_seen, environ=source.environ)
        except ConfigError as exc:
            problem = (f"the settings file {source.path} changed and no longer loads, so no "
                       f"user or role is known until it is fixed: {exc.message}")
            if edited:
                log.error("settings file invalid: tokens and approvals are refused until it "
                          "is fixed", path=str(source.path), error=problem)
            return mark, problem
        assert fresh.source is not None  # read from the file
        self._file_seen = not _absent(fresh.source.mark)
        if edited:
            _warn_restart_needed(self._start, source, fresh)
        before = self._state[1]
        if not isinstance(before, Settings) or before.users != fresh.users:
            log.info("users read again from the settings file", path=str(source.path),
                     users=sorted(fresh.users))
        return fresh.source.mark, self._start.model_copy(update={"users": fresh.users})


class SettingsWait:
    """A worker's look at the settings file before it claims a run: a run claimed while the
    file does not load would be refused by the approval check, and fail for good over a
    half-saved file. While it does not load, runs stay queued; each new problem is one
    warning, and the file loading again one line."""

    def __init__(self, settings: Callable[[], object], worker: str) -> None:
        """``settings``: reads the live settings (``SettingsFileError`` while the file does not
        load); ``worker``: how the log names the worker ("worker", "background worker")."""
        self._settings = settings
        self._worker = worker
        self._problem: str | None = None  # the last one logged

    def blocked(self) -> bool:
        """Whether the settings file does not load now (a stat; a read once it changed)."""
        try:
            self._settings()
        except SettingsFileError as exc:
            self.waits(exc)
            return True
        if self._problem is not None:
            self._problem = None
            _log().info(f"the settings file loads again: the {self._worker} picks up runs")
        return False

    def raise_problem(self) -> None:
        """Raise the ``SettingsFileError`` of a settings file that does not load now."""
        self._settings()

    def waits(self, problem: SettingsFileError) -> None:
        """Log that the worker waits for the settings file, unless ``problem`` was logged."""
        if problem.message != self._problem:
            self._problem = problem.message
            _log().warning(f"{self._worker} waits: the settings file does not load",
                           error=problem.message)


def _log() -> Any:
    """This module's logger; structlog is imported when first needed, not for `baton --help`."""
    import structlog

    return structlog.get_logger(__name__)


def _warn_restart_needed(start: Settings, source: SettingsSource, fresh: Settings) -> None:
    """Warn of what the file now says that counts only after a restart: settings (named,
    never their values: some are secrets) and roles the policy data changed."""
    log = _log()
    restart = restart_needed(start, fresh)
    if restart:
        log.warning("settings changed in the file take effect on restart",
                    path=str(source.path), settings=restart)
    roles, holders = roles_changed(source, fresh)
    if roles:
        log.warning("roles changed in the policy data take effect on restart: until then "
                    "a role added grants nothing, and the others keep their actions",
                    path=str(source.path), roles=roles, users=holders)


def _absent(mark: FileMark) -> bool:
    """Whether ``mark`` is that of a settings file that was not there."""
    from tools.file_marks import is_absent

    return is_absent(mark)


def _same_contents(before: FileMark | None, now: FileMark | None) -> bool:
    """Whether two marks of the settings file are of the same contents: the same stat, and
    the same digest where both hold one (the first mark past the racy window holds none)."""
    if before is None or now is None:  # the file could not be looked at
        return before == now
    digests = [mark[5] for mark in (before, now)
               if mark[5] and not mark[5].startswith("racy ")]  # "racy N": not read
    return before[:5] == now[:5] and (len(digests) < 2 or digests[0] == digests[1])


def _mark(path: Path) -> FileMark | None:
    """The settings file's mark now; None while it cannot be looked at, which reading it
    again reports (it then stays refused until the file can be looked at, and loads)."""
    from tools.file_marks import file_mark

    try:
        return file_mark(path)
    except OSError:
        return None


def restart_needed(start: Settings, now: Settings) -> list[str]:
    """The settings, users aside, whose value in ``now`` differs from ``start``'s (sorted)."""
    return sorted(name for name in Settings.model_fields
                  if name not in _LIVE and getattr(now, name) != getattr(start, name))


def roles_changed(start: SettingsSource, now: Settings) -> tuple[list[str], list[str]]:
    """The roles to which the policy data in force when ``now`` was read gives other actions
    than it did at ``start`` (added, taken away or changed), and the users of ``now`` who hold
    one of them; both sorted."""
    assert now.source is not None  # read from the file
    roles = start.role_table.changed_roles(now.source.role_table)
    holders = sorted(uid for uid, user in now.users.items() if set(user.roles) & set(roles))
    return roles, holders
