"""A long example goal that fails its template is quoted cut, not whole, in the refusal."""

from __future__ import annotations

import pytest

from baton.usecases.templates import _check_examples
from planner.templates import Template, TemplateError

LONG = "summarise the sales " + "very " * 4000 + "carefully"


def test_an_example_goal_that_misses_is_quoted_cut(services):
    template = Template.model_validate({
        "name": "tiny", "description": "d", "patterns": ["copy {src} to {dst}"],
        "example_goals": [LONG],
        "params": [{"name": "src"}, {"name": "dst"}],
        "plan": {"steps": [{"id": "load", "tool": "files.read", "args": {"path": "{{src}}"}}]}})
    with pytest.raises(TemplateError) as caught:
        _check_examples(services, template)
    message = caught.value.message
    assert "…" in message and len(message) < 1000, len(message)
