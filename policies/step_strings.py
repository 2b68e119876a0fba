"""The strings of a step's arguments, gathered as the rules about secrets read them.

Every literal string, object keys included, with its JSON path, nearest key, length and
entropy; a JSON or form-encoded text also as what it encodes; the credentials written into
the URLs found in them and into the ``query`` argument; the configured secrets they name.
Bounded by ``MAX_STRINGS_*``: past the limits a step is marked over them, which the policy
denies rather than judge part of it. :mod:`policies.inputs` puts these in each step's entry.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from planner.plan import is_reference
from tools.builtin.http import SECRET_REF
from tools.url_credentials import (
    LINE_REST,
    PARAM_SEPARATOR,
    TEXT_VALUE_END,
    TEXT_VALUE_ENDS,
    URL_REST,
    is_credential_query_param,
    param_readings,
    percent_decoded,
    url_param_pieces,
    url_spans,
)

from .encoded_text import (
    MAX_DECODED_DEPTH,
    MAX_DECODED_TEXT,
    MAX_STRINGS_READ,
    decoded_text,
    may_encode,
)

# decoded_text, its bounds and its cheap test are read from here too (planner.url_literals
# masks what the policy reads).
__all__ = ["DECODED_TEXT_LEVELS", "MAX_DECODED_DEPTH", "MAX_DECODED_TEXT", "decoded_text",
           "iter_strings", "may_encode", "query_credentials", "scanned_strings",
           "secret_names", "shannon_entropy", "url_credentials", "url_lines_in_text",
           "urls_in_text"]

# The rules' time grows with each distinct string scanned (about 0.15 ms apiece on the
# embedded interpreter, which evaluates under one global lock), so the caps bound a step
# and a whole plan decision (at about 1.5 s). Rows of a table repeat their keys and often
# their values: those count once.
MAX_STRINGS_PER_STEP = 5_000
MAX_STRINGS_PER_PLAN = 10_000
# Counting duplicates costs time too: past this many strings, repeated or not, a step is
# over the limit without reading the rest. (Fewer than a text's reading keeps: one read in
# part is always over.)
MAX_STRINGS_SEEN_PER_STEP = MAX_STRINGS_READ - 1


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
    # (decoded_text); ``plan``: ``{"ref": ...}`` is a reference (in a decoded text, and in
    # arguments resolved at run time, it is data).
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
# and read as what it encodes (policies.encoded_text): the literal-secret rules read its keys
# and values decoded too, as they read the same data written as structure (body
# '{"password": "…"}' is json {"password": "…"}; "\u0041KIA…" and
# "-----BEGIN+RSA+PRIVATE+KEY-----" decode to secrets), and a text inside it as what that
# encodes (a webhook's JSON payload in a form field), up to DECODED_TEXT_LEVELS texts deep.
# An argument is one text: a string as it is, a structure (json, query) as the text it is sent
# as. So the same bytes are read as deep whether written as json {"payload": "data=…"} or as
# body '{"payload": "data=…"}': in both, the form is the second text and its JSON the third.
DECODED_TEXT_LEVELS = 3


def _argument_places(args: Any, *, plan: bool) -> Iterator[tuple[str, str, str]]:
    # The places of _string_places, each argument read DECODED_TEXT_LEVELS texts deep, itself
    # the first of them.
    if not isinstance(args, Mapping) or (plan and is_reference(args)):
        yield from _string_places(args, "$.args", "", DECODED_TEXT_LEVELS - 1, plan=plan)
        return
    for position, (name, value) in enumerate(args.items(), start=1):
        yield f"$.args (key {position})", "", str(name)
        levels = DECODED_TEXT_LEVELS if isinstance(value, str) else DECODED_TEXT_LEVELS - 1
        yield from _string_places(value, _child_path("$.args", str(name), position), str(name),
                                  levels, plan=plan)


def scanned_strings(args: Any, *, plan_strings_before: int | None = None) -> dict[str, Any]:
    """The distinct strings the secret rules read and, when there were more than the limits
    allow, why: the policy denies such a step rather than judge part of it.

    ``plan_strings_before`` counts the strings the plan's earlier steps put in the input,
    all charged to ``MAX_STRINGS_PER_PLAN``; None for one call at run time, which is held
    to the per-step limits only. A string seen before under the same nearest key is left
    out: the rules judge a string by its value and key alone, so it would add the same
    finding (the first one's path names where it is). A JSON or form text is also listed
    as what it encodes (:func:`decoded_text`): its keys and values, under its path with
    `` (as JSON)``, `` (as lenient JSON)`` or `` (as form)`` added, counted toward the limits
    as any others. At run time (``plan_strings_before`` None) the arguments are resolved, so
    data shaped like a reference (``{"ref": "AKIA…"}``) is read as data.

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
    # At run time the arguments are resolved: nothing in them is a reference any more.
    places = _argument_places(args, plan=plan_strings_before is not None)
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


# A URL inside any string is found as the URL-password pattern (secret_patterns) finds one
# (tools.url_credentials.url_spans), masking included.
def urls_in_text(text: str) -> Iterator[str]:
    """Each URL written in ``text``: the longest ``scheme://rest`` around each "://", the
    rest ending at white space, a quote, ``<`` or ``>``."""
    return (text[start:end] for start, end in url_spans(text, URL_REST))


def url_lines_in_text(text: str) -> Iterator[str]:
    """Each URL written in ``text`` with the rest of its line (as :func:`urls_in_text`, the
    rest ending only at a line break): where a URL ends in free text is a guess, and an HTTP
    client sends ``?q=O'Brien&access_token=…`` and ``?q=a b&token=…`` whole, percent-encoding
    the quote and the space."""
    return (text[start:end] for start, end in url_spans(text, LINE_REST))


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
            value = TEXT_VALUE_END.split(value.lstrip(TEXT_VALUE_ENDS), maxsplit=1)[0]
        if SECRET_REF.sub("", value) and is_credential_query_param(name):
            yield _shown_param(name, place)


# Where a parameter's value ends in free text (after any of these it starts with): where
# urls_in_text ends a URL.


# A parameter's name that reads as a name, with at most a few brackets of an index or a name
# after it (access_token[0], auth[api_key]).
NAME_LIKE_PARAM = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,40}(?:\[[A-Za-z0-9_-]{0,40}\]){0,4}")


def _shown_param(name: str, place: str) -> str:
    # A deny reason quotes the name; one that does not read as a name could hold anything.
    readable = percent_decoded(name)
    return readable if NAME_LIKE_PARAM.fullmatch(readable) else f"<{place}>"


def secret_names(args: Any, *, resolved: bool = False) -> list[str]:
    """Names of configured secrets the arguments ask for (``${secret:NAME}``); never values.

    Every string is scanned, object keys included, not only ``http.request``'s headers:
    where a secret is written decides nothing about where its tool may send it. In a plan a
    reference names none (what it brings is judged when the step runs); ``resolved``: a
    call's arguments about to be sent, where a mapping shaped like a reference is data
    another step returned, and is read. The executor hands a call the secrets this names,
    and the runtime check judges the same names (``policies.inputs.build_step_input``).
    """
    # The strings _string_places reads (no path needed here), walked without recursion: a
    # resolved output may nest deeper than Python's stack, and every call is read.
    names: set[str] = set()
    stack = [args]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "${secret:" in value:
                names.update(SECRET_REF.findall(value))
        elif isinstance(value, Mapping):
            if resolved or not is_reference(value):
                stack.extend(str(key) for key in value)  # a key is sent like a value
                stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return sorted(names)
