"""A model whose computed field ends the process (``SystemExit``) when it is written: an
output that runs code of its tool's own, which must run off the event loop and fail only its
attempt."""

from __future__ import annotations

from pydantic import BaseModel, computed_field


class Exiting(BaseModel):
    n: int = 1

    @computed_field(repr=False)  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:  # (its repr, where a failing test shows the value, leaves it out)
        raise SystemExit("computed field gave up")
