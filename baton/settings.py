"""Settings: ``baton.toml`` (or ``BATON_CONFIG``) plus environment overrides.

Only the shell reads settings; it hands the parts below it what they need. The users
table (token hashes, roles) is checked in ``settings_users``; paths, URLs and HTTP tools
against the machine in ``settings_checks``. Settings read from a file remember it (``source``):
a long-running process reads the users again when it changes (``settings_reload``).
"""

from __future__ import annotations

import os
import sys
import tomllib
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from tools import BatonError

from tools.value_kinds import kind_in_words, strictness_said

from .settings_users import (
    MAX_USER_ID_CHARS,
    builtin_role_warnings,
    hash_token,
    token_hash_problem,
    toml_key,
    user_id_problem,
    user_layout_problem,
    user_problems,
)

# The users table's checks live in settings_users; callers import these from here.
from .settings_users import known_roles as known_roles
from .settings_users import policy_data_in_force as policy_data_in_force
from .settings_users import role_problem as role_problem
from .settings_users import user_toml as user_toml

if TYPE_CHECKING:
    from .settings_reload import SettingsSource


class ConfigError(BatonError):
    """The configuration is missing, unreadable or invalid (exit code 2)."""

    code = "config_error"


class UnknownUserError(BatonError):
    """The acting user is not declared in the settings."""

    code = "unknown_user"


# Every settings model is strict: a value of baton.toml must already be of its setting's
# type. Lax validation converted true to 1 and "4" to 4, so a typo loaded as a number.
# An int is still a float. TOML has no path or tuple type: those fields say strict=False, to
# take a string or an array. The environment is text: ``load_settings`` converts each
# ``BATON_*`` variable to its setting's type before validation (``_from_environment``).
_SETTINGS_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True)


class User(BaseModel):
    """A person Baton knows, with the roles policies and the approval gate check."""

    model_config = _SETTINGS_CONFIG

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


# Upper bounds of durations: finite, and small enough to add to a date (approvals, leases).
MAX_APPROVAL_TTL_S = 10 * 365 * 24 * 3600  # 10 years
MAX_LEASE_S = 24 * 3600  # a day: a lease is renewed every few seconds while its owner lives
MAX_LLM_TIMEOUT_S = 3600  # an hour for one planning request, even from a slow local model
MAX_VERIFY_COOLDOWN_S = 24 * 3600  # a day: longer would hide a tampered ledger from its readers
# An invalid reply sent back whole for repair: below 1,000 characters not even a short plan
# goes back as written; past 10,000,000 the request outgrows any model's context.
MIN_ECHOED_REPLY_CHARS, MAX_ECHOED_REPLY_CHARS = 1_000, 10_000_000


def _first_control_character(text: str) -> str | None:
    """The first line break, NUL or other control character in ``text``; None if it has none."""
    return next((char for char in text if unicodedata.category(char) == "Cc"), None)


class LLMSettings(BaseModel):
    """How to reach an OpenAI-compatible endpoint."""

    model_config = _SETTINGS_CONFIG

    base_url: str | None = Field(default=None, description="Endpoint base URL; unset: no LLM.")
    model: str = Field(default="gpt-4o-mini", description="Model name.")
    api_key: SecretStr | None = Field(default=None, description="API key (never logged).")
    timeout_s: float = Field(default=60.0, gt=0, le=MAX_LLM_TIMEOUT_S, allow_inf_nan=False,
                             description="Per-request timeout in seconds (at most an hour).")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_repairs: int = Field(default=3, ge=1, le=10, description="Planning attempts in all.")
    max_tools_offered: int = Field(default=20, ge=1, description="Tools offered per goal.")
    retries: int = Field(default=3, ge=0, le=10,
                         description="Retries of one request after a timeout, a lost connection "
                                     "or HTTP 408/429/5xx, before the endpoint is reported "
                                     "unreachable (0 to 10).")
    max_backoff_s: float = Field(default=30.0, gt=0, le=MAX_LLM_TIMEOUT_S, allow_inf_nan=False,
                                 description="Longest wait between two tries of one request, in "
                                             "seconds, a Retry-After included: an endpoint "
                                             "asking for a longer one is not tried again "
                                             "(at most an hour).")
    max_echoed_reply_chars: int = Field(
        default=32_000, ge=MIN_ECHOED_REPLY_CHARS, le=MAX_ECHOED_REPLY_CHARS,
        description="Longest invalid reply, in characters, sent back whole to the model for "
                    "repair; a longer one is cut to its beginning and quoted by the steps its "
                    "problems name (1,000 to 10,000,000).")

    @field_validator("api_key")
    @classmethod
    def _key_fits_a_header(cls, key: SecretStr | None) -> SecretStr | None:
        """A key no ``Authorization`` header can carry is refused here, named by its code point.

        Sent, the HTTP client refused it before any request left, which read as an unreachable
        endpoint (after every retry) or a reply that is not JSON.
        """
        if key is None:
            return key
        value = key.get_secret_value()
        control = _first_control_character(value)
        if control is not None:
            raise PydanticCustomError("api_key_control_character", "{problem}", {
                "problem": f"the API key holds a control character (U+{ord(control):04X}); a value "
                           "read from a file or the environment often ends with a newline: strip it"})
        outside = next((char for char in value if not char.isascii()), None)
        if outside is not None:
            raise PydanticCustomError("api_key_not_ascii", "{problem}", {
                "problem": f"the API key holds a non-ASCII character (U+{ord(outside):04X}), which "
                           "no HTTP header can carry: was something pasted with it?"})
        if value != value.strip():  # the header would end (or start) with it: refused too
            raise PydanticCustomError("api_key_space", "{problem}", {
                "problem": "the API key holds a space at its start or end, which no HTTP header can "
                           "carry: strip it"})
        return key

    @property
    def configured(self) -> bool:
        """True when an endpoint is set."""
        return bool(self.base_url)


ArtifactStoreKind = Literal["auto", "database", "files"]


class ExecutorSettings(BaseModel):
    """Limits and timings of the executor."""

    model_config = _SETTINGS_CONFIG

    concurrency: int = Field(default=4, ge=1, le=256, description="Steps running at once per run.")
    per_tool_concurrency: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="Per-tool limits: at most this many calls of a tool "
                                          "at once within one run, not across runs or "
                                          "workers (at least 1).")
    lease_s: float = Field(default=30.0, gt=0, le=MAX_LEASE_S, allow_inf_nan=False,
                           description="How long a run owner's lease lasts, in seconds "
                                       "(at most a day).")
    artifact_threshold_bytes: int = Field(
        default=64 * 1024, ge=0, description="Outputs larger than this are stored as artifacts."
    )
    artifact_store: ArtifactStoreKind = Field(
        default="auto", description="Where artifacts are kept: 'database' (rows every worker "
                                    "reads, on any machine), 'files' (under data_dir/artifacts) "
                                    "or 'auto' (database on PostgreSQL, files on SQLite).")

    def artifacts_in_database(self, dialect: str) -> bool:
        """Whether artifacts are kept as rows of a database of ``dialect`` (its SQLAlchemy name)."""
        if self.artifact_store == "auto":
            return dialect == "postgresql"  # several machines share it; SQLite serves one
        return self.artifact_store == "database"


class AuditSettings(BaseModel):
    """How the audit ledger is handed over, and how often a reader may verify it whole."""

    model_config = _SETTINGS_CONFIG

    cloudevents_source: str | None = Field(
        default=None, description="CloudEvents 'source' of exported events (a URI-reference); "
                                  "unset: baton:ledger:<hash of the ledger's first event>.")
    verify_cooldown_s: float = Field(
        default=10.0, ge=0, le=MAX_VERIFY_COOLDOWN_S, allow_inf_nan=False,
        description="Seconds a user waits, after a full ledger verification they started over "
                    "HTTP (API or web page) ends, before starting another; 0: no wait "
                    "(at most a day).")

    @field_validator("cloudevents_source")
    @classmethod
    def _uri_reference(cls, value: str | None) -> str | None:
        return None if value is None else checked_cloudevents_source(value)


def checked_cloudevents_source(value: str) -> str:
    """``value``, if it is a CloudEvents ``source``; else a pydantic error saying why."""
    from executor.ledger_export import cloudevents_source_problem  # the executor is heavy to import

    problem = cloudevents_source_problem(value)
    if problem:
        raise PydanticCustomError("cloudevents_source", "{problem}", {"problem": problem})
    return value


class Settings(BaseModel):
    """Everything the shell needs to build Baton's parts."""

    model_config = _SETTINGS_CONFIG

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
        """A secret holding a line break, NUL or other control character is refused.

        No header can carry one: the HTTP client refused it quoting the value in its error,
        which no masking matched, and retried. A trailing newline, left by a value read from
        a file or the environment, is the common case.
        """
        for name, secret in secrets.items():
            found = _first_control_character(secret.get_secret_value())
            if found is not None:  # named by its code point, never the value
                raise PydanticCustomError("secret_control_character", "{problem}", {
                    "problem": f"secret {name!r} holds a control character (U+{ord(found):04X}); "
                               "a value read from a file or the environment often ends with "
                               "a newline: strip it"})
        return secrets

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
            raise UnknownUserError(
                f"unknown user {user_id!r} (known users: {known}); declare it under [users.{user_id}]"
            ) from None

    def user_for_token(self, token: str) -> User | None:
        """The user whose hashed token matches ``token``, if any."""
        digest = hash_token(token)
        for user in self.users.values():
            if digest in user.token_sha256:
                return user
        return None


_ENV = {
    "BATON_DATA_DIR": ("data_dir",),
    "BATON_DATABASE_URL": ("database_url",),
    "BATON_WORKSPACE": ("workspace",),
    "BATON_TEMPLATES_DIR": ("templates_dir",),
    "BATON_POLICIES_DIR": ("policies_dir",),
    "BATON_OPA_URL": ("opa_url",),
    "BATON_USER": ("user",),
    "BATON_LLM_BASE_URL": ("llm", "base_url"),
    "BATON_LLM_MODEL": ("llm", "model"),
    "BATON_LLM_API_KEY": ("llm", "api_key"),
    "BATON_LLM_TIMEOUT": ("llm", "timeout_s"),
    "BATON_AUDIT_CLOUDEVENTS_SOURCE": ("audit", "cloudevents_source"),
}


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
    from tools.file_marks import file_mark, is_absent

    from .settings_checks import shown_path
    from .settings_reload import SettingsSource

    try:  # before reading: a file changed while it is read is read again
        mark = file_mark(path)
    except OSError as exc:  # e.g. under a directory that cannot be searched, or a link loop
        raise ConfigError(f"cannot read settings file {shown_path(path)}: "
                          f"{exc.strerror or type(exc).__name__}") from exc
    exists = not is_absent(mark)
    if required and not exists:
        raise ConfigError(f"settings file {shown_path(path)} does not exist")
    if exists:  # only a regular file: a device or a pipe would be read without end
        from planner.loading import file_problem

        problem = file_problem(path, "settings file")
        if problem is not None:
            raise ConfigError(problem)
    raw = _read_toml(path) if exists else {}
    origin = f" ({shown_path(path)})" if exists else ""
    # Before the environment is merged in: a variable must not hide (or trip over) a bad section.
    layout = _layout_problems(raw)
    if layout:
        raise _invalid(origin, layout, {})
    raw = _normalise(raw, base=path.absolute().parent if exists else Path.cwd())
    from_env: dict[str, str] = {}  # setting → the variable that set it, for error messages
    unconverted: list[tuple[str, str]] = []  # reported with the file's problems
    for var, keys in _ENV.items():
        if environ.get(var):
            from_env[".".join(keys)] = var
            try:
                value = _from_environment(keys, environ[var])
            except ValidationError as exc:
                unconverted.extend((".".join(keys), err["msg"]) for err in exc.errors())
                continue
            target = raw
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = value
    if not (raw.get("llm", {}) or {}).get("api_key") and environ.get("OPENAI_API_KEY"):
        raw.setdefault("llm", {})["api_key"] = environ["OPENAI_API_KEY"]
        from_env["llm.api_key"] = "OPENAI_API_KEY"
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(origin, [*unconverted, *_validation_problems(exc)], from_env) from exc
    if unconverted:
        raise _invalid(origin, unconverted, from_env)
    from .settings_checks import check_settings
    from .settings_policy_data import policies_problems, policy_data_problems

    in_force = policy_data_in_force(settings)  # a policies_dir's data file is read once
    found = [*check_settings(settings), *policy_data_problems(settings.policy_data),
             *user_problems(settings, in_force)]
    # The policies are compiled with these settings' data: only once the rest is sound.
    found += policies_problems(settings.policies_dir, settings.policy_data,
                               embedded=settings.opa_url is None, compile_them=not found)
    if found:
        raise _invalid(origin, found, from_env)
    _warn_of_builtin_approvers(in_force, origin)
    # Only the variables read above: the settings are read again as this process started.
    settings._source = SettingsSource(
        path=path.absolute(), required=required, mark=mark,
        environ={var: environ[var] for var in (*_ENV, "OPENAI_API_KEY") if var in environ})
    return settings


def _warn_of_builtin_approvers(policy_data: Mapping[str, Any], origin: str) -> None:
    """Warn, once per load, of each built-in role ``approval.roles`` names that cannot approve
    (``settings_users.builtin_role_warnings``): accepted, but plans would wait for it."""
    found = builtin_role_warnings(policy_data)
    if not found:
        return
    import structlog

    log = structlog.get_logger("baton.settings")
    for role, why in found:
        log.warning(f"settings{origin}: {why}", role=role)


def _from_environment(keys: tuple[str, ...], text: str) -> Any:
    """The variable's ``text`` as a value of the setting at ``keys`` (``BATON_LLM_TIMEOUT=30``
    a number), converted as lax validation converts; ValidationError when it is none.

    The settings models are strict, for the file's sake; a variable is text by nature.
    Bounds are left to the models' validation, which reports them with the file's problems.
    """
    model: Any = Settings
    for key in keys[:-1]:
        model = model.model_fields[key].annotation
    return TypeAdapter(model.model_fields[keys[-1]].annotation).validate_python(text,
                                                                               strict=False)


def _validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(setting, problem) for each of ``exc``'s errors.

    A wrong-type error says which kind of value was written when strictness is what refused
    it (true as a number, "4" quoted): "Input should be a valid integer" alone reads as
    nonsense beside a quoted 4. The kind only, never the value: it may be a secret.
    """
    return [(".".join(str(part) for part in err["loc"]), err["msg"] + strictness_said(err))
            for err in exc.errors()]


#: The most a settings file may hold: far past any list of users and policy data, and
#: small enough that reading the wrong file (a log, a database) cannot exhaust memory.
MAX_SETTINGS_BYTES = 4 * 1024 * 1024


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


# Settings written as TOML tables: [llm], [users.NAME], ... (checked before the env merges in).
_TABLES = ("llm", "executor", "audit", "users", "secrets", "policy", "tools")


def _layout_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
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


def _invalid(origin: str, problems: list[tuple[str, str]],
             from_env: Mapping[str, str]) -> ConfigError:
    """One error listing every (setting, problem), each setting with the variable that set it."""
    return ConfigError(f"invalid settings{origin}: " + "; ".join(
        f"{_named(key, from_env)}: {problem}" for key, problem in problems))


def _named(setting: str, from_env: Mapping[str, str]) -> str:
    """``setting``, with the environment variable that set it, if one did."""
    return f"{setting} ({from_env[setting]})" if setting in from_env else setting


def _normalise(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Map the TOML layout onto ``Settings``: [users.X], [policy.data], relative paths."""
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
    for key in ("data_dir", "workspace", "templates_dir", "policies_dir"):
        if isinstance(raw.get(key), str) and not Path(raw[key]).is_absolute():
            raw[key] = str(base / raw[key])
    return raw
