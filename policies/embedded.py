"""The embedded backend: the Rego interpreter ``regopy`` (rego-cpp), no server needed.

Known gaps of the interpreter, which the shipped policies stay clear of (a
test checks): no networking built-ins (``net.*``, ``http.send``),
``time.parse_rfc3339_ns`` fails, ``with input as`` is unreliable, ``min``/``max``
return wrong values, ``sprintf("%s", [concat(...)])`` adds quotes, and regular
expressions take no inline flags such as ``(?i)``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from typing import Any

from .bundle import PolicyBundle
from .engine import DECISION_PATH, STEP_DECISION_PATH, EngineFailure, FailClosedEngine

ENGINE_NAME = "embedded"


class CompiledPolicies:
    """One interpreter with the bundle compiled once; evaluation is serialised (it holds the input)."""

    def __init__(self, modules: tuple[tuple[str, str], ...], data: Mapping[str, Any]) -> None:
        from regopy import Interpreter

        self._lock = threading.Lock()
        self._rego = Interpreter()
        self._rego.strict_built_in_errors = True
        try:
            for name, source in modules:
                self._rego.add_module(name, source)
            # NaN and infinity have no JSON form: rego-cpp refused them and printed the whole
            # data document (which may hold secrets) to stdout.
            self._rego.add_data_json(json.dumps(data, allow_nan=False))
            self._bundle = self._rego.build(None, [DECISION_PATH, STEP_DECISION_PATH])
        except Exception as exc:  # regopy raises RegoError, ctypes errors or TypeError
            raise EngineFailure(f"the policies do not compile: {_first_line(exc)}") from exc

    def evaluate(self, entrypoint: str, policy_input: Mapping[str, Any]) -> Any:
        """The value of ``entrypoint`` over ``policy_input``; ``None`` when undefined."""
        from regopy import Input

        with self._lock:
            try:
                self._rego.set_input(Input(json.loads(json.dumps(policy_input, default=str))))
                output = self._rego.query_bundle_entrypoint(self._bundle, entrypoint)
            except Exception as exc:
                raise EngineFailure(f"evaluation failed: {_first_line(exc)}") from exc
            if not output.ok():
                # Never call output.expressions() here: on an error output rego-cpp aborts.
                raise EngineFailure(f"evaluation failed: {_first_line(str(output))}")
            results = output.results
        if not results or not results[0].expressions:
            return None
        return results[0].expressions[0]


_ERRORMSG = re.compile(r"\(error \d+:([^|\s]+)\|[^(]*\(errormsg \d+:([^)]*)\)")


def _first_line(exc: object) -> str:
    """A short cause: rego-cpp's error trees reduced to 'file: message' pairs."""
    text = str(exc).strip() or type(exc).__name__
    found = _ERRORMSG.findall(text)
    if found:
        return "; ".join(f"{where}: {what}" for where, what in found[:3])
    return " ".join(text.split())[:300]


_CACHE: dict[str, CompiledPolicies] = {}
_CACHE_LOCK = threading.Lock()


def compiled_for(bundle: PolicyBundle) -> CompiledPolicies:
    """The compiled form of ``bundle``, built once per bundle hash and reused."""
    key = bundle.bundle_hash
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = CompiledPolicies(bundle.modules, bundle.data_document())
        return _CACHE[key]


class EmbeddedEngine(FailClosedEngine):
    """Policy engine that evaluates the bundle in-process with regopy."""

    name = ENGINE_NAME

    def __init__(self, bundle: PolicyBundle) -> None:
        self.bundle = bundle
        self.bundle_hash = bundle.bundle_hash

    def _evaluate(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        return compiled_for(self.bundle).evaluate(f"baton/{rule}", policy_input)
