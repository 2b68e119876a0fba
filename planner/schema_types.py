"""Static reasoning over JSON Schemas: walking field paths and checking that one type fits another.

The checks are conservative: an open or unknown schema (``{}``, ``true``, a
free-form object) fits anything and accepts any path, so the validator only
reports a mismatch it can prove from the declared types. Declared types are
taken at their word: an ``integer`` fits a ``number`` argument, a ``number``
does not fit an ``integer`` one, and a nullable output fits an argument that
accepts its non-null type (a null at run time is caught then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MAX_DEPTH = 24  # recursive schemas (trees, JSON values) stop being compared here


@dataclass(frozen=True)
class Node:
    """A subschema together with the root document its ``$ref``s resolve against."""

    schema: Any
    root: Mapping[str, Any]

    def resolved(self) -> Node:
        """Follow local ``$ref``s (``#/$defs/X``) until a schema without one."""
        schema, seen = self.schema, 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < _MAX_DEPTH:
            target = _pointer(self.root, schema["$ref"])
            if target is None:
                return Node({}, self.root)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if siblings else target
            seen += 1
        return Node(schema, self.root)


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    current: Any = root
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def branches(node: Node) -> list[Node] | None:
    """The alternatives of an ``anyOf``/``oneOf`` (or single-item ``allOf``); None if not a union."""
    schema = node.resolved().schema
    if not isinstance(schema, Mapping):
        return None
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return [Node(s, node.root) for s in schema[key]]
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return [Node(all_of[0], node.root)]
    return None


def types_of(node: Node) -> set[str] | None:
    """The JSON types a (non-union) schema admits; None when it does not say (any type)."""
    schema = node.resolved().schema
    if schema is False:
        return set()
    if not isinstance(schema, Mapping):
        return None
    declared = schema.get("type")
    if isinstance(declared, str):
        found = {declared}
    elif isinstance(declared, list):
        found = {t for t in declared if isinstance(t, str)}
    elif "const" in schema or isinstance(schema.get("enum"), list):
        values = [schema["const"]] if "const" in schema else schema["enum"]
        found = {_json_type(v) for v in values}
    else:
        return None
    if "number" in found:
        found.add("integer")
    return found


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def is_open(node: Node) -> bool:
    """True for a schema that says nothing (``{}``, ``true``, a description only): anything goes."""
    schema = node.resolved().schema
    if schema is True:
        return True
    if not isinstance(schema, Mapping):
        return False
    return branches(node) is None and types_of(node) is None and not any(
        k in schema for k in ("properties", "items", "prefixItems", "additionalProperties")
    )


def describe(node: Node, depth: int = 0) -> str:
    """A short human name for a schema's type, e.g. 'number or null', 'array of string'."""
    alternatives = branches(node)
    if alternatives is not None:
        names = dict.fromkeys(describe(b, depth + 1) for b in alternatives)
        return " or ".join(names)
    found = types_of(node)
    if found is None or depth > 3:
        return "any value"
    schema = node.resolved().schema
    if found == {"array"} and isinstance(schema, Mapping) and "items" in schema:
        return f"array of {describe(Node(schema['items'], node.root), depth + 1)}"
    extra = schema.get("additionalProperties") if isinstance(schema, Mapping) else None
    if found == {"object"} and isinstance(extra, Mapping) and extra and "properties" not in schema:
        values = describe(Node(extra, node.root), depth + 1)  # dict[str, int]: values typed
        return f"object of {f'({values})' if ' or ' in values else values} values"
    if "number" in found:
        found = found - {"integer"}
    return " or ".join(sorted(found))


@dataclass(frozen=True)
class Step:
    """Outcome of walking one path segment into a schema."""

    node: Node | None  # None: the path is open from here on (type unknown)
    error: str | None = None


def child(node: Node, segment: str) -> Step:
    """The schema of ``segment`` (a key, or a list index written in digits) inside ``node``."""
    if is_open(node):
        return Step(None)
    alternatives = branches(node)
    if alternatives is not None:
        found = [child(b, segment) for b in alternatives if types_of(b) != {"null"}]
        hits = [s for s in found if s.error is None]
        if not hits:
            return Step(None, found[0].error if found else "it is always null")
        if any(s.node is None for s in hits):
            return Step(None)
        nodes = [s.node for s in hits if s.node is not None]
        return Step(nodes[0] if len(nodes) == 1 else _union(nodes))
    schema = node.resolved().schema
    if not isinstance(schema, Mapping):
        return Step(None, "it admits no value")
    return _object_child(node, schema, segment) if not _is_array_step(schema, segment) else _array_child(
        node, schema, segment
    )


def _union(nodes: list[Node]) -> Node:
    # A union may mix roots (one per branch) only when they are the same document.
    return Node({"anyOf": [n.resolved().schema for n in nodes]}, nodes[0].root)


def _is_array_step(schema: Mapping[str, Any], segment: str) -> bool:
    props = schema.get("properties")
    if isinstance(props, Mapping) and segment in props:
        return False
    return segment.isdigit() and ("items" in schema or "prefixItems" in schema or schema.get("type") == "array")


def _array_child(node: Node, schema: Mapping[str, Any], segment: str) -> Step:
    index = int(segment)
    most = schema.get("maxItems")
    if isinstance(most, int) and not isinstance(most, bool) and index >= most:
        # A tuple (prefixItems, maxItems) or a bounded list never has this item.
        return Step(None, f"it is a list of at most {most} item(s), with no item {index}")
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list) and index < len(prefix):
        return Step(Node(prefix[index], node.root))
    items = schema.get("items")
    if items is False:
        return Step(None, f"it is a list with no item {index}")
    return Step(None) if items is None else Step(Node(items, node.root))


def _object_child(node: Node, schema: Mapping[str, Any], segment: str) -> Step:
    props = schema.get("properties")
    if isinstance(props, Mapping) and segment in props:
        return Step(Node(props[segment], node.root))
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        return Step(None) if not extra else Step(Node(extra, node.root))
    found = types_of(node)
    if extra is True or (not isinstance(props, Mapping) and (found is None or "object" in found)):
        return Step(None)
    if found is not None and "object" not in found:
        return Step(None, f"it is {describe(node)}, which has no fields")
    return Step(None, f"no field {segment!r}")


def field_names(node: Node) -> list[str]:
    """Declared property names of an object schema (all branches of a union), for suggestions."""
    alternatives = branches(node)
    if alternatives is not None:
        return list(dict.fromkeys(n for b in alternatives for n in field_names(b)))
    schema = node.resolved().schema
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    return list(props) if isinstance(props, Mapping) else []


def walk(node: Node, path: tuple[str, ...] | list[str]) -> tuple[Node | None, int | None, str | None]:
    """Follow ``path``; returns ``(schema or None if open, failing segment index, reason)``."""
    current: Node | None = node
    for index, segment in enumerate(path):
        if current is None:
            return None, None, None
        step = child(current, segment)
        if step.error is not None:
            return current, index, step.error
        current = step.node
    return current, None, None


def fits(source: Node | None, target: Node | None, depth: int = 0) -> bool:
    """Could a value declared by ``source`` be valid for ``target``? Unknown on either side: yes."""
    if source is None or target is None or depth > _MAX_DEPTH or is_open(source) or is_open(target):
        return True
    target_alts = branches(target)
    if target_alts is not None:
        return any(fits(source, t, depth + 1) for t in target_alts)
    source_alts = branches(source)
    if source_alts is not None:
        non_null = [s for s in source_alts if types_of(s) != {"null"}] or source_alts
        return any(fits(s, target, depth + 1) for s in non_null)
    src_types, dst_types = types_of(source), types_of(target)
    if src_types is not None and dst_types is not None:
        if "null" in src_types and len(src_types) > 1:
            src_types = src_types - {"null"}
        if src_types == {"integer", "number"}:
            src_types = {"number"}  # a declared number may be fractional
        if not src_types & dst_types:
            return False
    if not _consts_overlap(source, target):
        return False
    return _structure_fits(source, target, depth)


def _consts_overlap(source: Node, target: Node) -> bool:
    src, dst = _const_values(source), _const_values(target)
    if src is None or dst is None:
        return True
    return any(value in dst for value in src)


def _const_values(node: Node) -> list[Any] | None:
    schema = node.resolved().schema
    if not isinstance(schema, Mapping):
        return None
    if "const" in schema:
        return [schema["const"]]
    return list(schema["enum"]) if isinstance(schema.get("enum"), list) else None


def _structure_fits(source: Node, target: Node, depth: int) -> bool:
    src, dst = source.resolved().schema, target.resolved().schema
    if not isinstance(src, Mapping) or not isinstance(dst, Mapping):
        return True
    return (_items_fit(source, src, target, dst, depth)
            and _fields_fit(source, src, target, dst, depth))


def _items_fit(source: Node, src: Mapping[str, Any], target: Node, dst: Mapping[str, Any],
               depth: int) -> bool:
    if "items" not in dst:
        return True
    wanted = Node(dst["items"], target.root)
    # items: false (no item past a tuple's own) holds nothing that could fail to fit.
    given = [src["items"]] if src.get("items", False) is not False else []
    if isinstance(src.get("prefixItems"), list):  # a tuple's items, each of its own type
        given.extend(src["prefixItems"])
    return all(fits(Node(item, source.root), wanted, depth + 1) for item in given)


def _fields_fit(source: Node, src: Mapping[str, Any], target: Node, dst: Mapping[str, Any],
                depth: int) -> bool:
    declared = isinstance(src.get("properties"), Mapping) and isinstance(dst.get("properties"),
                                                                           Mapping)
    src_props = src["properties"] if isinstance(src.get("properties"), Mapping) else {}
    dst_props = dst["properties"] if isinstance(dst.get("properties"), Mapping) else {}
    for name in dst_props.keys() & src_props.keys():
        if not fits(Node(src_props[name], source.root), Node(dst_props[name], target.root),
                    depth + 1):
            return False
    dst_extra = dst.get("additionalProperties")
    if isinstance(dst_extra, Mapping):
        # What the target takes for keys it does not name: the source's own such values
        # (dict[str, int] into dict[str, str]) and the fields it always has outside them.
        wanted = Node(dst_extra, target.root)
        src_extra = src.get("additionalProperties")
        if isinstance(src_extra, Mapping) and not fits(Node(src_extra, source.root), wanted,
                                                       depth + 1):
            return False
        required = src.get("required")
        for name in required if isinstance(required, list) else []:
            if name in src_props and name not in dst_props and not fits(
                    Node(src_props[name], source.root), wanted, depth + 1):
                return False
    if declared and (src.get("additionalProperties") is False
                     or "additionalProperties" not in src):
        missing = [n for n in dst.get("required", []) if n not in src_props]
        if missing:
            return False
    return True
