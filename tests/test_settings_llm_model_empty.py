"""``[llm] model`` (``BATON_LLM_MODEL``) names a model: an empty or blank one is a configuration
problem naming the setting, and no configuration the LLM planner refuses leaves Services as a
pydantic traceback (the CLI's exit 1, the API's 500)."""

from __future__ import annotations

import httpx
import pytest

from baton.services import Services
from baton.settings import ConfigError, LLMSettings, load_settings

from tests.api.live import make_settings, serve, token_of


def settings_from(tmp_path, llm: str, environ: dict[str, str] | None = None):
    path = tmp_path / "baton.toml"
    path.write_text(f'[llm]\nbase_url = "http://127.0.0.1:9/v1"\n{llm}\n', encoding="utf-8")
    return load_settings(path, environ=environ or {})


@pytest.mark.parametrize("model", ['""', '"   "', '"\\t"'])
def test_an_empty_or_blank_model_in_the_file_is_refused_naming_it(tmp_path, model):
    with pytest.raises(ConfigError) as refused:
        settings_from(tmp_path, f"model = {model}")
    message = refused.value.message
    assert "baton.toml" in message and "llm.model: " in message and "empty" in message


def test_a_blank_model_from_the_environment_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError) as refused:
        settings_from(tmp_path, 'model = "m"', {"BATON_LLM_MODEL": "  "})
    assert "llm.model (BATON_LLM_MODEL): " in refused.value.message


def test_a_model_name_is_kept_as_written(tmp_path):
    assert settings_from(tmp_path, 'model = "qwen2.5:7b"').llm.model == "qwen2.5:7b"


def unplannable(tmp_path):
    """Services whose LLM settings got past validation (built in code) but the planner refuses."""
    llm = LLMSettings.model_construct(**{**LLMSettings().__dict__,
                                         "base_url": "http://127.0.0.1:9/v1", "model": ""})
    return Services(make_settings(tmp_path, llm=llm))


def test_a_configuration_the_planner_refuses_is_a_config_error_naming_the_setting(tmp_path):
    with pytest.raises(ConfigError) as refused:
        unplannable(tmp_path).llm_planner  # noqa: B018 - built on first use
    message = refused.value.message
    assert message.startswith("invalid settings: llm.model: ") and "pydantic" not in message


def test_the_api_answers_it_as_a_config_error_not_a_500(tmp_path):
    live = serve(unplannable(tmp_path))
    try:
        with httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {token_of('alice')}"}) as alice:
            answer = alice.post("/plans", json={"goal": "Total sales.csv", "planner": "llm"})
    finally:
        live.stop()
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["code"] == "config_error" and "llm.model: " in error["message"]
    assert "pydantic" not in answer.text
