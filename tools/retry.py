"""The retry policy value object that tools declare and steps may override."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RetryPolicy(BaseModel):
    """How often and how patiently a failed call is tried again (retryable errors only)."""

    # Strict: "5" and true are not read as 5 and 1 (a plan's retry, a tool's mapping); a
    # whole number is still a number of seconds or a fraction.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    max_attempts: int = Field(
        default=3, ge=1, le=100, description="Total attempts including the first one."
    )
    initial_backoff_s: float = Field(
        default=0.5, ge=0, le=3600, description="Wait before the second attempt, in seconds."
    )
    multiplier: float = Field(
        default=2.0, ge=1.0, le=10.0, description="Each later wait is the previous one times this."
    )
    max_backoff_s: float = Field(
        default=30.0, ge=0, le=86400, description="Upper bound on any single wait, in seconds."
    )
    jitter: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Fraction of the wait drawn at random (seeded by run, step and attempt).",
    )

    @model_validator(mode="after")
    def _backoff_bounds(self) -> "RetryPolicy":
        if self.max_backoff_s < self.initial_backoff_s:
            raise ValueError("max_backoff_s must be at least initial_backoff_s")
        return self


NO_RETRY = RetryPolicy(max_attempts=1, initial_backoff_s=0, max_backoff_s=0, jitter=0)
