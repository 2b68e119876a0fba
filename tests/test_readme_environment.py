"""The README's list of environment variables is the list the settings read."""

from __future__ import annotations

import re
from pathlib import Path

from baton.settings_environment import OPENAI_API_KEY, VARIABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_names_exactly_the_environment_variables_settings_read():
    text = README.read_text(encoding="utf-8")
    start = text.index("then these environment variables override them:")
    paragraph = text[start:text.index("Every other", start)]
    named = set(re.findall(r"`([A-Z_]+)`", paragraph))
    assert named == {*VARIABLES, OPENAI_API_KEY}
