"""Settings: ``baton.toml`` (or ``BATON_CONFIG``) plus environment overrides.

Only the shell reads settings; it hands the parts below it what they need. This module holds
the ``Settings`` contract, its users and :func:`read_settings`, which takes each source and
check from a module of its own: the file (``settings_file``), the environment
(``settings_environment``), the ``[llm]``, ``[executor]`` and ``[audit]`` tables
(``settings_sections``), the users table (``settings_users``: token hashes, roles), the
policy data (``settings_policy_data``), paths, URLs and HTTP tools against the machine
(``settings_checks``). Settings read from a file remember it (``source``): a long-running
process reads the users again when it changes (``settings_reload``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from tools import BatonError

from tools.secret_names import secret_name_problem
from tools.value_kinds import strictness_said

from .settings_sections import (
    MAX_APPROVAL_TTL_S,
    SETTINGS_CONFIG,
    AuditSettings,
    ExecutorSettings,
    LLMSettings,
    first_control_character,
)

# The [audit] table's check is also the API's, which imports it from here.
from .settings_sections import checked_cloudevents_source as checked_cloudevents_source
from .settings_users import (
    MAX_USER_ID_CHARS,
    builtin_role_warnings,
    hash_token,
    token_hash_problem,
    user_id_problem,
    user_problems,
)

# The users table's checks live in settings_users; callers import these from here.
from .settings_users import known_roles as known_roles
from .settings_users import policy_data_in_force as policy_data_in_force
from .settings_users import role_problem as role_problem
from .settings_users import toml_key as toml_key
from .settings_users import user_toml as user_toml

if TYPE_CHECKING:
    from .settings_reload import SettingsSource


#: The shortest ``web_secret``: a key, not a word (``openssl rand -hex 32`` gives 64).
MIN_WEB_SECRET_CHARS = 16


class ConfigError(BatonError):
    """The configuration is missing, unreadable or invalid (exit code 2)."""

    code = "config_error"


class UnknownUserError(BatonError):
    """The acting user is not declared in the settings."""

    code = "unknown_user"


class User(BaseModel):
    """A person Baton knows, with the roles policies and the approval gate check."""

    model_config = SETTINGS_CONFIG

    id: str = Field(description="User id, as given to --as or BATON_USER; at most "
                                f"{MAX_USER_ID_CHARS} characters.")
    roles: tuple[str, ...] = Field(default=(), strict=False,
                                   description="Roles, e.g. analyst, approver, admin.")
    token_sha256: tuple[str, ...] = Field(
        default=(), strict=False,
        description="SHA-256 (64 hex digits) of the API bearer tokens that act as this user; "
                    "stored in lower case."
    )

    @field_validator("id")
    @classmethod
    def _recordable(cls, uid: str) -> str:
        # A settings file's ids were checked as its layout was; this is for settings made in code.
        problem = user_id_problem(uid)
        if problem:
            raise PydanticCustomError("user_id", "{problem}", {"problem": problem})
        return uid

    @field_validator("token_sha256")
    @classmethod
    def _sha256_hex(cls, digests: tuple[str, ...]) -> tuple[str, ...]:
        # Either case is hex (PowerShell's Get-FileHash prints upper case); hash_token's lower
        # case is what a presented token is compared with, so store that.
        for number, digest in enumerate(digests, start=1):
            problem = token_hash_problem(digest)
            if problem:  # never the value itself: it may be the token
                raise PydanticCustomError("token_sha256", "entry {number}: {problem}",
                                          {"number": number, "problem": problem})
        return tuple(digest.lower() for digest in digests)


class Settings(BaseModel):
    """Everything the shell needs to build Baton's parts."""

    model_config = SETTINGS_CONFIG

    data_dir: Path = Field(default=Path(".baton"), strict=False,
                           description="Database, artifacts, workspace.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite.")
    workspace: Path | None = Field(default=None, strict=False,
                                   description="Directory the files.* tools may use.")
    templates_dir: Path | None = Field(default=None, strict=False,
                                       description="Extra plan templates (YAML).")
    policies_dir: Path | None = Field(default=None, strict=False,
                                      description="Policies replacing the shipped ones.")
    opa_url: str | None = Field(default=None, description="OPA server URL; unset: embedded Rego.")
    approval_ttl_s: float = Field(default=7 * 24 * 3600, gt=0, le=MAX_APPROVAL_TTL_S,
                                  allow_inf_nan=False,
                                  description="Approval lifetime in seconds (at most 10 years).")
    max_steps: int = Field(default=200, ge=1, description="Largest plan the validator accepts.")
    http_max_response_bytes: int = Field(default=5 * 1024 * 1024, ge=1, description="Body cap.")
    user: str | None = Field(default=None, description="Acting CLI user (BATON_USER or --as).")
    users: dict[str, User] = Field(default_factory=dict, description="Known users by id.")
    secrets: dict[str, SecretStr] = Field(default_factory=dict, description="Tool secrets by name.")
    web_secret: SecretStr | None = Field(
        default=None,
        description="Key of the web pages' form, sign-in and message signatures, the same for "
                    "every server of one database (BATON_WEB_SECRET; never logged); unset: a "
                    "random key kept in <data_dir>/web_secret.key.")
    policy_data: dict[str, Any] = Field(default_factory=dict, description="Merged over shipped data.")
    http_tools: list[dict[str, Any]] = Field(
        default_factory=list, description="HTTP endpoints registered as tools ([[tools.http]])."
    )
    llm: LLMSettings = Field(default_factory=LLMSettings,
                             description="The LLM planner's endpoint and limits ([llm]).")
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings,
                                       description="Executor limits and timings ([executor]).")
    audit: AuditSettings = Field(default_factory=AuditSettings,
                                 description="How the audit ledger is exported and verified "
                                             "([audit]).")
    # Where ``read_settings`` read these from (a ``settings_reload.SettingsSource``); None
    # for settings built in code. Not a setting: nothing validates or dumps it.
    _source: Any = PrivateAttr(default=None)

    @property
    def source(self) -> SettingsSource | None:
        """The file and environment these settings were read from, and how the file looked
        then (None: built in code); ``settings_reload`` reads the users again from it."""
        return self._source

    @field_validator("data_dir", "workspace", "templates_dir", "policies_dir")
    @classmethod
    def _path_holds_no_nul(cls, path: Path | None) -> Path | None:
        """A NUL, which no file name can hold, is refused here, for every path setting alike.

        The system is never asked about such a path: ``Path.exists`` answered False (so
        "does not exist") and ``resolve`` or ``os.stat`` raised ValueError later.
        """
        if path is not None and "\0" in str(path):
            raise PydanticCustomError("path_nul", "{problem}", {
                "problem": "the path holds a NUL character (U+0000), which no file name can "
                           "hold"})
        return path

    @field_validator("http_tools")
    @classmethod
    def _tables_share_the_response_cap(cls, tables: list[dict[str, Any]],
                                       info: ValidationInfo) -> list[dict[str, Any]]:
        """A ``[[tools.http]]`` table without its own ``max_response_bytes`` takes
        ``http_max_response_bytes``, as ``http.request`` does (each had its own 5 MiB)."""
        cap = info.data.get("http_max_response_bytes")  # absent: that field failed validation
        if cap is None:
            return tables
        return [{"max_response_bytes": cap, **table} for table in tables]

    @field_validator("secrets")
    @classmethod
    def _secrets_hold_no_control_characters(
            cls, secrets: dict[str, SecretStr]) -> dict[str, SecretStr]:
        """A secret holding a line break, NUL or other control character, or starting or
        ending with a space, is refused.

        No header can carry one: the HTTP client refused it quoting the value in its error,
        which no masking matched, and retried. A trailing newline, left by a value read from
        a file or the environment, is the common case.
        """
        for name, secret in secrets.items():
            found = first_control_character(secret.get_secret_value())
            if found is not None:  # named by its code point, never the value
                raise PydanticCustomError("secret_control_character", "{problem}", {
                    "problem": f"secret {name!r} holds a control character (U+{ord(found):04X}); "
                               "a value read from a file or the environment often ends with "
                               "a newline: strip it"})
            if secret.get_secret_value().strip(" ") != secret.get_secret_value():
                # Filled in headers only, and a header's value cannot start or end with one.
                raise PydanticCustomError("secret_space", "{problem}", {
                    "problem": f"secret {name!r} starts or ends with a space, which no "
                               "HTTP header can carry: strip it"})
        return secrets

    @field_validator("secrets")
    @classmethod
    def _secret_names_can_be_referenced(
            cls, secrets: dict[str, SecretStr]) -> dict[str, SecretStr]:
        """A ``[secrets]`` key no ``${secret:NAME}`` can write (``"MY TOKEN"``) is refused: a
        header naming it was sent as written, the placeholder in place of the secret."""
        for name in secrets:
            problem = secret_name_problem(name)
            if problem:
                raise PydanticCustomError("secret_name", "{problem}", {"problem": problem})
        return secrets

    @field_validator("web_secret")
    @classmethod
    def _web_secret_is_a_key(cls, secret: SecretStr | None) -> SecretStr | None:
        """A ``web_secret`` shorter than ``MIN_WEB_SECRET_CHARS`` is refused, saying neither
        the value nor its length."""
        if secret is not None and len(secret.get_secret_value()) < MIN_WEB_SECRET_CHARS:
            raise PydanticCustomError("web_secret_short", "{problem}", {
                "problem": f"must be a key of at least {MIN_WEB_SECRET_CHARS} characters "
                           "(`openssl rand -hex 32` makes one)"})
        return secret

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        # Built, not formatted: a data_dir holding %, ? or # must be quoted, or the URL
        # would be read back as another path (d%41ta as dAta) or cut at its query.
        from sqlalchemy.engine import URL

        path = str((self.data_dir / "baton.db").resolve())
        return URL.create("sqlite", database=path).render_as_string(hide_password=False)

    @property
    def resolved_workspace(self) -> Path:
        """The files.* workspace, defaulting to ``<data_dir>/workspace``."""
        return (self.workspace or self.data_dir / "workspace").resolve()

    def user_named(self, user_id: str | None) -> User:
        """The declared user ``user_id``; refuses unknown or missing users."""
        if not user_id:
            raise UnknownUserError("no acting user: pass --as USER or set BATON_USER")
        try:
            return self.users[user_id]
        except KeyError:
            known = ", ".join(sorted(self.users)) or "none declared"
            problem = user_id_problem(user_id)  # no [users.ID] may declare it: say why instead
            fix = problem or f"declare it under [users.{toml_key(user_id)}]"
            raise UnknownUserError(
                f"unknown user {user_id!r} (known users: {known}); {fix}") from None

    def user_for_token(self, token: str) -> User | None:
        """The user whose hashed token matches ``token``, if any."""
        digest = hash_token(token)
        for user in self.users.values():
            if digest in user.token_sha256:
                return user
        return None


def settings_path(config_path: Path | str | None = None,
                  environ: Mapping[str, str] | None = None) -> Path:
    """The settings file ``load_settings`` reads: explicit path, ``BATON_CONFIG``, or ./baton.toml."""
    env = os.environ if environ is None else environ
    return Path(config_path or env.get("BATON_CONFIG") or "baton.toml")


def load_settings(
    config_path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``baton.toml`` (explicit path, ``BATON_CONFIG``, or ./baton.toml) then the environment."""
    env = os.environ if environ is None else environ
    explicit = bool(config_path or env.get("BATON_CONFIG"))
    return read_settings(settings_path(config_path, env), required=explicit, environ=env)


def read_settings(path: Path, *, required: bool, environ: Mapping[str, str]) -> Settings:
    """Read the settings file ``path`` (a ConfigError when ``required`` and missing), then the
    variables of ``environ``; the settings remember both, and how the file looked, as their
    ``source`` (a running server reads its users again from it when the file changes)."""
    # Each source and check in a module of its own, imported here: not for `baton --help`.
    from .settings_checks import check_settings, short_secret_warnings, shown_path
    from .settings_environment import apply_environment, settings_variables
    from .settings_file import layout_problems, normalise, read_settings_file
    from .settings_policy_data import policies_problems, policy_data_problems
    from .settings_reload import SettingsSource
    from .usecases.permissions import role_table  # it imports this module

    mark, tables = read_settings_file(path, required=required)
    origin = f" ({shown_path(path)})" if tables is not None else ""
    raw = tables or {}
    # Before the environment is merged in: a variable must not hide (or trip over) a bad section.
    layout = layout_problems(raw)
    if layout:
        raise _invalid(origin, layout, {})
    raw = normalise(raw, base=path.absolute().parent if tables is not None else Path.cwd())
    from_env, unconverted = apply_environment(raw, environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(origin, [*unconverted, *_validation_problems(exc)], from_env) from exc
    if unconverted:
        raise _invalid(origin, unconverted, from_env)
    in_force = policy_data_in_force(settings)  # a policies_dir's data file is read once
    found = [*check_settings(settings), *policy_data_problems(settings.policy_data),
             *user_problems(settings, in_force)]
    # The policies are compiled with these settings' data: only once the rest is sound.
    found += policies_problems(settings.policies_dir, settings.policy_data,
                               embedded=settings.opa_url is None, compile_them=not found)
    if found:
        raise _invalid(origin, found, from_env)
    # Accepted, but worth saying: a built-in role that cannot approve named as approver (plans
    # would wait for it), a secret too short to find in plans.
    _warn(origin, "role", builtin_role_warnings(in_force))
    _warn(origin, "secret", short_secret_warnings(settings))
    # Only the variables read above: the settings are read again as this process started.
    settings._source = SettingsSource(path=path.absolute(), required=required, mark=mark,
                                      environ=settings_variables(environ),
                                      role_table=role_table(in_force))
    return settings


def _warn(origin: str, field: str, found: list[tuple[str, str]]) -> None:
    """Log each (name, why) of ``found`` once per load, on stderr (never a ``--json`` stdout),
    the name under ``field``."""
    if not found:
        return
    import structlog

    log = structlog.get_logger("baton.settings")
    for name, why in found:
        log.warning(f"settings{origin}: {why}", **{field: name})


def _validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(setting, problem) for each of ``exc``'s errors.

    A wrong-type error says which kind of value was written when strictness is what refused
    it (true as a number, "4" quoted): "Input should be a valid integer" alone reads as
    nonsense beside a quoted 4. The kind only, never the value: it may be a secret.
    """
    return [(".".join(str(part) for part in err["loc"]), err["msg"] + strictness_said(err))
            for err in exc.errors()]


def _invalid(origin: str, problems: list[tuple[str, str]],
             from_env: Mapping[str, str]) -> ConfigError:
    """One error listing every (setting, problem), each setting with the variable that set it."""
    return ConfigError(f"invalid settings{origin}: " + "; ".join(
        f"{_named(key, from_env)}: {problem}" for key, problem in problems))


def _named(setting: str, from_env: Mapping[str, str]) -> str:
    """``setting``, with the environment variable that set it, if one did."""
    return f"{setting} ({from_env[setting]})" if setting in from_env else setting


__all__ = ["AuditSettings", "ConfigError", "ExecutorSettings", "LLMSettings", "Settings",
           "UnknownUserError", "User", "checked_cloudevents_source", "hash_token", "known_roles",
           "load_settings", "policy_data_in_force", "read_settings", "role_problem",
           "settings_path", "token_hash_problem", "toml_key", "user_problems", "user_toml"]
