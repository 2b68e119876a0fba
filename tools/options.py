"""The metadata options of a tool registration, checked before they are stored.

Policies and the executor read these as typed values, so a wrong type does harm far from
where it was written: a lone string where names are expected becomes one name per
character (``tags="egress"`` loses the egress tag the policies match on), a retry mapping
crashes a run at its first retry, ``idempotent="no"`` is true. Each check appends what is
wrong, naming the option, to ``problems`` (every problem is reported at once) and returns
the value to store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from .retry import RetryPolicy


def names_option(option: str, value: object, problems: list[str]) -> tuple[str, ...]:
    """``value`` as names: a list or tuple of non-empty strings."""
    if isinstance(value, str):
        problems.append(f"{option} must be a list of names, not a string: write [{value!r}]")
        return ()
    if not isinstance(value, list | tuple):
        problems.append(f"{option} must be a list of names, got {type(value).__name__}")
        return ()
    for index, item in enumerate(value):
        if not (isinstance(item, str) and item):
            problems.append(f"{option}[{index}] must be a non-empty string, got {item!r}")
    return tuple(value)


def flag_option(option: str, value: object, problems: list[str]) -> bool:
    """``value`` as a bool: only ``True`` or ``False`` (any object is truthy, ``"no"`` too)."""
    if not isinstance(value, bool):
        problems.append(f"{option} must be True or False, got {value!r}")
        return False
    return value


def retry_option(value: object, problems: list[str]) -> RetryPolicy:
    """``value`` as a :class:`RetryPolicy`: one, a mapping of its fields, or None (the default)."""
    if value is None:
        return RetryPolicy()
    if isinstance(value, RetryPolicy):
        return value
    if not isinstance(value, Mapping):
        problems.append(f"retry must be a RetryPolicy or a mapping of its fields, got {value!r}")
        return RetryPolicy()
    try:
        return RetryPolicy.model_validate(dict(value))
    except ValidationError as exc:
        problems.extend(f"retry{''.join(f'.{part}' for part in error['loc'])}: {error['msg']}"
                        for error in exc.errors())
        return RetryPolicy()


def region_option(value: object, problems: list[str]) -> str | None:
    """``value`` as a region: a non-empty string, or None for a tool whose data lives nowhere."""
    if value is None or (isinstance(value, str) and value):
        return value
    problems.append(f"region must be a non-empty string or None, got {value!r}")
    return None


def text_option(option: str, value: object, problems: list[str]) -> str | None:
    """``value`` as an optional text (``description``, ``endpoint_url``)."""
    if value is None or isinstance(value, str):
        return value
    problems.append(f"{option} must be a string or None, got {value!r}")
    return None


def callable_option(option: str, value: object,
                    problems: list[str]) -> Callable[..., Any] | None:
    """``value`` as an optional callable (``effect_from_args``, ``timeout_from_args``)."""
    if value is None or callable(value):
        return value
    problems.append(f"{option} must be callable or None, got {type(value).__name__}")
    return None
