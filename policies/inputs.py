"""Building the policy input document from a plan, its tools and its context.

Facts that Rego cannot derive reliably under the embedded interpreter (URL
hosts, string entropy, hours of the day, reference graphs) are computed here
so that every rule reads plain values.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

from planner.plan import Plan, Step, TemplateOrigin, is_reference
from tools import Effect, ToolRegistry, ToolSpec
from tools.builtin.http import SECRET_REF
from tools.url_credentials import PARAM_SEPARATOR, is_credential_query_param, param_readings, percent_decoded, url_param_pieces

from .contracts import PolicyContext, Requester, StepCall, TemplateCheck

# The rules' time grows with each distinct string scanned (about 0.15 ms apiece on the
# embedded interpreter, which evaluates under one global lock), so the caps bound a step
# and a whole plan decision (at about 1.5 s). Rows of a table repeat their keys and often
# their values: those count once.
MAX_STRINGS_PER_STEP = 5_000
MAX_STRINGS_PER_PLAN = 10_000
# Counting duplicates costs time too: past this many strings, repeated or not, a step is
# over the limit without reading the rest.
MAX_STRINGS_SEEN_PER_STEP = 50_000


def shannon_entropy(text: str) -> float:
    """Bits per character: random tokens score high (>3.5), words low."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _string_fact(path: str, key: str, value: str) -> dict[str, Any]:
    return {"path": path, "key": key, "value": value, "length": len(value),
            "entropy": round(shannon_entropy(value), 3)}


# A key that reads as a name (``password``, ``X-Request-Id``) is quoted in the paths of
# the strings under it; any other key could be a secret, so those paths name its position.
# A name-shaped key that is a secret (an AWS key id) is masked by the policy, which knows
# the secret patterns.
NAME_LIKE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,40}")


def _child_path(path: str, key: str, position: int) -> str:
    return f"{path}.{key}" if NAME_LIKE_KEY.fullmatch(key) else f"{path}.<key {position}>"


def iter_strings(value: Any, path: str = "$.args", key: str = "") -> Iterator[dict[str, Any]]:
    """Every literal string inside ``value``, object keys included, with its JSON path and
    nearest key; references skipped."""
    for place in _string_places(value, path, key):
        yield _string_fact(*place)


def _string_places(value: Any, path: str, key: str, levels: int = 0, *, plan: bool = True
                   ) -> Iterator[tuple[str, str, str]]:
    # (path, key, value) of each string: the scan skips repeats before paying for entropy.
    # ``levels``: how many texts deep a JSON or form text is read as what it encodes as well
    # (decoded_text); ``plan``: ``{"ref": ...}`` is a reference (in a decoded text it is data).
    if plan and is_reference(value):
        return
    if isinstance(value, str):
        yield path, key, value
        decoded = decoded_text(value) if levels else None
        if decoded is not None:
            kind, document = decoded
            yield from _string_places(document, f"{path} (as {kind})", key, levels - 1,
                                      plan=False)
    elif isinstance(value, Mapping):
        for position, (k, item) in enumerate(value.items(), start=1):
            # A key is sent like a value, so a secret written as a key must be seen too. Its
            # path names its position, not its text: a deny reason must never quote a secret.
            # No nearest key: "a random value under a password key" is about values.
            yield f"{path} (key {position})", "", str(k)
            yield from _string_places(item, _child_path(path, str(k), position), str(k),
                                      levels, plan=plan)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _string_places(item, f"{path}[{index}]", key, levels, plan=plan)


# A text that holds a JSON object or array, or a form's fields (a=1&b=2), is sent as it is
# and read as what it encodes: the literal-secret rules read its keys and values decoded too,
# as they read the same data written as structure (body '{"password": "…"}' is json
# {"password": "…"}; "\u0041KIA…" and "-----BEGIN+RSA+PRIVATE+KEY-----" decode to secrets).
# Bounded: a longer text is judged as text only (its windows, as any long string), one nested
# deeper is not read as JSON, and a text inside a decoded text is decoded once more (a
# webhook's JSON payload in a form field), no further.
MAX_DECODED_TEXT = 64 * 1024
MAX_DECODED_DEPTH = 64
DECODED_TEXT_LEVELS = 2
# A form's fields: names as browsers and HTTP clients write them, values with no white space
# nor "&": no URL (its "://"), no sentence.
_FORM_TEXT = re.compile(r"[\w.~*+%\[\]-]+=[^&\s]*(?:&[\w.~*+%\[\]-]+=[^&\s]*)*", re.ASCII)


def decoded_text(text: str) -> tuple[str, Any] | None:
    """What ``text`` encodes when it is a JSON object or array (``("JSON", document)``) or a
    form's fields (``("form", {name: value or [values]})``), within the bounds above; else None.
    A name written twice keeps every value, in a list: a service may read either."""
    if len(text) > MAX_DECODED_TEXT:
        return None
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            document = json.loads(stripped, object_pairs_hook=_all_values)
        except (ValueError, RecursionError):
            return None
        return ("JSON", document) if _depth_within(document, MAX_DECODED_DEPTH) else None
    if "=" in stripped and _FORM_TEXT.fullmatch(stripped):
        return "form", _all_values(parse_qsl(stripped, keep_blank_values=True))
    return None


def _all_values(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    # An object of the pairs; a name given more than once holds the list of its values.
    found: dict[str, list[Any]] = {}
    for name, value in pairs:
        found.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in found.items()}


def _depth_within(document: Any, limit: int) -> bool:
    # Without recursion: the scan recurses once per level, and JSON nests as deep as it likes.
    level = [document]
    for _ in range(limit):
        level = [item for value in level if isinstance(value, Mapping | list)
                 for item in (value.values() if isinstance(value, Mapping) else value)]
        if not level:
            return True
    return False


def scanned_strings(args: Any, *, plan_strings_before: int | None = None) -> dict[str, Any]:
    """The distinct strings the secret rules read and, when there were more than the limits
    allow, why: the policy denies such a step rather than judge part of it.

    ``plan_strings_before`` counts the strings the plan's earlier steps put in the input,
    all charged to ``MAX_STRINGS_PER_PLAN``; None for one call at run time, which is held
    to the per-step limits only. A string seen before under the same nearest key is left
    out: the rules judge a string by its value and key alone, so it would add the same
    finding (the first one's path names where it is). A JSON or form text is also listed
    as what it encodes (:func:`decoded_text`): its keys and values, under its path with
    `` (as JSON)`` or `` (as form)`` added, counted toward the limits as any others.

    ``url_credentials`` lists the credentials written into URLs. Before the run every
    literal string is read (the plan's author wrote each URL in it, even in free text); at
    run time (``plan_strings_before`` None) only the arguments that make the call's URL,
    ``url`` and ``query``: text a reference brought (a copied web page) is data, and the
    plan's own text was judged before the run.
    """
    room = MAX_STRINGS_PER_STEP
    if plan_strings_before is not None:
        room = max(0, min(room, MAX_STRINGS_PER_PLAN - plan_strings_before))
    seen: set[tuple[str, str]] = set()
    found: list[dict[str, Any]] = []
    reason = None
    places = _string_places(args, "$.args", "", DECODED_TEXT_LEVELS)
    for count, (path, key, value) in enumerate(places, start=1):
        if count > MAX_STRINGS_SEEN_PER_STEP:
            reason = f"more than {MAX_STRINGS_SEEN_PER_STEP} strings in its arguments"
            break
        if (key, value) in seen:
            continue
        if len(found) == room:
            reason = _over_room_reason(room)
            break
        seen.add((key, value))
        found.append(_string_fact(path, key, value))
    over = {"strings_over_limit_reason": reason} if reason else {}
    # The url argument is judged even where a repeat of its text elsewhere left it out.
    urls = _url_argument(args)
    in_urls = url_credentials([*found, *urls] if plan_strings_before is not None else urls)
    return {"strings": found, "url_credentials": in_urls + query_credentials(args),
            "strings_over_limit": reason is not None, **over}


def _url_argument(args: Any) -> list[dict[str, Any]]:
    # The ``url`` argument as a string fact, judged whole at run time wherever it came from.
    url = args.get("url") if isinstance(args, Mapping) else None
    return [{"path": URL_ARGUMENT_PATH, "value": url}] if isinstance(url, str) else []


def _over_room_reason(room: int) -> str:
    # Facts, never a string's value: this is quoted in the deny message.
    if room == MAX_STRINGS_PER_STEP:
        return f"more than {MAX_STRINGS_PER_STEP} distinct strings in its arguments"
    return (f"the plan's steps up to this one hold more than {MAX_STRINGS_PER_PLAN} "
            "distinct strings")


# A URL inside any string, found as the URL-password pattern (secret_patterns) finds one:
# a scheme, "://", then everything up to white space or a quote (urls_in_text).
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_URL_REST = re.compile(r"[^\s\"'<>]+")
# ...or everything up to the end of its line (url_lines_in_text), as str.splitlines ends one.
_LINE_REST = re.compile("[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def urls_in_text(text: str) -> Iterator[str]:
    """Each URL written in ``text``: the longest ``scheme://rest`` around each "://", the
    rest ending at white space, a quote, ``<`` or ``>``.

    Linear in the text's length: a regular expression starting a scheme at every letter
    re-read a long run of letters before each "://" once per letter (80,000 took 6.7 s).
    """
    return _urls(text, _URL_REST)


def url_lines_in_text(text: str) -> Iterator[str]:
    """Each URL written in ``text`` with the rest of its line (as :func:`urls_in_text`, the
    rest ending only at a line break): where a URL ends in free text is a guess, and an HTTP
    client sends ``?q=O'Brien&access_token=…`` and ``?q=a b&token=…`` whole, percent-encoding
    the quote and the space."""
    return _urls(text, _LINE_REST)


def _urls(text: str, rest_pattern: re.Pattern[str]) -> Iterator[str]:
    position = text.find("://")
    while position != -1:
        start = position
        while start > 0 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        while start < position and not (text[start].isascii() and text[start].isalpha()):
            start += 1  # a scheme starts with a letter
        # Read on only after a scheme: reading the rest after each of many "://" is quadratic.
        rest = rest_pattern.match(text, position + 3) if start < position else None
        if rest:
            yield text[start:rest.end()]
            position = text.find("://", rest.end())
        else:
            position = text.find("://", position + 1)


# The argument an HTTP client is given as the URL it calls, judged whole.
URL_ARGUMENT_PATH = "$.args.url"


def url_credentials(strings: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Each credential written literally into a URL's query, fragment or path parameters
    (``;jsessionid=``) among ``strings`` (string facts: path and value): the string's path and
    the parameter's name, never its value; each once.

    A parameter is a credential's by its whole name
    (:func:`tools.url_credentials.is_credential_query_param`: ``api_key``, ``access_token``,
    ``sig``; not ``keyword`` nor ``page_token``). An empty value, or one made only of
    ``${secret:NAME}`` references, is not listed: where a configured secret may go is
    secret_destinations.rego's rule. Each parameter is also judged percent-decoded (see
    :func:`_param_readings`), so encoding does not hide one.

    The ``url`` argument (``URL_ARGUMENT_PATH``) is read whole, as the HTTP client sends
    it: a space, a quote, ``<`` or ``>`` in it is percent-encoded and sent with what
    follows. A URL in any other text is read with the rest of its line
    (:func:`url_lines_in_text`), so a credential after such a character is found there too;
    there, a value ends where :func:`urls_in_text` ends a URL (an opening quote aside), so
    that a ``${secret:NAME}`` quoted in a command (``"…?token=${secret:T}" -o out``) or a
    page (``href='…?key=${secret:K}'>``) stays one.
    """
    found: dict[tuple[str, str], None] = {}
    for fact in strings:
        text = fact["value"]
        whole = fact["path"] == URL_ARGUMENT_PATH
        if not whole and "://" not in text:  # most strings stop here
            continue
        urls = [text] if whole else url_lines_in_text(text)
        for url in urls:
            found.update(((fact["path"], name), None)
                         for name in _credential_params(url, in_text=not whole))
    return [{"path": path, "param": name} for path, name in found]


def query_credentials(args: Any) -> list[dict[str, str]]:
    """Each credential written literally into the ``query`` argument (``{"key": "AIza..."}``),
    judged as the same parameter in the URL would be: the entry's path and name, never its value.

    An entry is sent encoded as ``name=value``, so a value holding ``&token=…`` is judged as
    that parameter, as it is once decoded. A value that is a reference is judged at run
    time, once resolved.
    """
    query = args.get("query") if isinstance(args, Mapping) else None
    if not isinstance(query, Mapping):
        return []
    found: list[dict[str, str]] = []
    for position, (name, value) in enumerate(query.items(), start=1):
        values = value if isinstance(value, list | tuple) else [value]
        literal = [v for v in values if isinstance(v, str | int | float) and not isinstance(v, bool)]
        place = f"query parameter {position}"
        params = dict.fromkeys(param for v in literal
                               for param in _entry_credential_names(str(name), str(v), place))
        path = _child_path("$.args.query", str(name), position)
        found.extend({"path": path, "param": param} for param in params)
    return found


def _entry_credential_names(name: str, value: str, place: str) -> Iterator[str]:
    # The entry itself, then the parameters its text holds: the tool sends it encoded, so a
    # service that decodes before it splits reads "q=a&token=…" where the entry says "a&token=…".
    if SECRET_REF.sub("", value) and is_credential_query_param(name):
        yield _shown_param(name, place)
    for piece in PARAM_SEPARATOR.split(f"{name}={value}"):
        yield from _credential_names(piece, place)


def _credential_params(url: str, *, in_text: bool = False) -> Iterator[str]:
    # Read as masking reads it (tools.url_credentials.url_param_pieces): what is refused here is
    # never shown unmasked in a log or the ledger.
    for piece in url_param_pieces(url):
        yield from _credential_names(piece.text, piece.place, named=piece.named, in_text=in_text)


def _credential_names(piece: str, place: str, *, named: bool = True, in_text: bool = False
                      ) -> Iterator[str]:
    # The shown name of each credential among the piece's parameters.
    for name, value in param_readings(piece, named=named):
        if in_text:
            value = _VALUE_END.split(value.lstrip(_VALUE_ENDS), maxsplit=1)[0]
        if SECRET_REF.sub("", value) and is_credential_query_param(name):
            yield _shown_param(name, place)


# Where a parameter's value ends in free text (after any of these it starts with): where
# urls_in_text ends a URL.
_VALUE_ENDS = " \t\"'<>"
_VALUE_END = re.compile(r"[\s\"'<>]")


# A parameter's name that reads as a name, with at most a few brackets of an index or a name
# after it (access_token[0], auth[api_key]).
NAME_LIKE_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,40}(?:\[[A-Za-z0-9_-]{0,40}\]){0,4}")


def _shown_param(name: str, place: str) -> str:
    # A deny reason quotes the name; one that does not read as a name could hold anything.
    readable = percent_decoded(name)
    return readable if NAME_LIKE_PARAM.fullmatch(readable) else f"<{place}>"


def url_facts(url: Any) -> dict[str, Any]:
    """Host, scheme and embedded credentials of a literal URL; a reference is flagged instead."""
    if is_reference(url):
        return {"url_from_ref": True, "url_ref": url["ref"], "host": None}
    if not isinstance(url, str):
        return {"url_from_ref": False, "host": None}
    try:
        parts = urlsplit(url.strip())
        host = _host(parts)
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:
        host, has_credentials, parts = None, False, None
    return {"url_from_ref": False, "host": host, "scheme": parts.scheme if parts else "",
            "url_has_credentials": has_credentials}


def url_host(url: Any) -> str | None:
    """The host a URL goes to (lower case, no trailing dot); None when ``url`` is not a URL."""
    if not isinstance(url, str):
        return None
    try:
        return _host(urlsplit(url.strip()))
    except ValueError:
        return None


def _host(parts: SplitResult) -> str | None:
    host = (parts.hostname or "").lower().rstrip(".")
    return ascii_host(host) or None


def ascii_host(host: str) -> str:
    """``host`` as requests send it: a name with non-ASCII letters in its IDNA form, as the
    HTTP client encodes it (``bücher.example``: ``xn--bcher-kva.example``), so that a host
    is judged by one name however the URL writes it. One the client cannot encode (it
    refuses the URL) is left as it is: no pattern, all ASCII, matches it."""
    if host.isascii():
        return host
    import idna

    try:
        return idna.encode(host).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return host


def effect_for(spec: ToolSpec, args: Mapping[str, Any]) -> Effect:
    """The call's effect; when it depends on arguments that are references, assume ``write``."""
    if spec.effect_from_args is not None and any(is_reference(v) for v in args.values()):
        return Effect.WRITE
    try:
        return spec.effect_of(args)
    except Exception as exc:  # noqa: BLE001 - an effect we cannot compute is treated as the riskier one
        import structlog

        # The exception's type only: its text may quote the arguments, which may hold a secret.
        structlog.get_logger(__name__).warning(
            "policy.effect_unknown", tool=spec.name, error=type(exc).__name__)
        return Effect.WRITE


def secret_names(args: Any) -> list[str]:
    """Names of configured secrets the arguments ask for (``${secret:NAME}``); never values.

    Every string is scanned, not only ``http.request``'s headers: where a secret
    is written decides nothing about where its tool may send it.
    """
    names = {name for _, _, value in _string_places(args, "$.args", "")
             for name in SECRET_REF.findall(value)}
    return sorted(names)


def sent_secret_names(args: Any, endpoint_url: str | None, endpoint_secrets: Sequence[str]) -> list[str]:
    """The secrets one call sends: :func:`secret_names` of its arguments and, for a configured
    HTTP endpoint tool, the secrets its own headers carry (they go to its fixed URL too)."""
    names = set(secret_names(args))
    if endpoint_url is not None:
        names.update(endpoint_secrets)
    return sorted(names)


_NO_URL = object()


def call_url(endpoint_url: str | None, args: Mapping[str, Any]) -> Any:
    """The URL a call goes to: a configured endpoint's fixed URL, else the ``url`` argument.

    An endpoint tool sends its arguments (even one named ``url``) to its fixed URL, so that
    URL is what the egress and secret-destination rules must judge.
    """
    if endpoint_url is not None:
        return endpoint_url
    return args.get("url", _NO_URL)


def _step_entry(step: Step, registry: ToolRegistry, plan_strings_before: int) -> dict[str, Any]:
    spec = registry.get(step.tool) if step.tool in registry else None
    entry: dict[str, Any] = {
        "id": step.id,
        "tool": step.tool,
        "known": spec is not None,
        "effect": effect_for(spec, step.args).value if spec else Effect.WRITE.value,
        "tags": list(spec.tags) if spec else [],
        "region": spec.region if spec else None,
        "tool_secrets": list(spec.secrets) if spec else [],
        "why": step.why,
        "depends_on": list(step.dependencies()),
        "references": [{"path": p, "ref": r.ref, "step": r.step} for p, r in step.references()],
        "secret_names": sent_secret_names(step.args, spec.endpoint_url if spec else None,
                                          spec.secrets if spec else ()),
        **scanned_strings(step.args, plan_strings_before=plan_strings_before),
    }
    url = call_url(spec.endpoint_url if spec else None, step.args)
    if url is not _NO_URL:
        entry["url"] = url_facts(url)
    return entry


# The tag of a tool that reads or writes files in the workspace (``files.*``; a plugin's tool
# that uses ``ToolContext.workspace`` says so with it too).
WORKSPACE_TAG = "workspace"


def data_sources(plan: Plan, registry: ToolRegistry) -> dict[str, list[str]]:
    """For each step, every step whose data may reach it (transitively, sorted): see
    :func:`step_data_sources`."""
    feeds = DataFeeds(plan, registry)
    return {step.id: feeds.upstream(step.id) for step in plan.steps}


def step_data_sources(plan: Plan, registry: ToolRegistry, step_id: str) -> list[str]:
    """Every step whose data may reach ``step_id``, directly or through others (sorted):
    the plan decision (each step's ``data_sources``, plus the plan's ``workspace_sources``
    where ``reads_workspace``) and the executor's check before a call both ask
    :class:`DataFeeds`, so the two judge the same sources.

    A step is fed by the steps it references or depends on (``depends_on``): one may write
    a file that it reads back, so every dependency counts as a flow of data (conservative
    taint). A step of a workspace tool (tagged ``workspace``, or unknown) is also fed by
    every step of the plan that may write to the workspace, whatever ``depends_on`` says:
    with no ``depends_on`` a read may still run after the write (one step at a time, or
    again on a resume), and the workspace outlives a run, so a read that runs first may read
    what an earlier run of the same plan wrote. Paths are not compared: a symlink inside
    the workspace, or a case-insensitive file system, makes two spellings one file.
    """
    return DataFeeds(plan, registry).upstream(step_id)


class DataFeeds:
    """Where each step's data may come from, in two parts (the executor keeps one per run).

    ``own(step)``: the steps it reaches through references and ``depends_on``.
    ``workspace_sources``: the workspace writes with every step that feeds them, the same for
    every workspace step, so computed once. A step that reaches a workspace step
    (``reads_workspace``: itself, or one of ``own``) is fed by both. The policy input lists
    the shared part once rather than in every step's entry: n writes made n² entries.
    """

    def __init__(self, plan: Plan, registry: ToolRegistry) -> None:
        known = {s.id for s in plan.steps}
        self.direct = {s.id: [d for d in s.dependencies() if d in known] for s in plan.steps}
        self.in_workspace = {s.id for s in plan.steps if _uses_workspace(s, registry)}
        self.writes = sorted(s.id for s in plan.steps if s.id in self.in_workspace
                             and _may_write(s, registry))
        # The writes are workspace steps: their closure needs no workspace step added again.
        self.workspace_sources = sorted(self._closure(self.writes))

    def _closure(self, starts: Sequence[str]) -> set[str]:
        # The starts and every step they reach through references and depends_on.
        seen = set(starts)
        todo = list(starts)
        while todo:
            for source in self.direct.get(todo.pop(), ()):
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return seen

    def own(self, step_id: str) -> list[str]:
        """The steps reaching ``step_id`` through references and depends_on (sorted), itself
        left out."""
        return sorted(self._closure([step_id]) - {step_id})

    def reads_workspace(self, step_id: str, own: Sequence[str] | None = None) -> bool:
        """Whether ``step_id`` or a step feeding it (``own``) uses the workspace."""
        own = self.own(step_id) if own is None else own
        return step_id in self.in_workspace or any(s in self.in_workspace for s in own)

    def upstream(self, step_id: str) -> list[str]:
        """Every step whose data may reach ``step_id`` (sorted), itself left out."""
        own = self.own(step_id)
        if not self.reads_workspace(step_id, own):
            return own
        return sorted((set(own) | set(self.workspace_sources)) - {step_id})


def _uses_workspace(step: Step, registry: ToolRegistry) -> bool:
    # An unknown tool could do anything (the plan decision denies it anyway).
    return step.tool not in registry or WORKSPACE_TAG in registry.get(step.tool).tags


def _may_write(step: Step, registry: ToolRegistry) -> bool:
    # As the plan decision counts the effect: one decided from references counts as a write.
    if step.tool not in registry:
        return True
    return effect_for(registry.get(step.tool), step.args) is Effect.WRITE


def context_facts(context: PolicyContext) -> dict[str, Any]:
    """The context with the hour and weekday (UTC) precomputed; Rego time parsing is not relied on."""
    now = context.now if context.now.tzinfo else context.now.replace(tzinfo=UTC)
    utc = now.astimezone(UTC)
    return {"now": utc.isoformat(), "hour_utc": utc.hour, "weekday": utc.strftime("%A").lower(),
            "environment": context.environment}


def author_facts(plan: Plan, requester: Requester, author: Requester | None,
                 added_tools: Collection[str] | None) -> dict[str, Any]:
    """The version's author with the tools the role rule judges them for (sorted)."""
    if author is None or author.id == requester.id:
        return {**requester.model_dump(mode="json"), "added_tools": []}
    tools = {s.tool for s in plan.steps} if added_tools is None else set(added_tools)
    return {**author.model_dump(mode="json"), "added_tools": sorted(tools)}


def build_policy_input(
    plan: Plan,
    registry: ToolRegistry,
    *,
    requester: Requester,
    context: PolicyContext,
    author: Requester | None = None,
    added_tools: Collection[str] | None = None,
    origin: TemplateOrigin | None = None,
    template: TemplateCheck | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document ``data.baton.decision`` is evaluated over.

    ``author`` wrote this version (the requester when None). The role rule judges the
    requester for every tool (the run acts for them) and an author who is someone else for
    ``added_tools``, the tools this version adds to the one it supersedes: a reviser must not
    borrow the requester's roles to add a tool, yet may revise a plan whose tools they lack.
    ``added_tools`` None means the previous version is unknown, so every tool counts as added.
    """
    feeds = DataFeeds(plan, registry)
    steps = []
    plan_strings = 0
    for step in plan.steps:
        entry = _step_entry(step, registry, plan_strings)
        # A workspace step is also fed by every step in workspace_sources, listed once.
        entry["data_sources"] = feeds.own(step.id)
        entry["reads_workspace"] = feeds.reads_workspace(step.id, entry["data_sources"])
        plan_strings += len(entry["strings"])
        steps.append(entry)
    if isinstance(template, Mapping):
        template = TemplateCheck.model_validate(template)
    return {
        "kind": "plan",
        "plan": {"goal": plan.goal, "hash": plan.plan_hash(), "step_count": len(plan.steps)},
        "steps": steps,
        "workspace_sources": feeds.workspace_sources,
        "requester": requester.model_dump(mode="json"),
        "author": author_facts(plan, requester, author, added_tools),
        "context": context_facts(context),
        "origin": origin.model_dump(mode="json") if origin else None,
        "template": template.model_dump(mode="json") if template else None,
    }


def build_step_input(call: StepCall, *, now: datetime | None = None) -> dict[str, Any]:
    """The document ``data.baton.step_decision`` is evaluated over: one call, values resolved."""
    entry: dict[str, Any] = {
        "id": call.step_id,
        "tool": call.tool,
        "effect": call.effect,
        "tags": list(call.tags),
        "region": call.region,
        **scanned_strings(call.args),
        "secret_names": sent_secret_names(call.args, call.endpoint_url, call.endpoint_secrets),
        "source_regions": sorted(set(call.source_regions)),
        "source_tools": sorted(set(call.source_tools)),
        "source_hosts": sorted(set(call.source_hosts)),
    }
    url = call_url(call.endpoint_url, call.args)
    if url is not _NO_URL:
        entry["url"] = url_facts(url)
    return {
        "kind": "step",
        "run_id": call.run_id,
        "plan_id": call.plan_id,
        "step": entry,
        "requester": call.requester.model_dump(mode="json"),
        "context": context_facts(PolicyContext(now=now or datetime.now(UTC))),
    }


def step_call_for(
    plan: Plan,
    step_id: str,
    resolved_args: Mapping[str, Any],
    registry: ToolRegistry,
    *,
    run_id: str,
    plan_id: str,
    requester: Requester,
    source_urls: Mapping[str, str] | None = None,
) -> StepCall:
    """The ``StepCall`` the executor checks before calling ``step_id`` with ``resolved_args``.

    ``source_urls`` holds the URLs source steps resolved to when they ran (by step id); a
    source step not in it counts by the URL the plan wrote for it, if a literal one.
    """
    spec = registry.get(plan.step(step_id).tool)
    tools, regions, hosts = set(), set(), set()
    for source in step_data_sources(plan, registry, step_id):
        step = plan.step(source)
        tools.add(step.tool)
        source_spec = registry.get(step.tool) if step.tool in registry else None
        if source_spec is not None and source_spec.region:
            regions.add(source_spec.region)
        url = call_url(source_spec.endpoint_url if source_spec else None, step.args)
        if source_spec is None or source_spec.endpoint_url is None:
            url = (source_urls or {}).get(source, url)
        if host := url_host(url):
            hosts.add(host)
    return StepCall(
        run_id=run_id, plan_id=plan_id, step_id=step_id, tool=spec.name,
        effect=effect_for(spec, resolved_args).value, args=dict(resolved_args),
        tags=spec.tags, region=spec.region, endpoint_url=spec.endpoint_url,
        endpoint_secrets=spec.secrets if spec.endpoint_url else (), requester=requester,
        source_regions=tuple(sorted(regions)), source_tools=tuple(sorted(tools)),
        source_hosts=tuple(sorted(hosts)),
    )
