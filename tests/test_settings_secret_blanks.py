"""A ``[secrets]`` value that starts or ends with a space is refused when settings load (a tab,
like any control character, already was).

Secrets are filled in headers only, and no header can carry a value with a blank at its
edge: the call failed at run time (``http_bad_header``) instead of the settings naming it.
"""

from __future__ import annotations

import json

import pytest

from baton.settings import ConfigError, Settings, load_settings


@pytest.mark.parametrize("value", ["s3cret-value-1 ", " s3cret-value-1", "  s3cret-value-1  "])
def test_a_secret_with_a_blank_at_its_edge_is_refused_naming_it_not_its_value(tmp_path, value):
    config = tmp_path / "baton.toml"
    config.write_text(f"[secrets]\nCRM_TOKEN = {json.dumps(value)}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert "secret 'CRM_TOKEN' starts or ends with a space" in message
    assert "s3cret" not in message


def test_a_blank_inside_a_secret_is_kept(tmp_path):
    settings = Settings(data_dir=tmp_path, secrets={"BASIC": "user pass word"})
    assert settings.secrets["BASIC"].get_secret_value() == "user pass word"
