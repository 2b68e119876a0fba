"""Environment overrides of the settings file: each ``BATON_*`` variable (and
``OPENAI_API_KEY``) and the setting it sets, its text converted to that setting's type.

Imported when settings are read, not by ``baton --help``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .settings import Settings

#: Each variable, and the setting it overrides (a path of field names).
VARIABLES: dict[str, tuple[str, ...]] = {
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
    "BATON_EXECUTOR_DRAIN_GRACE": ("executor", "drain_grace_s"),
    "BATON_AUDIT_CLOUDEVENTS_SOURCE": ("audit", "cloudevents_source"),
    "BATON_WEB_SECRET": ("web_secret",),
}

#: The OpenAI SDK's own variable: the API key when neither the file nor BATON_LLM_API_KEY gives one.
OPENAI_API_KEY = "OPENAI_API_KEY"


def apply_environment(raw: dict[str, Any], environ: Mapping[str, str],
                      ) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Set the value of each variable ``environ`` gives into ``raw`` (the file's settings,
    normalised: a copy of its own, changed in place). Returns the setting → the variable that
    set it (for error messages), and (setting, problem) for each value that is not of its
    setting's type (left out of ``raw``, reported with the file's problems)."""
    from_env: dict[str, str] = {}
    unconverted: list[tuple[str, str]] = []
    for var, keys in VARIABLES.items():
        if not environ.get(var):
            continue
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
    if not (raw.get("llm", {}) or {}).get("api_key") and environ.get(OPENAI_API_KEY):
        raw.setdefault("llm", {})["api_key"] = environ[OPENAI_API_KEY]
        from_env["llm.api_key"] = OPENAI_API_KEY
    return from_env, unconverted


def settings_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` the settings read, and only those: what reading the
    settings again, as this process started, needs."""
    return {var: environ[var] for var in (*VARIABLES, OPENAI_API_KEY) if var in environ}


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


__all__ = ["OPENAI_API_KEY", "VARIABLES", "apply_environment", "settings_variables"]
