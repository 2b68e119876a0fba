"""One namespace per policy bundle on a shared OPA server, so that bundles cannot mix.

Several Baton processes may share one OPA server with different bundles (an older
worker, another ``baton.toml``, ``baton policy test`` with the shipped data). Each
bundle therefore lives under its own root, ``data.baton_<first 16 hex digits of its
hash>``:

- every package moves under it: ``package baton`` becomes ``package baton_<h>.baton``,
  ``package acme.lib`` becomes ``package baton_<h>.acme.lib``;
- every reference to one of the bundle's own roots follows (``data.baton…``,
  ``data.baton_config…``, ``data.acme…``, also written ``data["baton"]…``); references to
  other data (``data.users`` loaded into OPA by someone else) stay as written;
- the data goes to ``data.baton_<h>.baton_config``.

The rewrite works on Rego tokens: text inside strings and comments is never touched.
Not rewritten, hence a limitation for a policy of one's own: ``data`` taken whole or
with a computed key (``data[x]``), which on OPA sees every bundle on the server.

A generated guard module, ``data.baton_<h>.baton_guard``, answers the queries: its
``decision`` and ``step_decision`` are those of ``data.baton_<h>.baton`` while every
module of the bundle (each carries a presence rule appended to it) and the data are
on the server, and undefined otherwise. A decision is thus computed by the whole
bundle or not at all, even while another process deletes the namespace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from .bundle import DATA_ROOT, PolicyBundle
from .rego_tokens import Token, path_at
from .rego_tokens import tokens as rego_tokens

NAMESPACE_PREFIX = "baton_"
HASH_DIGITS = 16
GUARD_PACKAGE = "baton_guard"
QUERY_PACKAGE = "baton"  # the package whose decision and step_decision Baton asks for
ENTRYPOINTS = ("decision", "step_decision")
_PRESENT = "baton_module_present_{index}"
_RESERVED_ROOTS = (DATA_ROOT, GUARD_PACKAGE)
# Matched in full (``fullmatch``): a ``$`` would match before a trailing newline.
_NAMESPACE = re.compile(rf"{NAMESPACE_PREFIX}[0-9a-f]{{{HASH_DIGITS}}}")

class NamespaceError(ValueError):
    """The bundle cannot be given a namespace (a package root Baton reserves, no package)."""


def namespace_for(bundle_hash: str) -> str:
    """The root a bundle lives under on OPA: ``baton_`` and the first 16 hex digits of its hash."""
    return NAMESPACE_PREFIX + bundle_hash[:HASH_DIGITS]


def is_namespace(name: str) -> bool:
    """Whether ``name`` is a bundle namespace root (``baton_`` and 16 hex digits)."""
    return bool(_NAMESPACE.fullmatch(name))


def _significant(tokens: list[Token], start: int) -> Iterator[int]:
    """Indexes of the tokens from ``start`` on that are neither space nor comment."""
    return (i for i in range(start, len(tokens)) if tokens[i].kind not in ("space", "comment"))


def package_path(source: str) -> tuple[str, ...]:
    """The segments of the module's ``package`` path (``package a.b`` → ``("a", "b")``)."""
    tokens = rego_tokens(source)
    for i, token in enumerate(tokens):
        if token.kind == "ident" and token.text == "package" and not _after_dot(tokens, i):
            return path_at(tokens, next(_significant(tokens, i + 1), len(tokens)))[0]
    return ()


def _after_dot(tokens: list[Token], i: int) -> bool:
    return i > 0 and tokens[i - 1].text == "."


def _first_key_after_data(tokens: list[Token], i: int) -> str | None:
    """The first key of the reference ``data…`` at token ``i`` (``.key`` or ``["key"]``)."""
    if i + 2 < len(tokens) and tokens[i + 1].text == "." and tokens[i + 2].kind == "ident":
        return tokens[i + 2].text
    if (i + 3 < len(tokens) and tokens[i + 1].text == "[" and tokens[i + 2].kind == "string"
            and tokens[i + 3].text == "]"):
        key = json.loads(tokens[i + 2].text)
        return key if isinstance(key, str) else None
    return None


def rewrite_module(source: str, roots: frozenset[str], namespace: str) -> str:
    """``source`` with its package and its references to ``roots`` moved under ``namespace``."""
    tokens = rego_tokens(source)
    out = []
    for i, token in enumerate(tokens):
        out.append(token.text)
        if token.kind != "ident" or _after_dot(tokens, i):
            continue
        if token.text == "package":
            root = next(_significant(tokens, i + 1), None)
            if root is not None and tokens[root].kind == "ident":
                tokens[root] = replace(tokens[root], text=f"{namespace}.{tokens[root].text}")
        elif token.text == "data" and _first_key_after_data(tokens, i) in roots:
            out.append(f".{namespace}")
    return "".join(out)


def _ref(namespace: str, path: tuple[str, ...]) -> str:
    return f"data.{namespace}" + "".join(f"[{json.dumps(key)}]" for key in path)


def guard_module(namespace: str, packages: list[tuple[str, ...]]) -> str:
    """The module answering queries only while all of the bundle and its data are present."""
    checks = [f"\t{_ref(namespace, path + (_PRESENT.format(index=index),))}"
              for index, path in enumerate(packages)]
    checks.append(f"\tis_object({_ref(namespace, (DATA_ROOT,))})")
    lines = [
        "# Generated by Baton: answers only while every module of this bundle and its data",
        "# are on the server, so that a half-deleted bundle decides nothing.",
        f"package {namespace}.{GUARD_PACKAGE}", "", "import rego.v1", "",
        "complete if {", *checks, "}", "",
    ]
    lines += [f"{rule} := {_ref(namespace, (QUERY_PACKAGE, rule))} if complete"
              for rule in ENTRYPOINTS]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class NamespacedBundle:
    """A bundle as pushed to OPA: rewritten modules (policy id → source), data, guard."""

    namespace: str
    bundle_hash: str
    modules: tuple[tuple[str, str], ...]
    data: dict[str, Any]

    @property
    def data_path(self) -> str:
        """Where the data goes (``baton_<h>/baton_config``), for OPA's data API."""
        return f"{self.namespace}/{DATA_ROOT}"

    @property
    def query_package(self) -> str:
        """The package Baton queries (``baton_<h>/baton_guard``)."""
        return f"{self.namespace}/{GUARD_PACKAGE}"


def policy_id(namespace: str, name: str) -> str:
    """The OPA policy id of module ``name`` of the bundle, safe in a URL path."""
    return f"{namespace}/{quote(name, safe='._-')}"


def namespaced(bundle: PolicyBundle) -> NamespacedBundle:
    """``bundle`` rewritten into its own namespace, with its guard module last."""
    namespace = namespace_for(bundle.bundle_hash)
    packages = [package_path(source) for _, source in bundle.modules]
    for (name, _), path in zip(bundle.modules, packages, strict=True):
        if not path:
            raise NamespaceError(f"policy module {name} has no package")
        if path[0] in _RESERVED_ROOTS:
            raise NamespaceError(f"policy module {name}: package root {path[0]!r} is reserved "
                                 f"by Baton on OPA (it names the data or the guard)")
    roots = frozenset(path[0] for path in packages) | {DATA_ROOT}
    modules = [
        (policy_id(namespace, name),
         rewrite_module(source, roots, namespace).rstrip("\n")
         + f"\n\n{_PRESENT.format(index=index)} := true\n")
        for index, (name, source) in enumerate(bundle.modules)
    ]
    modules.append((f"{namespace}/{GUARD_PACKAGE}", guard_module(namespace, packages)))
    return NamespacedBundle(namespace=namespace, bundle_hash=bundle.bundle_hash,
                            modules=tuple(modules), data=bundle.data_document()[DATA_ROOT])
