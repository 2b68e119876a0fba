"""The tables of the settings beside the users and the policy data: ``[llm]`` (the planner's
endpoint and its limits), ``[executor]`` and ``[audit]``; and what every settings model shares
(strict validation, the bounds of durations, the refusal of control characters).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_core import PydanticCustomError

# Every settings model is strict: a value of baton.toml must already be of its setting's
# type. Lax validation converted true to 1 and "4" to 4, so a typo loaded as a number.
# An int is still a float. TOML has no path or tuple type: those fields say strict=False, to
# take a string or an array. The environment is text: ``read_settings`` converts each
# ``BATON_*`` variable to its setting's type before validation (``settings_environment``).
SETTINGS_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True)


# Upper bounds of durations: finite, and small enough to add to a date (approvals, leases).
MAX_APPROVAL_TTL_S = 10 * 365 * 24 * 3600  # 10 years
MAX_LEASE_S = 24 * 3600  # a day: a lease is renewed every few seconds while its owner lives
# A second: the owner renews every third of its lease (at most every second), and a shorter one
# lapses whenever a commit or a tool holds the loop a moment: a live run is taken over.
MIN_LEASE_S = 1
MAX_LLM_TIMEOUT_S = 3600  # an hour for one planning request, even from a slow local model
MAX_VERIFY_COOLDOWN_S = 24 * 3600  # a day: longer would hide a tampered ledger from its readers
# A day, a tool call's longest timeout (tools.registry.MAX_TIMEOUT_S): past it a drain's grace
# waits for nothing, every call in flight having timed out.
MAX_DRAIN_GRACE_S = 24 * 3600
# An invalid reply sent back whole for repair: below 1,000 characters not even a short plan
# goes back as written; past 10,000,000 the request outgrows any model's context.
MIN_ECHOED_REPLY_CHARS, MAX_ECHOED_REPLY_CHARS = 1_000, 10_000_000


def first_control_character(text: str) -> str | None:
    """The first line break, NUL or other control character in ``text``; None if it has none."""
    return next((char for char in text if unicodedata.category(char) == "Cc"), None)


class LLMSettings(BaseModel):
    """How to reach an OpenAI-compatible endpoint."""

    model_config = SETTINGS_CONFIG

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

    @field_validator("model")
    @classmethod
    def _model_named(cls, model: str) -> str:
        """An empty or blank name is refused here: the planner cannot ask for no model, and
        failed later, on the first plan, as a traceback."""
        if not model.strip():
            raise PydanticCustomError("model_empty", "{problem}", {
                "problem": "the model name is empty; name the model the endpoint serves "
                           "(such as gpt-4o-mini)"})
        return model

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
        control = first_control_character(value)
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

    model_config = SETTINGS_CONFIG

    concurrency: int = Field(default=4, ge=1, le=256, description="Steps running at once per run.")
    per_tool_concurrency: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="Per-tool limits: at most this many calls of a tool "
                                          "at once within one run, not across runs or "
                                          "workers (at least 1).")
    lease_s: float = Field(default=30.0, ge=MIN_LEASE_S, le=MAX_LEASE_S, allow_inf_nan=False,
                           description="How long a run owner's lease lasts, in seconds "
                                       "(at least a second, at most a day).")
    # The default is executor.draining.DEFAULT_GRACE_S, written out: settings import no executor.
    drain_grace_s: float = Field(
        default=5.0, ge=0, le=MAX_DRAIN_GRACE_S, allow_inf_nan=False,
        description="Seconds the calls in flight get to end when a process stops on a signal "
                    "(serve, worker, run, resume): their results are recorded, the rest of the "
                    "run is left for another owner; 0: left at once (at most a day).")
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

    model_config = SETTINGS_CONFIG

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


__all__ = ["MAX_APPROVAL_TTL_S", "MAX_DRAIN_GRACE_S", "MAX_ECHOED_REPLY_CHARS", "MAX_LEASE_S",
           "MAX_LLM_TIMEOUT_S", "MAX_VERIFY_COOLDOWN_S", "MIN_ECHOED_REPLY_CHARS", "MIN_LEASE_S",
           "SETTINGS_CONFIG", "ArtifactStoreKind", "AuditSettings", "ExecutorSettings",
           "LLMSettings", "checked_cloudevents_source", "first_control_character"]
