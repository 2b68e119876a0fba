"""Which keys of the policy data the Rego files read, and where; and data that cannot serve.

Rego reads a key the data lacks, or a value of another type (``s.tool in "files.read"``),
as undefined, not as an error: a rule of one's own ``s.tool in cfg.blocked_tools`` whose
``blocked_tools`` was set nowhere, or set to a string where the data file gives an array,
denied nothing and the plan was allowed. So the bundle the engine judges with must set every
top-level key its files read (``unset_references``), and a value given over the data file
(``[policy.data]``) must have the JSON type of the file's default for it (``mistyped``;
a null default takes any). A key with no default is not type-checked: there is nothing to
compare it with.

A read of the data (``data.baton_config``) is ``data.baton_config.KEY`` or
``data.baton_config["KEY"]``, or the same through a name bound to it: a rule
``cfg := data.baton_config`` (as common.rego has it), read as ``cfg.KEY`` in its package or
``data.baton.cfg.KEY`` from another; ``import data.baton_config [as c]``; or a variable
``c := data.baton_config`` (or ``c := cfg``) in a rule body, read as ``c.KEY`` in that body.
Not reads: the data taken whole or with a computed key (``cfg[k]``, ``some k, v in cfg``),
``object.get(cfg, "KEY", default)`` (it gives its own default), a ``with`` replacing a
value, text in strings and comments. Only the first key is followed: ``cfg.approval.roles``
reads ``approval``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .bundle import DATA_ROOT
from .rego_tokens import Token, path_at
from .rego_tokens import tokens as rego_tokens


Path_ = tuple[str, ...]


@dataclass(frozen=True)
class DataReference:
    """One read of a top-level data key: in which file, on which line, written how."""

    file: str
    line: int
    key: str
    written: str  # the reference as written up to the key (``cfg.blocked_tools``)


@dataclass
class _Module:
    name: str
    source: str
    tokens: list[Token]
    package: Path_ = ()
    imports: dict[str, Path_] = field(default_factory=dict)  # name → data path
    # A rule-body name bound to a data path, where it is bound: (first token, end, path).
    aliases: dict[str, list[tuple[int, int, Path_]]] = field(default_factory=dict)


def _starts_reference(tokens: list[Token], i: int) -> bool:
    return tokens[i].kind == "ident" and (i == 0 or tokens[i - 1].text != ".")


def _parse(name: str, source: str) -> _Module:
    module = _Module(name=name, source=source, tokens=rego_tokens(source, significant=True))
    tokens = module.tokens
    for i, token in enumerate(tokens):
        if token.depth or not _starts_reference(tokens, i) or i + 1 >= len(tokens):
            continue
        if token.text == "package":
            module.package = path_at(tokens, i + 1)[0]
        elif token.text == "import" and tokens[i + 1].kind == "ident":
            path, after = path_at(tokens, i + 1)
            if path[0] == "data" and len(path) > 1:
                alias = (tokens[after + 1].text if after + 1 < len(tokens)
                         and tokens[after].text == "as" else path[-1])
                module.imports[alias] = path[1:]
    return module


def _resolve(module: _Module, path: Path_, at: int) -> Path_:
    """The data path ``path``, written at token ``at``, names in ``module``: ``data.…``, an
    alias bound in the rule body it is in, an import, else a rule of the module's package."""
    head, rest = path[0], path[1:]
    if head == "data":
        return rest
    bound = next((found for start, end, found in module.aliases.get(head, ())
                  if start <= at < end), None)
    if bound is not None:
        return bound + rest
    if head in module.imports:
        return module.imports[head] + rest
    return module.package + path


def _bind_aliases(modules: list[_Module]) -> set[Path_]:
    """The data paths that name the policy data: ``data.baton_config`` and every rule bound
    to it; each module's rule-body aliases of it are noted on the module."""
    roots: set[Path_] = {(DATA_ROOT,)}
    changed = True
    while changed:  # an alias of an alias (``c := cfg``) is found on a later round
        changed = False
        for module in modules:
            tokens = module.tokens
            for i in range(len(tokens) - 2):
                if not (_starts_reference(tokens, i) and tokens[i + 1].text in (":=", "=")
                        and tokens[i + 2].kind == "ident"):
                    continue
                path, after = path_at(tokens, i + 2)
                if after < len(tokens) and tokens[after].text in (".", "["):
                    continue  # a computed key follows: not the data itself
                if _resolve(module, path, i + 2) not in roots:
                    continue
                name = tokens[i].text
                if tokens[i].depth == 0 and module.package + (name,) not in roots:
                    roots.add(module.package + (name,))
                    changed = True
                elif tokens[i].depth:
                    # A variable of its rule body: ``c`` may be another rule's local too.
                    end = next((j for j in range(i + 1, len(tokens))
                                if tokens[j].depth < tokens[i].depth), len(tokens))
                    scopes = module.aliases.setdefault(name, [])
                    if not any(start == i for start, _, _ in scopes):
                        scopes.append((i, end, _resolve(module, path, i + 2)))
                        changed = True
    return roots


@lru_cache(maxsize=32)  # one bundle is loaded many times a process; its text decides
def data_references(modules: tuple[tuple[str, str], ...]) -> tuple[DataReference, ...]:
    """Each read of a top-level key of the policy data in ``modules`` (file name → source)."""
    parsed = [_parse(name, source) for name, source in modules]
    roots = _bind_aliases(parsed)
    found = []
    for module in parsed:
        tokens, lines = module.tokens, _line_starts(module.source)
        for i in range(len(tokens)):
            if (not _starts_reference(tokens, i) or tokens[i].text in ("package", "import")
                    or (i and tokens[i - 1].text in ("package", "import", "with"))):
                continue
            path, after = path_at(tokens, i)
            resolved = _resolve(module, path, i)
            for root in roots:
                if len(resolved) > len(root) and resolved[:len(root)] == root:
                    # Written up to the key: the segments read below it are taken off.
                    key_end = _key_end(tokens, i, after, len(resolved) - len(root) - 1)
                    found.append(DataReference(
                        file=module.name, line=bisect.bisect_right(lines, tokens[i].start),
                        key=resolved[len(root)],
                        written=module.source[tokens[i].start:key_end]))
                    break
    return tuple(found)


def _key_end(tokens: list[Token], start: int, after: int, deeper: int) -> int:
    """Where the reference from ``start`` ends once ``deeper`` segments are taken off (no
    further back than its first token: an import may have bound a name deeper than the key)."""
    i = after
    for _ in range(deeper):
        i -= 3 if tokens[i - 1].text == "]" else 2
    return tokens[max(i - 1, start)].end


def _line_starts(source: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", source))]


def unset_references(modules: tuple[tuple[str, str], ...],
                     data: Mapping[str, Any]) -> list[DataReference]:
    """The first read, per file and key, of each key ``data`` does not set."""
    seen: set[tuple[str, str]] = set()
    unset = []
    for ref in data_references(modules):
        if ref.key not in data and (ref.file, ref.key) not in seen:
            seen.add((ref.file, ref.key))
            unset.append(ref)
    return unset


def json_kind(value: Any) -> str:
    """The JSON type of ``value``, in the words settings messages use (``a table``)."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    kinds = {str: "a string", int: "a number", float: "a number", list: "an array",
             dict: "a table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "other")


def mistyped(defaults: Mapping[str, Any], given: Mapping[str, Any]
             ) -> list[tuple[str, str, str]]:
    """(key, type given, type of the default) for each key of ``given`` whose value is not of
    the JSON type of its non-null default in ``defaults``."""
    return [(key, json_kind(value), json_kind(defaults[key])) for key, value in given.items()
            if defaults.get(key) is not None and json_kind(value) != json_kind(defaults[key])]


def reference_problem(ref: DataReference, data_file: str) -> str:
    """Why a read of a key no data sets is refused, naming the file, line and key."""
    return (f"{ref.file}:{ref.line}: {ref.written} reads the data key {ref.key}, which is set "
            f"nowhere (not in {data_file}, not in [policy.data]): Rego reads a missing key as "
            "undefined, so a rule reading it would never deny; give it a default in the "
            "data file")


def type_problem(given: str, expected: str, data_file: str) -> str:
    """Why a value of another type than its default is refused (the value never quoted)."""
    return (f"is {given}, but {data_file} gives it {expected} by default: Rego reads a value "
            "of another type than the rules expect as undefined, so a rule reading it might "
            "never deny")


def bundle_problems(modules: tuple[tuple[str, str], ...], file_data: Mapping[str, Any],
                    overrides: Mapping[str, Any], data_file: str, *,
                    references: bool = True) -> list[str]:
    """Every reason the data (``file_data`` with ``overrides`` over it) cannot serve the
    rules of ``modules``: an override of another type than its default, a key read but set
    nowhere (when ``references``)."""
    problems = [f"[policy.data] {key} {type_problem(given, expected, data_file)}"
                for key, given, expected in mistyped(file_data, overrides)]
    if references:
        data = {**file_data, **overrides}
        problems += [reference_problem(ref, data_file) for ref in unset_references(modules, data)]
    return problems
