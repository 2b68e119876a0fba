"""A small tool registry with varied input/output shapes, for validator and planner tests.

The shapes cover what the validator must reason about: nested models ($defs),
nullable fields, lists of models, open objects, ``Any``, wrapped scalar
returns, an argument named like a BaseModel attribute (``json``), and an
input model that allows extra keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools import ToolRegistry


class FileContent(BaseModel):
    """A file's content."""

    path: str = Field(description="Path.")
    text: str = Field(description="Content.")
    bytes: int = Field(description="Size.")


class Aggregate(BaseModel):
    """An aggregate."""

    value: float | None = Field(description="Overall value.")
    groups: dict[str, float] | None = Field(description="Per group.")
    rows: int = Field(description="Row count.")


class Response(BaseModel):
    """An HTTP response."""

    status: int = Field(description="Status code.")
    headers: dict[str, str] = Field(description="Headers.")
    body: Any = Field(default=None, description="Parsed body.")


class Address(BaseModel):
    """Where someone lives."""

    city: str = Field(description="City.")
    zip: str = Field(description="Postal code.")


class Person(BaseModel):
    """Someone."""

    name: str = Field(description="Name.")
    age: int = Field(description="Age.")
    tags: list[str] = Field(description="Labels.")
    address: Address | None = Field(description="Home, if known.")


class People(BaseModel):
    """A list of people."""

    people: list[Person] = Field(description="Everyone.")


class LooseInput(BaseModel):
    """Input that tolerates extra keys (the validator must still flag unknown arguments)."""

    model_config = ConfigDict(extra="allow")

    a: int = Field(description="A number.")


def make_registry() -> ToolRegistry:
    """A fresh registry holding the test tools."""
    registry = ToolRegistry()

    @registry.tool("files.read")
    def files_read(path: str) -> FileContent:
        """Read a file."""
        return FileContent(path=path, text="", bytes=0)

    @registry.tool("table.aggregate")
    def table_aggregate(
        column: str,
        op: Literal["sum", "mean", "count"],
        csv: str | None = None,
        rows: list[dict[str, Any]] | None = None,
        group_by: str | None = None,
    ) -> Aggregate:
        """Aggregate a column."""
        return Aggregate(value=0.0, groups=None, rows=0)

    @registry.tool("http.post", effect="write")
    def http_post(url: str, json: Any = None, timeout_s: float | None = None, count: int = 1) -> Response:
        """Post JSON."""
        return Response(status=200, headers={})

    @registry.tool("people.list")
    def people_list() -> People:
        """List people."""
        return People(people=[])

    @registry.tool("stats.mean")
    def stats_mean(values: list[float]) -> float:
        """Mean of numbers."""
        return 0.0

    @registry.tool("emit.ints")
    def emit_ints(n: int) -> list[int]:
        """The first n integers."""
        return list(range(n))

    @registry.tool("text.upper")
    def text_upper(text: str) -> str:
        """Upper-case text."""
        return text.upper()

    @registry.tool("flag.set")
    def flag_set(on: bool, names: list[str] | None = None, person: Person | None = None) -> bool:
        """Set a flag."""
        return on

    @registry.tool("free.dict")
    def free_dict() -> dict[str, Any]:
        """An open object."""
        return {}

    @registry.tool("loose.call", input_model=LooseInput)
    def loose_call(params: LooseInput) -> int:
        """Takes extras."""
        return params.a

    return registry
