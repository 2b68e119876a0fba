"""Registration refuses metadata of the wrong type, and its errors say which tool, which
option, which package.

A lone string where names are expected became one name per character (``tags="egress"``
lost the egress tag the policies match on); a retry mapping was stored as a mapping and
crashed the run at its first retry; ``idempotent="no"`` counted as true; ``region=5``
broke ``tools list``. Each is now a ``ToolDefinitionError`` naming the tool and the option.
"""

from __future__ import annotations

import pytest

from tests.tools.test_registry import make_distribution, site_dir  # noqa: F401 - fixture
from tools import BatonError, RetryPolicy, ToolDefinitionError, ToolRegistry


def lookup(customer_id: str) -> str:
    """Look a customer up."""
    return customer_id


def refused(**options: object) -> ToolDefinitionError:
    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(lookup, name="crm.lookup", **options)
    assert "'crm.lookup'" in str(caught.value)
    return caught.value


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("secrets", "CRM_TOKEN", "secrets must be a list of names, not a string"),
    ("tags", "egress", "tags must be a list of names, not a string"),
    ("tags", {"egress": True}, "tags must be a list of names"),
    ("secrets", ["CRM_TOKEN", 5], "secrets[1] must be a non-empty string, got 5"),
    ("tags", [""], "tags[0] must be a non-empty string, got ''"),
    ("idempotent", "no", "idempotent must be True or False, got 'no'"),
    ("sends_idempotency_key", 1, "sends_idempotency_key must be True or False, got 1"),
    ("region", 5, "region must be a non-empty string or None, got 5"),
    ("region", "", "region must be a non-empty string or None, got ''"),
    ("retry", "fast", "retry must be a RetryPolicy or a mapping of its fields, got 'fast'"),
    ("retry", {"max_attempts": 0}, "retry.max_attempts: Input should be greater than or equal"),
    ("retry", {"attempts": 5}, "retry.attempts: Extra inputs are not permitted"),
    ("effect_from_args", "write", "effect_from_args must be callable or None"),
    ("timeout_from_args", 30, "timeout_from_args must be callable or None"),
    ("description", 5, "description must be a string or None, got 5"),
])
def test_an_option_of_the_wrong_type_is_refused_naming_the_tool_and_the_option(option, value,
                                                                              expected):
    problems = refused(**{option: value}).problems
    assert any(expected in problem for problem in problems), problems


def test_every_wrong_option_is_reported_at_once():
    problems = refused(secrets="CRM_TOKEN", tags="egress", idempotent="no", region=5,
                       retry={"max_attempts": 0}, timeout_s=0).problems
    for option in ("secrets", "tags", "idempotent", "region", "retry", "timeout_s"):
        assert any(problem.startswith(option) for problem in problems), (option, problems)


def test_a_retry_mapping_becomes_a_retry_policy():
    spec = ToolRegistry().register_function(lookup, name="crm.lookup",
                                            retry={"max_attempts": 5, "initial_backoff_s": 1})
    assert spec.retry == RetryPolicy(max_attempts=5, initial_backoff_s=1)
    assert spec.info().retry == spec.retry


def test_well_typed_options_are_kept_as_given():
    spec = ToolRegistry().register_function(
        lookup, name="crm.lookup", secrets=("CRM_TOKEN",), tags=["egress", "crm"],
        idempotent=True, sends_idempotency_key=False, region="eu", retry=None)
    assert (spec.secrets, spec.tags, spec.idempotent, spec.region, spec.retry) == (
        ("CRM_TOKEN",), ("egress", "crm"), True, "eu", RetryPolicy())
    assert spec.info().region == "eu"


def test_a_tool_name_that_is_not_a_string_is_refused():
    with pytest.raises(ToolDefinitionError, match="tool name 5 must be"):
        ToolRegistry().register_function(lookup, name=5)  # type: ignore[arg-type]


# --- what the errors name ---------------------------------------------------------------


def test_an_error_names_the_tool_not_only_the_function_defined_inside_register():
    registry = ToolRegistry()

    def register(registry: ToolRegistry) -> None:
        @registry.tool("crm.bad")
        def bad(x) -> int:  # noqa: ANN001 - deliberately untyped
            """Bad."""
            return 1

    with pytest.raises(ToolDefinitionError) as caught:
        register(registry)
    assert str(caught.value).startswith(
        "cannot register 'crm.bad' (function test_an_error_names_the_tool_not_only_the_function"
        "_defined_inside_register.<locals>.register.<locals>.bad) as a tool:")


def test_a_parameter_with_a_leading_underscore_is_refused_clearly():
    def private(_customer_id: str, __scope: str = "all") -> str:
        """Private names."""
        return _customer_id

    with pytest.raises(ToolDefinitionError) as caught:
        ToolRegistry().register_function(private, name="crm.private")
    text = "\n".join(caught.value.problems)
    assert "parameter '_customer_id': a name starting with '_' cannot be an argument" in text
    assert "'__scope'" in text


def test_a_duplicate_name_says_which_function_registered_it_first():
    registry = ToolRegistry()
    registry.register_function(lookup, name="crm.lookup")
    with pytest.raises(ToolDefinitionError) as caught:
        registry.register_function(lookup, name="crm.lookup")
    assert caught.value.problems == [
        f"a tool named 'crm.lookup' is already registered, by {lookup.__module__}.lookup"]


PACKAGE = '''
    def register(registry):
        @registry.tool("crm.lookup")
        def lookup(customer_id: str) -> str:
            """Look a customer up."""
            return customer_id
'''


def test_a_duplicate_name_from_a_package_names_both_entry_points(site_dir):  # noqa: F811
    first = make_distribution(site_dir, "crm_first", PACKAGE)
    second = make_distribution(site_dir, "crm_second", PACKAGE)
    with pytest.raises(BatonError) as caught:
        ToolRegistry().load_entry_points()
    message = str(caught.value)
    # Which one loads first is up to importlib.metadata: the later one fails, naming both.
    later, earlier = ("crm_first", "crm_second") if "'crm_first'" in message.split(":")[0] else (
        "crm_second", "crm_first")
    modules = {"crm_first": first, "crm_second": second}
    assert message.startswith(f"tool package entry point '{later}' ({modules[later]}:register) "
                              "failed to load:")
    assert (f"already registered, by tool package entry point '{earlier}' "
            f"({modules[earlier]}:register)") in message


def test_a_definition_error_in_a_package_names_its_entry_point(site_dir):  # noqa: F811
    module = make_distribution(site_dir, "crm_tools", '''
        def register(registry):
            @registry.tool("crm.bad")
            def bad(x) -> int:
                """Bad."""
    ''')
    with pytest.raises(BatonError) as caught:
        ToolRegistry().load_entry_points()
    message = str(caught.value)
    assert message.startswith(f"tool package entry point 'crm_tools' ({module}:register) "
                              "failed to load: cannot register 'crm.bad' (function "
                              "register.<locals>.bad) as a tool:")
    assert "parameter 'x' has no type annotation" in message
    assert caught.value.code == "tool_entry_point"
