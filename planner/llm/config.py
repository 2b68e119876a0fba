"""How the LLM planner reaches its endpoint: a frozen value the shell builds from settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tools.url_credentials import MIN_GLOBAL_SECRET_LEN, hide_url_credentials, url_secrets


class LLMConfig(BaseModel):
    """Endpoint, model and limits of the LLM planner (the planner never reads settings itself)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1, description="Base URL of the OpenAI-compatible endpoint.")
    model: str = Field(min_length=1, description="Model name sent with every request.")
    api_key: SecretStr | None = Field(
        default=None, description="API key; local servers need none. Never logged or traced."
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Time limit of one HTTP request.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="Candidate plans asked for, repairs included."
    )
    max_tools_offered: int = Field(
        default=20, ge=1, description="Most tools shown to the model; larger catalogues are ranked."
    )
    max_steps: int = Field(default=200, ge=1, description="Largest plan validation accepts.")
    max_echoed_reply_chars: int = Field(
        default=32_000, ge=0,
        description="Longest invalid reply sent back whole for repair; a longer one is quoted "
        "by the steps its problems name (the model's context is limited).",
    )
    max_transport_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of one request after a transient error."
    )
    backoff_s: float = Field(
        default=0.5, ge=0, description="First retry delay; doubles on every further retry."
    )
    max_backoff_s: float = Field(default=30.0, ge=0, description="Upper bound of one retry delay.")
    capability_cache: Path | None = Field(
        default=None,
        description="JSON file remembering which response_format each endpoint supports.",
    )
    prompt_secrets: tuple[SecretStr, ...] = Field(
        default=(),
        description="Configured secret values (Baton's [secrets], credentials in configured "
        "URLs): masked, however short, in every message sent to the model.",
    )

    @property
    def endpoint_key(self) -> str:
        """What capabilities are remembered under (and written to a file): base URL and model."""
        return f"{self.shown_url.rstrip('/')}#{self.model}"

    @property
    def shown_url(self) -> str:
        """The base URL for messages, logs and traces: credentials in it shown as ``***``."""
        return hide_url_credentials(self.base_url)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """What is masked in error texts and recorded exchanges: the key, the URL's credentials."""
        key = (self.api_key.get_secret_value(),) if self.api_key is not None else ()
        return (*key, *url_secrets(self.base_url))

    @property
    def plan_secret_values(self) -> tuple[str, ...]:
        """What is masked in the model's plan: the secret values long enough to mask in any text.

        Local servers document placeholder keys ("ollama", "EMPTY"); masked inside a plan
        they would rewrite ordinary words of it.
        """
        return tuple(s for s in self.secret_values if len(s) >= MIN_GLOBAL_SECRET_LEN)

    @property
    def prompt_secret_values(self) -> tuple[str, ...]:
        """What is masked in every message sent to the model: every configured secret value,
        and the key and the URL's credentials when long enough to mask in any text."""
        key = self.api_key.get_secret_value() if self.api_key is not None else None
        # The endpoint holds its own key: a short one (a placeholder) stays an ordinary word.
        configured = (s.get_secret_value() for s in self.prompt_secrets)
        return (*(s for s in configured if s and s != key), *self.plan_secret_values)

    def describe(self) -> str:
        """Endpoint and model for error messages (never the key nor the URL's credentials)."""
        return f"endpoint {self.shown_url} (model {self.model})"
