"""What kind of value a configuration file wrote, in words, for an error message.

Here, at the bottom of the layers, so that the ``[[tools.http]]`` tables and the settings
(``baton``) word a wrong-type value alike. The kind only, never the value: a value written
in the wrong place may be a secret.
"""

from __future__ import annotations

from typing import Any

# The values a TOML file or an environment variable can give a field, whose kind
# :func:`kind_in_words` names (dates and times aside: they are never the wrong type's hint).
TOML_KINDS = (bool, str, int, float, list, tuple, dict)


def kind_in_words(value: Any) -> str:
    """What a TOML value is, in words ("a string", "true or false", ...)."""
    if isinstance(value, bool):
        return "true or false"
    kinds = {str: "a string", int: "a number", float: "a number", list: "an array",
             tuple: "an array", dict: "a table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "a date or time")


def strictness_said(error: Any) -> str:
    """``", not a string"`` after a pydantic wrong-type error that strictness raised (true as
    a number, "4" quoted, 1 as a boolean; empty otherwise): "Input should be a valid boolean" alone does not
    say why ``"no"`` is not one."""
    given = error.get("input")
    if error["type"] == "int_type" and isinstance(given, float):  # 4.0 where a count belongs
        whole = given.is_integer() and abs(given) < 1e15  # (a huge one prints as 1e+16: no hint)
        return ", not a decimal number" + (f" (write {int(given)})" if whole else "")
    if error["type"].endswith("_type") and isinstance(given, TOML_KINDS):
        return f", not {kind_in_words(given)}"  # 1 where true belongs: "a number"
    return ""
