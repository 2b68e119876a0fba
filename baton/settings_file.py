"""The settings file as ``read_settings`` takes it in: a regular file of at most
``MAX_SETTINGS_BYTES`` of UTF-8 TOML, laid out in the tables Baton reads, mapped onto the
fields of ``Settings`` with its relative paths made absolute against the file's directory.

Imported when settings are read, not by ``baton --help``.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.file_marks import FileMark, file_mark, is_absent
from tools.value_kinds import kind_in_words

from .settings import ConfigError
from .settings_checks import shown_path
from .settings_users import toml_key, user_layout_problem

#: The most a settings file may hold: far past any list of users and policy data, and
#: small enough that reading the wrong file (a log, a database) cannot exhaust memory.
MAX_SETTINGS_BYTES = 4 * 1024 * 1024

# Settings written as TOML tables: [llm], [users.NAME], ... (checked before the env merges in).
_TABLES = ("llm", "executor", "audit", "users", "secrets", "policy", "tools")

# The settings that are paths: written relative to the file, they are taken from its directory.
PATH_SETTINGS = ("data_dir", "workspace", "templates_dir", "policies_dir")


def read_settings_file(path: Path, *, required: bool) -> tuple[FileMark, dict[str, Any] | None]:
    """How the file at ``path`` looked just before it was read, and its tables (None: there
    is no file, and none was ``required``); ConfigError when it cannot be read as settings."""
    try:  # before reading: a file changed while it is read is read again
        mark = file_mark(path)
    except OSError as exc:  # e.g. under a directory that cannot be searched, or a link loop
        raise ConfigError(f"cannot read settings file {shown_path(path)}: "
                          f"{exc.strerror or type(exc).__name__}") from exc
    if is_absent(mark):
        if required:
            raise ConfigError(f"settings file {shown_path(path)} does not exist")
        return mark, None
    from planner.loading import file_problem

    # Only a regular file: a device or a pipe would be read without end.
    problem = file_problem(path, "settings file")
    if problem is not None:
        raise ConfigError(problem)
    return mark, _read_toml(path)


def _read_toml(path: Path) -> dict[str, Any]:
    """The settings file's tables; an unreadable, non-UTF-8, malformed or too large
    (``MAX_SETTINGS_BYTES``) file is a ConfigError."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SETTINGS_BYTES + 1)  # one byte more tells that it is larger
        if len(data) > MAX_SETTINGS_BYTES:
            raise ConfigError(f"cannot read settings file {path}: it is larger than "
                              f"{MAX_SETTINGS_BYTES // 2**20} MiB ({MAX_SETTINGS_BYTES:,} "
                              "bytes), the most a settings file may hold; is it the right file?")
        # Line ends as a text-mode read gives them (read_text did), offsets as in the file.
        return tomllib.loads(data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read settings file {path}: not UTF-8 text (byte "
                          f"0x{exc.object[exc.start]:02x} at offset {exc.start})") from exc
    except RecursionError:  # arrays or inline tables hundreds deep: tomllib recurses per level
        raise ConfigError(f"cannot read settings file {path}: it is nested too deeply to be "
                          "settings; flatten its arrays and tables") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    except ValueError:  # tomllib converting an integer longer than Python turns into an int
        raise ConfigError(f"cannot read settings file {path}: it holds an integer longer than "
                          f"{sys.get_int_max_str_digits():,} digits, more than any setting "
                          "takes") from None


def layout_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(setting, problem) for each part of the file that is not laid out as Baton reads it:
    a section that is not a table, a user that is not a table or names another id, a key of
    ``[policy]`` other than ``data`` (which would otherwise be dropped without a word)."""
    problems = [(key, f"must be a table ([{key}]), not {kind_in_words(raw[key])}")
                for key in _TABLES if key in raw and not isinstance(raw[key], dict)]
    users = raw.get("users")
    if isinstance(users, dict):
        problems.extend(problem for uid, spec in users.items()
                        if (problem := user_layout_problem(uid, spec)))
    policy = raw.get("policy")
    if isinstance(policy, dict):
        for key, value in policy.items():
            if key != "data":
                problems.append((f"policy.{key}", "not a setting; policy data goes under "
                                                  f"[policy.data] ({toml_key(key)} = ... there)"))
            elif not isinstance(value, dict):
                problems.append(("policy.data", f"must be a table ([policy.data]), not "
                                                f"{kind_in_words(value)}"))
    return problems


def normalise(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Map the TOML layout onto ``Settings``: [users.X], [policy.data], paths relative to
    ``base`` (the file's absolute directory: reading the file again from elsewhere gives the
    same paths)."""
    raw = dict(raw)
    users = raw.get("users", {})
    if isinstance(users, dict):
        # The table's name is the id (an "id" key was refused before this).
        raw["users"] = {uid: {**spec, "id": uid} for uid, spec in users.items()}
    tools_table = raw.pop("tools", None)
    if isinstance(tools_table, dict):
        raw["http_tools"] = tools_table.pop("http", [])
        if tools_table:  # anything else under [tools] is reported by validation, not dropped
            raw["tools"] = tools_table
    elif tools_table is not None:
        raw["tools"] = tools_table
    policy = raw.pop("policy", None)
    if isinstance(policy, dict) and "data" in policy:
        raw["policy_data"] = policy["data"]
    for key in PATH_SETTINGS:
        if isinstance(raw.get(key), str) and not Path(raw[key]).is_absolute():
            raw[key] = str(base / raw[key])
    return raw


__all__ = ["MAX_SETTINGS_BYTES", "PATH_SETTINGS", "layout_problems", "normalise",
           "read_settings_file"]
