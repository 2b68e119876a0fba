"""Settings: ``baton.toml`` (or ``BATON_CONFIG``) plus environment overrides.

Only the shell reads settings; it hands the parts below it what they need.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from tools import BatonError


class ConfigError(BatonError):
    """The configuration is missing, unreadable or invalid (exit code 2)."""

    code = "config_error"


class UnknownUserError(BatonError):
    """The acting user is not declared in the settings."""

    code = "unknown_user"


class User(BaseModel):
    """A person Baton knows, with the roles policies and the approval gate check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="User id, as given to --as or BATON_USER.")
    roles: tuple[str, ...] = Field(default=(), description="Roles, e.g. analyst, approver, admin.")
    token_sha256: tuple[str, ...] = Field(
        default=(), description="SHA-256 (64 hex digits) of the API bearer tokens that act as "
                                "this user; stored in lower case."
    )

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


def token_hash_problem(digest: str) -> str | None:
    """Why ``digest`` is not a token's SHA-256 as ``token_sha256`` holds it, if it is not."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        return None
    if re.fullmatch(r"[0-9a-fA-F]{64}", digest.strip()):
        return "remove the spaces around the hash"
    if re.fullmatch(r"[0-9a-fA-F]+", digest):
        return f"{len(digest)} hex digits; a SHA-256 has 64"
    return ("not a SHA-256 (64 hex digits); this looks like a raw token: put its SHA-256 "
            "here, `baton token` prints it")


# Upper bounds of durations: finite, and small enough to add to a date (approvals, leases).
MAX_APPROVAL_TTL_S = 10 * 365 * 24 * 3600  # 10 years
MAX_LEASE_S = 24 * 3600  # a day: a lease is renewed every few seconds while its owner lives
MAX_LLM_TIMEOUT_S = 3600  # an hour for one planning request, even from a slow local model


class LLMSettings(BaseModel):
    """How to reach an OpenAI-compatible endpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(default=None, description="Endpoint base URL; unset: no LLM.")
    model: str = Field(default="gpt-4o-mini", description="Model name.")
    api_key: SecretStr | None = Field(default=None, description="API key (never logged).")
    timeout_s: float = Field(default=60.0, gt=0, le=MAX_LLM_TIMEOUT_S, allow_inf_nan=False,
                             description="Per-request timeout in seconds (at most an hour).")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_repairs: int = Field(default=3, ge=1, le=10, description="Planning attempts in all.")
    max_tools_offered: int = Field(default=20, ge=1, description="Tools offered per goal.")

    @property
    def configured(self) -> bool:
        """True when an endpoint is set."""
        return bool(self.base_url)


class ExecutorSettings(BaseModel):
    """Limits and timings of the executor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concurrency: int = Field(default=4, ge=1, le=256, description="Steps running at once per run.")
    per_tool_concurrency: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="Per-tool limits: at most this many calls of a tool "
                                          "at once (at least 1).")
    lease_s: float = Field(default=30.0, gt=0, le=MAX_LEASE_S, allow_inf_nan=False,
                           description="How long a run owner's lease lasts, in seconds "
                                       "(at most a day).")
    artifact_threshold_bytes: int = Field(
        default=64 * 1024, ge=0, description="Outputs larger than this are stored as artifacts."
    )


class AuditSettings(BaseModel):
    """How the audit ledger is handed over."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cloudevents_source: str | None = Field(
        default=None, description="CloudEvents 'source' of exported events (a URI-reference); "
                                  "unset: baton:ledger:<hash of the ledger's first event>.")

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

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(default=Path(".baton"), description="Database, artifacts, workspace.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite.")
    workspace: Path | None = Field(default=None, description="Directory the files.* tools may use.")
    templates_dir: Path | None = Field(default=None, description="Extra plan templates (YAML).")
    policies_dir: Path | None = Field(default=None, description="Policies replacing the shipped ones.")
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
                                 description="How the audit ledger is exported ([audit]).")

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'baton.db').resolve()}"

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


def hash_token(token: str) -> str:
    """How API tokens are stored: SHA-256 hex of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_toml(user_id: str, roles: Iterable[str], token_sha256s: Iterable[str]) -> str:
    """The ``[users.ID]`` table of ``baton.toml`` declaring a user, its roles and token hashes."""
    return (f"[users.{toml_key(user_id)}]\nroles = {json.dumps(list(roles))}\n"
            f"token_sha256 = {json.dumps(list(token_sha256s))}\n")


def toml_key(key: str) -> str:
    """``key`` as written in TOML: bare when it can be, else quoted."""
    # JSON strings of plain text are valid TOML basic strings.
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


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


def load_settings(
    config_path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``baton.toml`` (explicit path, ``BATON_CONFIG``, or ./baton.toml) then the environment."""
    env = os.environ if environ is None else environ
    explicit = config_path or env.get("BATON_CONFIG")
    path = Path(explicit) if explicit else Path("baton.toml")
    raw: dict[str, Any] = {}
    if path.exists():
        raw = _read_toml(path)
    elif explicit:
        raise ConfigError(f"settings file {path} does not exist")
    origin = f" ({path})" if path.exists() else ""
    # Before the environment is merged in: a variable must not hide (or trip over) a bad section.
    layout = _layout_problems(raw)
    if layout:
        raise ConfigError(f"invalid settings{origin}: "
                          + "; ".join(f"{key}: {problem}" for key, problem in layout))
    raw = _normalise(raw, base=path.parent if path.exists() else Path.cwd())
    from_env: dict[str, str] = {}  # setting → the variable that set it, for error messages
    for var, keys in _ENV.items():
        if env.get(var):
            target = raw
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = env[var]
            from_env[".".join(keys)] = var
    if not (raw.get("llm", {}) or {}).get("api_key") and env.get("OPENAI_API_KEY"):
        raw.setdefault("llm", {})["api_key"] = env["OPENAI_API_KEY"]
        from_env["llm.api_key"] = "OPENAI_API_KEY"
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_named('.'.join(str(p) for p in err['loc']), from_env)}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings{origin}: {problems}") from exc
    from .settings_checks import check_settings

    found = [*check_settings(settings), *user_problems(settings)]
    if found:
        problems = "; ".join(f"{_named(key, from_env)}: {problem}" for key, problem in found)
        raise ConfigError(f"invalid settings{origin}: {problems}")
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    """The settings file's tables; an unreadable, non-UTF-8 or malformed file is a ConfigError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read settings file {path}: not UTF-8 text (byte "
                          f"0x{exc.object[exc.start]:02x} at offset {exc.start})") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc


# Settings written as TOML tables: [llm], [users.NAME], ... (checked before the env merges in).
_TABLES = ("llm", "executor", "audit", "users", "secrets", "policy", "tools")


def _layout_problems(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(setting, problem) for each part of the file that is not laid out as Baton reads it:
    a section that is not a table, a user that is not a table or names another id, a key of
    ``[policy]`` other than ``data`` (which would otherwise be dropped without a word)."""
    problems = [(key, f"must be a table ([{key}]), not {_kind(raw[key])}")
                for key in _TABLES if key in raw and not isinstance(raw[key], dict)]
    users = raw.get("users")
    if isinstance(users, dict):
        problems.extend(problem for uid, spec in users.items()
                        if (problem := _user_layout_problem(uid, spec)))
    policy = raw.get("policy")
    if isinstance(policy, dict):
        for key, value in policy.items():
            if key != "data":
                problems.append((f"policy.{key}", "not a setting; policy data goes under "
                                                  f"[policy.data] ({toml_key(key)} = ... there)"))
            elif not isinstance(value, dict):
                problems.append(("policy.data", f"must be a table ([policy.data]), not "
                                                f"{_kind(value)}"))
    return problems


def _user_layout_problem(uid: str, spec: Any) -> tuple[str, str] | None:
    """Why the ``[users.UID]`` entry cannot declare user ``uid``, if it cannot."""
    table = f"[users.{toml_key(uid)}]"
    if not isinstance(spec, dict):
        words = [spec] if isinstance(spec, str) else spec
        if isinstance(words, list) and all(isinstance(word, str) for word in words):
            roles = json.dumps(words)  # what a value beside the name most likely meant
        else:
            roles = '["analyst"]'
        return (f"users.{uid}", f"must be a table, not {_kind(spec)}; write {table} with "
                                f"roles = {roles}")
    if "id" in spec:
        return (f"users.{uid}", f"a user's id is the name of its table ({table}); remove "
                                f"id = {spec['id']!r}")
    return None


def _kind(value: Any) -> str:
    """What a TOML value is, in words, for an error message (never the value: it may be secret)."""
    if isinstance(value, bool):
        return "true or false"
    kinds = {str: "a string", int: "a number", float: "a number", list: "an array"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "a date or time")


def user_problems(settings: Settings) -> list[tuple[str, str]]:
    """(setting, problem) for each role no one defines and each token hash two users share."""
    known = known_roles(policy_data_in_force(settings))
    problems: list[tuple[str, str]] = []
    holders: dict[str, list[str]] = {}
    for uid, user in settings.users.items():
        problems.extend((f"users.{uid}.roles", problem)
                        for role in user.roles if (problem := role_problem(role, known)))
        for digest in dict.fromkeys(user.token_sha256):
            holders.setdefault(digest, []).append(uid)
    for uids in holders.values():
        if len(uids) > 1:  # the token would act as whichever user is declared first
            problems.append((", ".join(f"users.{uid}.token_sha256" for uid in uids),
                             f"one token hash is declared for {' and '.join(uids)}; give each "
                             "person their own token (`baton token USER`)"))
    return problems


def role_problem(role: str, known: list[str]) -> str | None:
    """Why ``role`` is not one of the ``known`` roles, if it is not."""
    if role in known:
        return None
    near = difflib.get_close_matches(role, known, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown role {role!r} ({hint}known roles: {', '.join(known)})"


def known_roles(policy_data: Mapping[str, Any]) -> list[str]:
    """The roles a user may hold, sorted: those of the role → action table, and any role the
    policy data gives tools (``role_tools``) or approval rights (``approval.roles``)."""
    from .usecases.permissions import ROLE_ACTIONS  # it imports this module

    roles = set(ROLE_ACTIONS)
    role_tools = policy_data.get("role_tools")
    if isinstance(role_tools, Mapping):
        roles.update(role for role in role_tools if isinstance(role, str))
    approval = policy_data.get("approval")
    approvers = approval.get("roles") if isinstance(approval, Mapping) else None
    if isinstance(approvers, list):
        roles.update(role for role in approvers if isinstance(role, str))
    return sorted(roles)


def policy_data_in_force(settings: Settings) -> Mapping[str, Any]:
    """The policy data the engine will read, as far as it names roles.

    The shipped data names only built-in roles, so only a ``policies_dir`` of one's own has
    its data file read here.
    """
    if settings.policies_dir is None:
        return settings.policy_data
    from policies.bundle import PolicyBundle, PolicyBundleError

    try:
        return PolicyBundle.load(settings.policies_dir, overrides=settings.policy_data).data
    except PolicyBundleError:  # reported by check_settings, or when the engine loads it
        return settings.policy_data


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
