"""The tool registry: deriving tools from functions, lookups and entry-point discovery."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from tools import (
    NO_RETRY,
    BatonError,
    Effect,
    RetryPolicy,
    ToolContext,
    ToolDefinitionError,
    ToolRegistry,
    UnknownToolError,
)

CTX = ToolContext(idempotency_key="run-1:step-1", run_id="run-1", step_id="step-1")


def run(registry: ToolRegistry, name: str, args: dict[str, Any], ctx: ToolContext = CTX) -> dict:
    return asyncio.run(registry.get(name).invoke(args, ctx))


class Total(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: float = Field(description="The sum.")


def test_sync_function_becomes_a_tool_with_docstring_descriptions_and_defaults():
    registry = ToolRegistry()

    @registry.tool("math.add", effect="read", idempotent=True, timeout_s=5, tags=["pure"])
    def add(a: float, b: float = 1.5) -> Total:
        """Add two numbers.

        Args:
            a: The first number.
            b: The second number,
                which defaults to one and a half.
        """
        return Total(total=a + b)

    assert add(1, 2).total == 3  # the decorator returns the function unchanged
    spec = registry.get("math.add")
    schema = spec.input_schema()
    assert spec.description == "Add two numbers."
    assert schema["properties"]["a"]["description"] == "The first number."
    assert schema["properties"]["b"]["description"] == "The second number, which defaults to one and a half."
    assert schema["properties"]["b"]["default"] == 1.5
    assert schema["required"] == ["a"]
    assert schema["additionalProperties"] is False
    assert spec.output_schema()["properties"]["total"]["description"] == "The sum."
    assert (spec.effect, spec.idempotent, spec.timeout_s, spec.tags) == (Effect.READ, True, 5.0, ("pure",))
    assert run(registry, "math.add", {"a": 2}) == {"total": 3.5}


def test_async_function_gets_the_context_which_the_schema_hides():
    registry = ToolRegistry()
    seen: list[ToolContext] = []

    @registry.tool("ctx.echo", retry=NO_RETRY)
    async def echo(text: str, context: ToolContext) -> str:
        """Echo text with the idempotency key.

        Args:
            text: What to echo.
        """
        seen.append(context)
        return f"{text}@{context.idempotency_key}"

    spec = registry.get("ctx.echo")
    assert list(spec.input_schema()["properties"]) == ["text"]
    assert run(registry, "ctx.echo", {"text": "hi"}) == {"value": "hi@run-1:step-1"}
    assert seen == [CTX]
    assert spec.retry == NO_RETRY
    assert spec.output_schema()["properties"]["value"]["type"] == "string"


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")

    term: str = Field(description="Search term.")


class Hits(BaseModel):
    hits: list[str] = Field(description="Matches.")


def test_input_and_output_models_can_be_given_explicitly():
    registry = ToolRegistry()

    def search(query: Query, ctx: ToolContext) -> dict:
        """Search things."""
        return {"hits": [query.term.upper(), ctx.step_id]}

    registry.register_function(search, name="things.search", input_model=Query, output_model=Hits)
    spec = registry.get("things.search")
    assert spec.input_model is Query and spec.output_model is Hits
    assert spec.input_schema()["properties"]["term"]["description"] == "Search term."
    assert run(registry, "things.search", {"term": "x"}) == {"hits": ["X", "step-1"]}


def test_argument_that_the_tool_does_not_take_is_refused():
    registry = ToolRegistry()

    @registry.tool("t.one")
    def one(a: int) -> int:
        """One."""
        return a

    with pytest.raises(ValueError, match="extra"):
        run(registry, "t.one", {"a": 1, "b": 2})


def test_bad_signature_reports_every_problem_at_once_naming_the_function():
    registry = ToolRegistry()

    def broken(a, *rest, b: object = None, **kw):  # noqa: ANN001 - deliberately untyped
        """Args:
            ghost: Not a parameter.
        """

    with pytest.raises(ToolDefinitionError) as caught:
        registry.register_function(broken, name="Bad Name", effect="delete", timeout_s=0)
    error = caught.value
    assert "broken" in str(error)
    text = "\n".join(error.problems)
    for expected in ("'a' has no type annotation", "'rest'", "'kw'", "'ghost'", "effect 'delete'",
                     "timeout_s must be positive", "tool name 'Bad Name'", "no description",
                     "return annotation"):
        assert expected in text, expected
    assert len(error.problems) >= 9
    assert "Bad Name" not in registry


def test_return_none_and_unserialisable_types_are_reported():
    registry = ToolRegistry()

    def nothing(handle: Path | int, sock: type) -> None:
        """Does nothing useful."""

    with pytest.raises(ToolDefinitionError) as caught:
        registry.register_function(nothing, name="t.nothing")
    text = "\n".join(caught.value.problems)
    assert "'sock'" in text and "returns None" in text


def test_duplicate_names_are_refused():
    registry = ToolRegistry()

    def first() -> int:
        """First."""
        return 1

    registry.register_function(first, name="t.dup")
    with pytest.raises(ToolDefinitionError, match="already registered"):
        registry.register_function(first, name="t.dup")
    with pytest.raises(ToolDefinitionError, match="already registered"):
        registry.add(registry.get("t.dup"))
    assert len(registry) == 1


def test_unknown_tool_suggests_the_closest_names():
    registry = ToolRegistry()
    for name in ("files.read", "files.write", "http.request"):
        registry.register_function(lambda: 1, name=name, description="x", output_model=Total)
    with pytest.raises(UnknownToolError) as caught:
        registry.get("files.reed")
    assert caught.value.suggestions[0] == "files.read"
    assert "did you mean: files.read" in str(caught.value)
    assert registry.names() == ["files.read", "files.write", "http.request"]
    assert [s.name for s in registry] == registry.names()


def test_info_carries_retry_and_secrets_for_policies():
    registry = ToolRegistry()
    policy = RetryPolicy(max_attempts=5, initial_backoff_s=1, max_backoff_s=10)

    @registry.tool("slack.post", effect=Effect.WRITE, retry=policy, secrets=["SLACK_TOKEN"])
    def post(channel: str) -> bool:
        """Post to Slack."""
        return True

    info = registry.get("slack.post").info()
    assert info.retry == policy and info.secrets == ("SLACK_TOKEN",)
    assert info.effect is Effect.WRITE and not info.effect_depends_on_args
    assert "SLACK_TOKEN" not in str(info.input_schema)


def test_a_tool_declares_that_it_sends_the_key_and_a_deadline_from_its_arguments():
    registry = ToolRegistry()

    @registry.tool("ledger.post", effect=Effect.WRITE, sends_idempotency_key=True,
                   timeout_from_args=lambda args: args.get("wait_s"))
    def post(wait_s: float = 1.0) -> bool:
        """Post an entry; the ledger service drops a repeat of the step's key."""
        return True

    spec = registry.get("ledger.post")
    assert spec.sends_idempotency_key and spec.declared_timeout_s({"wait_s": 90}) == 90.0
    for unusable in (None, float("nan"), float("inf"), 0, -1, "90", True):
        assert spec.declared_timeout_s({"wait_s": unusable}) is None
    info = spec.info()
    assert info.sends_idempotency_key and info.timeout_depends_on_args
    plain = registry.register_function(post, name="x.plain")
    assert not plain.sends_idempotency_key and plain.declared_timeout_s({}) is None
    assert not plain.info().sends_idempotency_key and not plain.info().timeout_depends_on_args


# --- entry points ---------------------------------------------------------------------------


def make_distribution(root: Path, entry: str, module_source: str) -> str:
    """Write a throwaway installed distribution (dist-info + module) under ``root``."""
    module = f"baton_test_tools_{uuid.uuid4().hex[:8]}"
    dist = root / f"{module}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[baton.tools]\n{entry} = {module}:register\n")
    (root / f"{module}.py").write_text(textwrap.dedent(module_source))
    return module


@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        if name.startswith("baton_test_tools_"):
            del sys.modules[name]


def test_entry_points_register_tools_from_an_installed_package(site_dir):
    make_distribution(site_dir, "weather", '''
        """A tool package."""
        from tools import ToolRegistry

        def register(registry: ToolRegistry) -> None:
            @registry.tool("weather.today", tags=["demo"])
            def today(city: str) -> str:
                """Today's weather.

                Args:
                    city: City name.
                """
                return f"sunny in {city}"
    ''')
    registry = ToolRegistry()
    added = registry.load_entry_points()
    assert "weather.today" in added
    assert run(registry, "weather.today", {"city": "Oslo"}) == {"value": "sunny in Oslo"}


def test_broken_entry_point_is_a_baton_error_naming_it(site_dir):
    make_distribution(site_dir, "broken_pkg", '''
        def register(registry):
            raise RuntimeError("database not reachable")
    ''')
    with pytest.raises(BatonError) as caught:
        ToolRegistry().load_entry_points()
    assert "'broken_pkg'" in str(caught.value) and "database not reachable" in str(caught.value)


def test_entry_point_to_a_missing_module_is_a_baton_error(site_dir):
    dist = site_dir / "ghost_tools-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ghost-tools\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[baton.tools]\nghost = no_such_module_xyz:register\n")
    with pytest.raises(BatonError, match="'ghost'.*no_such_module_xyz"):
        ToolRegistry().load_entry_points()


class Scores(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: list[dict[str, float]] = Field(description="Scores per row.")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_float_in_an_output_is_refused_naming_the_field(bad):
    # Stored as it was, NaN made run rows and the ledger non-standard JSON (audit export broke).
    from tools import ToolError

    registry = ToolRegistry()

    @registry.tool("x.score")
    def score() -> float:
        """Score."""
        return bad

    @registry.tool("x.rows")
    def rows() -> Scores:
        """Rows."""
        return Scores(rows=[{"a": 1.0}, {"b": bad}])

    @registry.tool("x.any")
    def anything() -> Any:
        """Anything."""
        return {"deep": [1, {"x": bad}]}

    for name, field in (("x.score", "value"), ("x.rows", "rows[1].b"),
                        ("x.any", "value.deep[1].x")):
        with pytest.raises(ToolError) as caught:
            run(registry, name, {})
        assert not caught.value.retryable
        assert f"output field {field} is {bad!r}" in str(caught.value), str(caught.value)
        assert name in str(caught.value)


def test_returns_raises_and_yields_sections_stay_out_of_the_description():
    # Their headings were dropped and their text read as part of the description.
    from tools import parse_docstring

    summary, args = parse_docstring("""Count things.

    Longer text.

    Args:
        a: the input.

    Returns:
        The count of things.

    Raises:
        ValueError: when a is empty.

    Note:
        Counting is case-sensitive.

    Yields:
        Nothing at all.
    """)
    assert summary == "Count things.\n\nLonger text.\n\nNote:\n    Counting is case-sensitive."
    assert args == {"a": "the input."}
