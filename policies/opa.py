"""The OPA server backend, through ``opa-python-client`` (imported lazily).

Each bundle lives on the server in its own namespace, ``data.baton_<hash16>``
(``opa_namespace``): its modules rewritten under that root, its data beside them and a
guard module that Baton queries. Processes with different bundles on one server then
never judge with each other's rules or data, a module removed from the bundle (a new
hash, so a new namespace) stops applying, and a decision stamped with a bundle hash was
computed by exactly that bundle.

OPA compiles all it holds on every module pushed, so a module using another's rules
is refused until that one is there: modules are pushed in rounds until all are in (the
guard last), and deleted likewise.

The server's registry, ``data.baton_bundles.<namespace>``, says for each namespace which
bundle hash it holds, whether its push completed and when a process last used it. On
first use a process pushes its bundle unless the registry says it is there; while it
judges, it refreshes its ``used_at`` at most once an hour. After each push it deletes
the namespaces nobody has used for ``keep_unused_s`` (a week by default): a process
still on such a bundle finds its guard undefined and pushes it again. Modules of older
Baton versions (``baton/*`` policies, ``data.baton_config``, ``data.baton_meta``) are
left alone, since an older process may still use them.

A missing result usually means the server restarted or the namespace was collected,
so the bundle is pushed again once and the query retried once. Timeouts, connection
errors and results still missing are denies. The timeout bounds each request whole, its
answer's body included (``_DeadlineAdapter``), not only each read.

Redirects are refused (an engine error): followed, a 301, 302 or 303 turns the POST of a
query into a GET without its input, which OPA answers by evaluating the rules on no input
at all, and a 307 or 308 sends the input to whatever host the ``Location`` names.
Credentials written into the URL (``http://user:password@host``) go as HTTP basic auth.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog

from tools.url_credentials import hide_setting_url, hide_url_credentials

from .bundle import PolicyBundle
from .engine import EngineFailure, FailClosedEngine
from .opa_namespace import (
    GUARD_PACKAGE,
    NamespaceError,
    NamespacedBundle,
    is_namespace,
    namespaced,
)

log = structlog.get_logger(__name__)

ENGINE_NAME = "opa"
REGISTRY_ROOT = "baton_bundles"
DEFAULT_TIMEOUT_S = 2.0
KEEP_UNUSED_S = 7 * 24 * 3600  # a namespace unused this long is deleted by the next push
HEARTBEAT_S = 3600.0  # how often a process in use refreshes its namespace's used_at


OPA_URL_FORM = "http://host:port or http://host:port/path-prefix/"


def opa_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the OPA server's address, if it cannot; credentials hidden.

    The one rule: the backend refuses such a URL (an engine error, so a deny) and the settings
    refuse it at load (exit 2). The client is built from the scheme, host, port and path only,
    so a query string or fragment would be dropped, not sent.
    """
    must = f"must look like {OPA_URL_FORM}"
    if any(ord(c) < 32 or ord(c) == 127 for c in url):
        return f"{must}: it holds a control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number from 0 to 65535
    except ValueError:
        # Not echoed: when a password holds a "/", the text read as the port is its start.
        return (f"{must}: its port is not a number from 0 to 65535, or its brackets "
                "do not close (percent-encode a '/', '@' or ':' in a user name or password)")
    shown = f"{hide_setting_url(url)!r} {must}"
    if parts.scheme not in ("http", "https"):
        return f"{shown}: it is not an http:// or https:// URL"
    if not parts.hostname:
        return f"{shown}: it names no host"
    if parts.query or parts.fragment:
        return f"{shown}: a query string or fragment is refused"
    return None


def _client(url: str, timeout_s: float) -> Any:
    from opa_client import OpaClient

    problem = opa_url_problem(url)
    if problem is not None:
        raise EngineFailure(f"OPA URL {problem}")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 8181)
    # The client writes scheme://host:port/version/...: an IPv6 literal needs its brackets
    # back, and a path prefix (an OPA behind a gateway) goes before the API version.
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    prefix = parts.path.strip("/")
    # No retries: a slow or failing server must fail closed within the timeout.
    client = OpaClient(host=host, port=port, ssl=parts.scheme == "https", timeout=timeout_s,
                       retries=0, version=f"{prefix}/v1" if prefix else "v1")
    adapter = _DeadlineAdapter(timeout_s)
    # The client has no setting for its transport; its requests session is where one goes.
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
    if parts.username is not None or parts.password is not None:
        # The client builds its URLs from the host alone, so the user information goes as
        # a header: without it, an OPA behind an authenticating proxy refuses everything.
        client._session.auth = _BasicAuth(unquote(parts.username or ""),
                                          unquote(parts.password or ""))
    return client


class _BasicAuth:
    """A requests auth (any callable will do) sending HTTP basic credentials, UTF-8 encoded
    (RFC 7617): requests' own encodes them as Latin-1, failing on other letters with an
    error that quotes the letter."""

    def __init__(self, user: str, password: str) -> None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self._header = f"Basic {token}"

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_BasicAuth(***)"


class _DeadlineMissed(TimeoutError):
    """A request, its answer's body included, took longer than the client's timeout."""


class _RedirectRefused(Exception):
    """The server answered with a redirect (3xx), which is never followed."""

    def __init__(self, status: int, location: str | None) -> None:
        super().__init__(status)
        self.status = status
        self.location = location

    def describe(self, url: str) -> str:
        """The cause of the deny; the ``Location`` is shown with its credentials hidden."""
        to = ""
        if self.location:
            to = f" to {' '.join(hide_url_credentials(self.location).split())[:200]}"
        return (f"OPA server at {url} answered HTTP {self.status}, a redirect{to}: redirects "
                "are refused; set opa_url to the address OPA itself answers at")


class _DeadlineAdapter:
    """A requests transport adapter that bounds each request as a whole.

    requests' timeout bounds connecting and each read, not the answer: a server that sends
    its headers, then its body a byte at a time, was waited on for minutes and its verdict
    taken. Here the request runs, body read and all, in a daemon thread that the caller
    waits on for ``deadline_s`` at most; past that the caller gets ``_DeadlineMissed`` and
    the connection is shut down, which ends the thread's read (a server still trickling
    its headers keeps that thread until it stops or a read times out).

    It is every request's transport, so it also refuses redirects (``_RedirectRefused``)
    before requests' session can follow one.
    """

    def __init__(self, deadline_s: float) -> None:
        from requests.adapters import HTTPAdapter

        self.deadline_s = deadline_s
        self._inner = HTTPAdapter(max_retries=0)

    def send(self, request: Any, stream: bool = False, **kwargs: Any) -> Any:
        """``HTTPAdapter.send``, within the deadline (the body read here unless ``stream``)."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                box["response"] = response = self._inner.send(request, stream=True, **kwargs)
                if not stream:
                    _ = response.content  # the body, read inside the deadline
                box["result"] = response
            except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name="opa-request", daemon=True).start()
        if not done.wait(self.deadline_s):
            _shut_down(box.get("response"))
            raise _DeadlineMissed(f"no complete answer within {self.deadline_s:g} s")
        if "error" in box:
            raise box["error"]
        response = box["result"]
        if 300 <= response.status_code < 400:
            response.close()
            raise _RedirectRefused(response.status_code, response.headers.get("Location"))
        return response

    def close(self) -> None:
        """Close the pooled connections."""
        self._inner.close()


def _shut_down(response: Any) -> None:
    """Shut down the socket of a response being read, so that the read ends now."""
    connection = getattr(getattr(response, "raw", None), "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the read ended anyway


class OpaEngine(FailClosedEngine):
    """Policy engine that asks an OPA server (``POST /v1/data/baton_<hash16>/baton_guard/…``)."""

    name = ENGINE_NAME

    def __init__(self, bundle: PolicyBundle, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 keep_unused_s: float = KEEP_UNUSED_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.bundle = bundle
        self.bundle_hash = bundle.bundle_hash
        self.url = url
        # Messages, logs and decisions name the server without credentials written into its URL.
        self.shown_url = hide_url_credentials(url)
        self.timeout_s = timeout_s
        self.keep_unused_s = keep_unused_s
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded = False
        self._last_beat = 0.0  # time.monotonic() of the last used_at refresh
        self._client_obj: Any = None
        self._namespaced: NamespacedBundle | None = None

    @property
    def namespace(self) -> str:
        """This bundle's root on the server (``baton_<hash16>``)."""
        return self._pushed_form().namespace

    def _pushed_form(self) -> NamespacedBundle:
        if self._namespaced is None:
            try:
                self._namespaced = namespaced(self.bundle)
            except NamespaceError as exc:
                raise EngineFailure(str(exc)) from exc
        return self._namespaced

    def _connected(self) -> Any:
        with self._lock:
            if self._client_obj is None:
                self._client_obj = _client(self.url, self.timeout_s)
            if not self._loaded:
                self._ensure_loaded(self._client_obj)
                self._loaded = True
            elif time.monotonic() - self._last_beat >= HEARTBEAT_S:
                self._mark(self._client_obj, complete=True, quiet=True)
            return self._client_obj

    def _ensure_loaded(self, client: Any) -> None:
        """Push the bundle unless the registry says its namespace holds all of it."""
        form = self._pushed_form()
        entry = _registry(client, form.namespace)
        if entry.get("bundle_hash") not in (None, self.bundle_hash):
            # Two bundles whose hashes share 16 hex digits: refuse rather than judge with the other.
            raise EngineFailure(f"OPA namespace {form.namespace} holds bundle "
                                f"{str(entry.get('bundle_hash'))[:16]}…, not this one")
        if entry.get("complete") is True:
            self._mark(client, complete=True, quiet=True)
            return
        self._push(client)

    def _push(self, client: Any) -> None:
        """Push every module, the guard and the data, then mark the namespace complete."""
        form = self._pushed_form()
        # Marked first (incomplete, used now): a collector elsewhere leaves a push in progress be.
        self._mark(client, complete=False)
        client.update_or_create_data(form.data, form.data_path)
        *modules, guard = form.modules
        _put_in_rounds(client, modules)
        client.update_policy_from_string(guard[1], guard[0], rego_compat=False)
        self._mark(client, complete=True)
        log.info("policy.opa_loaded", url=self.shown_url, bundle_hash=self.bundle_hash,
                 namespace=form.namespace)
        self._collect_unused(client)

    def _mark(self, client: Any, *, complete: bool, quiet: bool = False) -> None:
        """Write this namespace's registry entry (bundle hash, complete, used_at now)."""
        entry = {"bundle_hash": self.bundle_hash, "complete": complete,
                 "used_at": int(self._clock())}
        try:
            client.update_or_create_data(entry, f"{REGISTRY_ROOT}/{self.namespace}")
        except Exception as exc:
            if not quiet:
                raise
            # A refresh that fails costs nothing now: at worst the namespace is collected
            # and pushed again on its next use.
            log.warning("policy.opa_mark_failed", url=self.shown_url, error=type(exc).__name__)
            return
        self._last_beat = time.monotonic()

    def _collect_unused(self, client: Any) -> None:
        """Delete the namespaces of other bundles that nobody has used for ``keep_unused_s``."""
        try:
            registry = client.get_data(REGISTRY_ROOT).get("result", {})
            policy_ids = client.get_policies_list()
        except Exception as exc:  # noqa: BLE001 - collecting is housekeeping; never fail a push
            log.warning("policy.opa_collect_failed", url=self.shown_url, error=type(exc).__name__)
            return
        if not isinstance(registry, Mapping):
            return
        cutoff = self._clock() - self.keep_unused_s
        for namespace, entry in registry.items():
            if (namespace == self.namespace or not is_namespace(namespace)
                    or not _unused(entry, cutoff)):
                continue
            try:
                _delete_namespace(client, namespace, policy_ids)
                log.info("policy.opa_namespace_deleted", url=self.shown_url, namespace=namespace)
            except Exception as exc:  # noqa: BLE001 - one namespace; the next push tries again
                log.warning("policy.opa_namespace_delete_failed", url=self.shown_url,
                            namespace=namespace, error=type(exc).__name__)

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
            # The server may have restarted or collected the namespace: push the bundle again
            # (even if the registry says it is there) and ask once more; still missing is a deny.
            log.warning("policy.opa_result_missing", url=self.shown_url, rule=rule)
            try:
                with self._lock:
                    self._push(self._client_obj)
            except EngineFailure:
                raise
            except Exception as exc:
                raise EngineFailure(_describe(exc, self.shown_url)) from exc
            result = self._query(rule, policy_input)
        return result

    def _query(self, rule: str, policy_input: Mapping[str, Any]) -> Any:
        """The raw ``result`` of this bundle's ``<rule>``, or None when the server has none."""
        try:
            package = self._pushed_form().query_package
            body = self._client_obj.query_rule(dict(policy_input), package, rule)
        except Exception as exc:
            raise EngineFailure(_describe(exc, self.shown_url)) from exc
        if not isinstance(body, Mapping):
            raise EngineFailure("OPA answered something other than a JSON object")
        return body.get("result")


def _registry(client: Any, namespace: str) -> Mapping[str, Any]:
    """The registry entry of ``namespace``; empty when there is none."""
    try:
        entry = client.get_data(f"{REGISTRY_ROOT}/{namespace}").get("result", {})
    except Exception:  # noqa: BLE001 - an absent entry simply means "push"
        return {}
    return entry if isinstance(entry, Mapping) else {}


def _unused(entry: Any, cutoff: float) -> bool:
    """Whether a registry entry was last used before ``cutoff`` (an entry without a time is not)."""
    used_at = entry.get("used_at") if isinstance(entry, Mapping) else None
    return isinstance(used_at, int | float) and not isinstance(used_at, bool) and used_at < cutoff


def _put_in_rounds(client: Any, modules: list[tuple[str, str]]) -> None:
    """Push ``modules`` (policy id, source) in an order OPA accepts.

    OPA compiles everything it holds on each PUT, so a module that uses rules or functions
    of another is refused until that one is there. Refused modules are tried again after
    the others, round after round; a round that pushes nothing raises the last refusal
    (a module that does not compile, or modules that need each other's rules).
    """
    from opa_client.errors import RegoParseError

    pending = list(modules)
    while pending:
        refused: list[tuple[str, str]] = []
        last: RegoParseError | None = None
        for policy_id, source in pending:
            try:
                client.update_policy_from_string(source, policy_id, rego_compat=False)
            except RegoParseError as exc:
                refused.append((policy_id, source))
                last = exc
        if last is not None and len(refused) == len(pending):
            raise last
        pending = refused


def _delete_in_rounds(client: Any, policy_ids: list[str]) -> None:
    """Delete ``policy_ids``, those that others still use after them (OPA refuses to
    delete a module whose removal leaves the rest uncompilable)."""
    from opa_client.errors import DeletePolicyError

    pending = list(policy_ids)
    while pending:
        refused: list[str] = []
        last: DeletePolicyError | None = None
        for policy_id in pending:
            try:
                client.delete_policy(policy_id)
            except DeletePolicyError as exc:
                refused.append(policy_id)
                last = exc
        if last is not None and len(refused) == len(pending):
            raise last
        pending = refused


def _delete_namespace(client: Any, namespace: str, policy_ids: list[str]) -> None:
    """Delete a namespace's modules (its guard first), its data and, last, its registry
    entry (so that a deletion cut short is found and finished by the next collector)."""
    from opa_client.errors import DeleteDataError

    ours = sorted((p for p in policy_ids if p.startswith(f"{namespace}/")),
                  key=lambda p: p != f"{namespace}/{GUARD_PACKAGE}")
    _delete_in_rounds(client, ours)
    try:
        client.delete_data(namespace)
    except DeleteDataError:
        pass  # no data left there
    client.delete_data(f"{REGISTRY_ROOT}/{namespace}")


def _describe(exc: Exception, url: str) -> str:
    name = type(exc).__name__
    if isinstance(exc, _RedirectRefused):
        return exc.describe(url)
    if isinstance(exc, _DeadlineMissed):
        return f"OPA server at {url} did not answer in time ({exc})"
    if "Timeout" in name:
        return f"OPA server at {url} did not answer in time ({name})"
    if "Connection" in name:
        return f"OPA server at {url} cannot be reached ({name})"
    message = getattr(exc, "message", None) or str(exc)
    return f"OPA server at {url} failed: {name}: {' '.join(str(message).split())[:200]}"
