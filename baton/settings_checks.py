"""Checks of valid-looking settings against the machine: paths, the database URL, the LLM
endpoint's and the OPA server's URLs, HTTP tools.

``load_settings`` runs them before anything opens a file or a connection, so
that a setting pointing at a file instead of a directory (or at a path the system cannot
look at: a symbolic link loop, a parent that cannot be searched), an unparseable or
unsupported database, LLM endpoint or OPA server URL or a broken ``[[tools.http]]`` table (one
that cannot be registered, or names a secret ``[secrets]`` does not hold) is
reported as a configuration problem (exit 2) naming the setting, not as a
traceback or a failure of the thing asked for.

They run no third-party code: the installed tool packages are loaded only where the tool
registry is built, which checks the tables against their tools (:func:`http_tool_problems`).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from tools.url_credentials import hide_setting_url, url_secrets

if TYPE_CHECKING:
    from tools import ToolRegistry

    from .settings import Settings

SUPPORTED_DATABASES = ("sqlite", "postgresql")
DATABASE_URL_EXAMPLES = "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
LLM_BASE_URL_EXAMPLE = "http://localhost:11434/v1"
# A host the HTTP client reads as an IPv4 address (and refuses unless it is one).
_IPV4_STYLE = re.compile(r"[0-9]+(?:\.[0-9]+){3}")

Problem = tuple[str, str]
"""(setting, what is wrong with it)."""


def check_settings(settings: Settings) -> list[Problem]:
    """Every problem of ``settings`` found on this machine; empty when none."""
    problems: list[Problem] = []
    for key in ("data_dir", "workspace", "templates_dir"):
        path = getattr(settings, key)
        problem = path is not None and directory_problem(path)
        if problem:
            problems.append((key, problem))
    if not settings.database_url:
        problem = sqlite_dir_problem(settings.data_dir)
        if problem:
            problems.append(("data_dir", problem))
    if settings.policies_dir is not None:
        problem = policies_dir_problem(settings.policies_dir)
        if problem:
            problems.append(("policies_dir", problem))
    if settings.database_url:
        problem = database_url_problem(settings.database_url)
        if problem:
            problems.append(("database_url", problem))
    if settings.llm.base_url:
        problem = llm_base_url_problem(settings.llm.base_url)
        if problem:
            problems.append(("llm.base_url", problem))
    if settings.opa_url:
        from policies.opa import opa_url_problem  # the backend's own rule, not a copy

        problem = opa_url_problem(settings.opa_url)
        if problem:
            problems.append(("opa_url", problem))
    if settings.http_tools:
        problems.extend(http_tool_problems(settings))
    return problems


def directory_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (or become) a directory, if it cannot.

    Asked with ``os.stat``: ``Path.exists`` answers False for a symbolic link loop (a later
    ``resolve`` raised RuntimeError) and raises PermissionError on Python 3.11 under a
    parent that cannot be searched. A NUL was refused when the settings were validated.
    """
    path = path.absolute()
    for candidate in (path, *path.parents):  # created on first use, under its nearest ancestor
        try:
            mode = os.stat(candidate).st_mode
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                continue  # not there yet, or under a file (reported once that file is reached)
            return f"{shown_path(path)} cannot be read: {exc.strerror or type(exc).__name__}"
        if stat.S_ISDIR(mode):
            return None
        if candidate == path:
            return f"{shown_path(path)} is not a directory"
        return f"{shown_path(path)} cannot be created: {shown_path(candidate)} is not a directory"
    return None  # not even the root exists: nothing to report here


def sqlite_dir_problem(data_dir: Path) -> str | None:
    """Why ``data_dir`` cannot hold the SQLite database, if it cannot: a path that is not
    UTF-8 cannot be written into the database's URL (the files are fine with any path)."""
    path = data_dir.absolute()
    byte = byte_not_utf8(path)
    if byte is not None:
        return (f"{shown_path(path)} must be valid UTF-8 (byte 0x{byte:02x} is not): "
                "the SQLite database in it is named by a URL, which is text; rename the "
                "directory, choose another data_dir or set database_url")
    return None


def byte_not_utf8(path: Path) -> int | None:
    """The first byte of ``path``'s name that is not UTF-8, if one is not (None: all are)."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw[exc.start]
    return None


def shown_path(path: Path) -> str:
    """``path`` for a message: bytes that are not UTF-8 as ``\\xff`` (never an unprintable
    surrogate, which a UTF-8 stream refuses)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def policies_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot replace the shipped policies, if it cannot."""
    from policies.bundle import PolicyBundleError, rego_files

    try:
        files = rego_files(path)
    except PolicyBundleError as exc:
        return exc.message
    return None if files else f"{path} holds no .rego files"


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be Baton's database, if it cannot (the URL is never echoed with its password)."""
    # SQLAlchemy only here, and only when a URL is set: `baton --help` stays fast.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL; use {DATABASE_URL_EXAMPLES}"
    except ValueError:  # a port that is not a number: the parser's int() gives up
        return f"{hide_setting_url(url)}: its port is not a number; use {DATABASE_URL_EXAMPLES}"
    shown = hide_setting_url(url)
    # Parsed as any number: psycopg refused 99999 only when connecting (exit 1, not 2).
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return (f"{shown}: its port {parsed.port} is not from 1 to 65535; use "
                f"{DATABASE_URL_EXAMPLES}")
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        return (f"{shown}: {backend} databases are not supported; Baton supports "
                f"{' and '.join(SUPPORTED_DATABASES)} ({DATABASE_URL_EXAMPLES})")
    if backend == "sqlite" and _names_no_sqlite_file(parsed.database or "", parsed.query):
        return (f"{shown}: an in-memory SQLite database (no file named), so every record "
                f"would be lost when the process ends; use {DATABASE_URL_EXAMPLES}")
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"{shown}: unknown {backend} driver {parsed.drivername!r}"
    except ImportError as exc:
        return (f"{shown}: the {parsed.drivername} driver is not installed (no module "
                f"{exc.name!r}); install it or use {DATABASE_URL_EXAMPLES}")
    return None


def _names_no_sqlite_file(database: str, query: Mapping[str, str | Sequence[str]]) -> bool:
    """Whether SQLite would keep this database in memory (or in a temporary file) only.

    A plan id printed by one command would name nothing for the next: each command is a
    process. The forms: no path (``sqlite://``; an empty name is a temporary file SQLite
    deletes on close), ``:memory:``, the URI ``file::memory:`` and ``mode=memory`` in the
    URL's query or in the ``file:`` URI itself.
    """
    if database in ("", ":memory:"):
        return True
    modes = query.get("mode", ())
    modes = [modes] if isinstance(modes, str) else list(modes)
    if database.startswith("file:"):
        path, _, uri_query = database[len("file:"):].partition("?")
        if path == ":memory:":
            return True
        modes += parse_qs(uri_query).get("mode", [])
    return any(mode.lower() == "memory" for mode in modes)


def llm_base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the LLM endpoint's base URL, if it cannot (never echoing a password).

    The standard library only (``baton --help`` stays fast), refusing what the HTTP client
    under the openai SDK refuses when the planner is built.
    """
    use = f"use a URL such as {LLM_BASE_URL_EXAMPLE}"
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        return f"the URL holds a control character; {use}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError as exc:  # unparseable: shown not even with its credentials hidden
        return f"not a URL ({exc}); {use}"
    shown = hide_setting_url(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"{shown}: not an http:// or https:// URL; {use}"
    host = parts.hostname
    if not host:
        return f"{shown}: names no host; {use}"
    if _IPV4_STYLE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"{shown}: {host} is not an IPv4 address; {use}"
    return None


def short_secret_warnings(settings: Settings) -> list[Problem]:
    """(secret, warning) for each ``[secrets]`` value shorter than ``MIN_GLOBAL_SECRET_LEN``:
    accepted, but it cannot be told from ordinary text in a plan (so a plan holding it is not
    refused), while masking it everywhere else hides ordinary text. Names only, never a value
    or its length: a length narrows the guessing."""
    from tools.url_credentials import MIN_GLOBAL_SECRET_LEN

    return [(name, f"secret {name} is shorter than {MIN_GLOBAL_SECRET_LEN} characters: it "
                   "cannot be told from ordinary text in plans, and masking it hides ordinary "
                   "text wherever it appears; configure the real value")
            for name, secret in settings.secrets.items()
            if len(secret.get_secret_value()) < MIN_GLOBAL_SECRET_LEN]


def configured_url_secrets(settings: Settings) -> list[str]:
    """Passwords and tokens written into the configured URLs (LLM endpoint, HTTP tools, OPA,
    database): secret values like the ``[secrets]``, masked in the ledger and the logs.

    Only those long enough to mask everywhere (see :func:`tools.url_credentials.url_secrets`).
    """
    urls = [settings.llm.base_url, settings.opa_url, settings.database_url,
            *(raw.get("url") for raw in settings.http_tools)]
    return [secret for url in urls if isinstance(url, str) for secret in url_secrets(url)]


def http_tool_problems(settings: Settings) -> list[Problem]:
    """Register every ``[[tools.http]]`` table beside the built-in tools, as the server will;
    the problems of those that cannot be registered, or use a secret ``[secrets]`` lacks.

    The installed tool packages (entry point group ``baton.tools``) are not loaded: this
    check runs before every command, and loading them imports and runs their code, for
    commands that call no tool too. Their tools' names are known only once loaded (an entry
    point is a ``register(registry)`` callable that may add any number of tools, named as it
    likes), so a table named like one of them, and a secret one of them declares, are found
    where the registry is built (:attr:`baton.services.Services.registry`, with
    :func:`table_clashes` and :func:`unconfigured_secrets`).
    """
    from tools import ToolDefinitionError, ToolRegistry
    from tools.builtin import register_builtin_tools
    from tools.http_endpoint import load_http_tools

    registry = ToolRegistry()
    # Only their names are wanted: no tool runs, so the workspace is not resolved (a symbolic
    # link loop there is reported by directory_problem; resolving it raised RuntimeError).
    unresolved = settings.workspace or settings.data_dir / "workspace"
    register_builtin_tools(registry, workspace=unresolved)
    problems: list[Problem] = []
    for index, raw in enumerate(settings.http_tools):
        name = raw.get("name", "unnamed")  # validation made each table a dict
        clash = _clash(registry, index, raw)
        if clash is not None:
            problems.append(clash)
            continue
        try:
            load_http_tools(registry, [raw])
        except ToolDefinitionError as exc:
            problems.append((f"tools.http[{index}] ({name})", "; ".join(exc.problems)))
    return problems + unconfigured_secrets(registry, settings)


def table_clashes(registry: ToolRegistry, tables: Sequence[dict]) -> list[Problem]:
    """Each ``[[tools.http]]`` table named like a tool ``registry`` already holds (built-in or
    from an installed package): checked before the tables are registered on it."""
    return [clash for index, raw in enumerate(tables)
            if (clash := _clash(registry, index, raw)) is not None]


def _clash(registry: ToolRegistry, index: int, raw: dict) -> Problem | None:
    name = raw.get("name", "unnamed")
    if not (isinstance(name, str) and name in registry):
        return None
    return (f"tools.http[{index}] ({name})",
            f"{name!r} is already registered, as {_origin(registry, name)}; rename the table")


def _origin(registry: ToolRegistry, name: str) -> str:
    """Where the registered tool ``name`` comes from, in words."""
    spec = registry.get(name)
    if spec.endpoint_url is not None:
        return "another [[tools.http]] table"
    module = getattr(spec.fn, "__module__", None) or "?"
    if module == "tools" or module.startswith("tools."):
        return "a built-in tool"
    return (f"a tool from the installed package {module.split('.')[0]} "
            "(entry point group baton.tools)")


def unconfigured_secrets(registry: ToolRegistry, settings: Settings) -> list[Problem]:
    """(setting, problem) for each tool of ``registry`` declaring a secret that ``[secrets]``
    does not hold: a ``[[tools.http]]`` table, a tool from an installed package, any tool.

    Without this the tool registers, plans calling it pass validation, policy and approval,
    and only the run fails. A table is named as its table (a header's reference naming the
    header); another tool by its name and where it comes from. Only names, never values.
    """
    configured = set(settings.secrets)
    tables = {raw.get("name"): index for index, raw in enumerate(settings.http_tools)}
    problems: list[Problem] = []
    for spec in registry:
        missing = [name for name in spec.secrets if name not in configured]
        if not missing:
            continue
        index = tables.get(spec.name) if spec.endpoint_url is not None else None
        if index is not None:
            problems.append((f"tools.http[{index}] ({spec.name})",
                             "; ".join(_table_secret_problems(settings.http_tools[index],
                                                              missing))))
            continue
        listed = ", ".join(repr(name) for name in missing)
        declared = (f"secret {listed}, which is" if len(missing) == 1
                    else f"secrets {listed}, which are")
        problems.append(("secrets", f"{spec.name!r}, {_origin(registry, spec.name)}, declares "
                                    f"{declared} not configured under [secrets]"))
    return problems


def _table_secret_problems(raw: dict, missing: list[str]) -> list[str]:
    """Where the table ``raw`` uses each of its ``missing`` secrets: in a header (named), or
    only in its ``secrets`` list (registration refused a header's secret it does not list)."""
    from tools.builtin.http import SECRET_REF

    problems: list[str] = []
    in_headers: set[str] = set()
    for header, value in (raw.get("headers") or {}).items():
        for ref in SECRET_REF.findall(value):
            in_headers.add(ref)
            if ref in missing:
                problems.append(f"headers.{header} uses secret {ref!r}, which is not "
                                "configured under [secrets]")
    problems.extend(f"secrets lists {name!r}, which is not configured under [secrets]"
                    for name in missing if name not in in_headers)
    return problems
