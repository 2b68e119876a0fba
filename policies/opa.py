"""The OPA server backend, through ``opa-python-client`` (imported lazily).

On first use it checks that the server holds this bundle (its hash is kept
at ``data.baton_meta.bundle_hash``) and pushes the policies and data when it
does not. A missing result usually means the server restarted and lost what
was pushed, so the policies and data are pushed again once and the query
retried once. Timeouts, connection errors and results still missing are denies.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import structlog

from tools.redaction import hide_url_credentials

from .bundle import DATA_ROOT, PolicyBundle
from .engine import EngineFailure, FailClosedEngine

log = structlog.get_logger(__name__)

ENGINE_NAME = "opa"
META_ROOT = "baton_meta"
DEFAULT_TIMEOUT_S = 2.0


def _client(url: str, timeout_s: float) -> Any:
    from opa_client import OpaClient

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineFailure(f"OPA URL {hide_url_credentials(url)!r} must look like http://host:port")
    port = parts.port or (443 if parts.scheme == "https" else 8181)
    # No retries: a slow or failing server must fail closed within the timeout.
    return OpaClient(host=parts.hostname, port=port, ssl=parts.scheme == "https",
                     timeout=timeout_s, retries=0)


class OpaEngine(FailClosedEngine):
    """Policy engine that asks an OPA server (``POST /v1/data/baton/decision``)."""

    name = ENGINE_NAME

    def __init__(self, bundle: PolicyBundle, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.bundle = bundle
        self.bundle_hash = bundle.bundle_hash
        self.url = url
        # Messages, logs and decisions name the server without credentials written into its URL.
        self.shown_url = hide_url_credentials(url)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._loaded = False
        self._client_obj: Any = None

    def _connected(self) -> Any:
        with self._lock:
            if self._client_obj is None:
                self._client_obj = _client(self.url, self.timeout_s)
            if not self._loaded:
                self._ensure_loaded(self._client_obj)
                self._loaded = True
            return self._client_obj

    def _ensure_loaded(self, client: Any) -> None:
        """Push policies and data unless the server already holds this bundle hash."""
        try:
            current = client.get_data(META_ROOT).get("result", {})
        except Exception:  # noqa: BLE001 - absent meta simply means "push"
            current = {}
        if isinstance(current, Mapping) and current.get("bundle_hash") == self.bundle_hash:
            return
        self._push(client)

    def _push(self, client: Any) -> None:
        """Push every policy module, the data and the bundle hash."""
        for name, source in self.bundle.modules:
            client.update_policy_from_string(source, f"baton/{name}", rego_compat=False)
        client.update_or_create_data(self.bundle.data_document()[DATA_ROOT], DATA_ROOT)
        client.update_or_create_data({"bundle_hash": self.bundle_hash}, META_ROOT)
        log.info("policy.opa_loaded", url=self.shown_url, bundle_hash=self.bundle_hash)

    def load(self) -> None:
        """Connect and make sure the server holds this bundle (raises ``EngineFailure``)."""
        try:
            self._connected()
        except EngineFailure:
            raise
        except Exception as exc:
            raise EngineFailure(_describe(exc, self.shown_url)) from exc

    def _evaluate(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        self.load()
        result = self._query(rule, policy_input)
        if result is None:
            # The server may have restarted and lost the pushed bundle: push it again (even if
            # the hash marker survived) and ask once more; still missing stays a deny.
            log.warning("policy.opa_result_missing", url=self.shown_url, rule=rule)
            try:
                with self._lock:
                    self._push(self._client_obj)
            except Exception as exc:
                raise EngineFailure(_describe(exc, self.shown_url)) from exc
            result = self._query(rule, policy_input)
        return result

    def _query(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        """The raw ``result`` of ``data.baton.<rule>``, or None when the server has none."""
        try:
            body = self._client_obj.query_rule(dict(policy_input), "baton", rule)
        except Exception as exc:
            raise EngineFailure(_describe(exc, self.shown_url)) from exc
        if not isinstance(body, Mapping):
            raise EngineFailure("OPA answered something other than a JSON object")
        return body.get("result")



def _describe(exc: Exception, url: str) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return f"OPA server at {url} did not answer in time ({name})"
    if "Connection" in name:
        return f"OPA server at {url} cannot be reached ({name})"
    message = getattr(exc, "message", None) or str(exc)
    return f"OPA server at {url} failed: {name}: {' '.join(str(message).split())[:200]}"
