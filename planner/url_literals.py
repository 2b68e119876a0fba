"""Keeping the credentials written into URLs out of stored plans, prompts and what readers see.

The policy rule against literal credentials in URLs refuses a plan whose URL carries one
(``?token=…``, ``?pass%2577ord=…``, ``/db;password=…``, ``;jsessionid=…``), naming the
parameter. Refusing is not enough: the goal that asked for it, the plan as stored, its
template parameters and every record of them would still hold the credential, and the
ledger cannot forget. So each value that rule refuses is hidden as ``***`` (:data:`MASK`)
before any of them is stored, recorded, shown or sent to the model, its name kept: the
masked URL is refused for the same parameter at the same place, so the policy judges the
stored plan as it would have judged the plan written, and the denial still names it.

Parameters are read as the rule reads them, with :mod:`tools.url_credentials`
(:func:`~tools.url_credentials.url_param_pieces`, :func:`~tools.url_credentials.param_readings`,
:func:`~tools.url_credentials.is_credential_query_param`): only names it refuses are
masked, so ``?page_token=`` or ``?sort_key=`` keep their values and a plan using them runs as
written. (Logs and listings hide more: :func:`tools.url_credentials.hide_url_credentials`.)
A value the rule would read only once decoded (``?q=a%26token%3D…``) is shown decoded, the
credential masked (``?q=a&token=***``): hidden whole, the URL would no longer be refused.

User information is hidden too (``https://user:pw@host``, ``https://TOKEN@host``), exactly
as :func:`~tools.url_credentials.hide_url_credentials` shows it in logs and listings:
``user:***@host``, and in an http(s) URL a user alone (how many services take a token) as
``***@host``; a user name elsewhere (``postgresql://alice@db``) is kept. What is left still
carries user information, so the rule against it in the URL a step calls still denies the
plan, and ``user:***@`` is still a password inside a URL to the secret patterns.

Text is read as the policy reads it, not only as written. A JSON or form text (a body, a
model's reply) is also read as what it encodes (``policies.step_strings.decoded_text``, as deep
as the policy reads it): where masking it as text leaves a credential its decoding holds
(``https:\\/\\/…?token=…``, ``\\u0074oken=…``, ``cb=https%3A%2F%2F…%3Ftoken%3D…``), it is written
again from its decoding masked, else hidden whole. User information is also hidden where the
secret pattern finds a password inside a URL (RE2's blanks end it, not U+00A0 nor U+2028), in a
scheme-relative URL (``//user:pw@host``), and in a ``query`` entry's name (``token%3D…``).
A model's reply is read as the planner reads it (:func:`masked_reply`), and hidden whole where
what is left shows a credential once its JSON escapes are read (prose, a reply cut short).

A mask is never sent anywhere: such a plan is denied, and one the policies let through is
held back by the shell (``baton.usecases.plans.held_secrets``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from tools.url_credentials import (
    HIDDEN,
    LINE_REST,
    PARAM_SEPARATOR,
    TEXT_VALUE_END,
    TEXT_VALUE_ENDS,
    is_credential_query_param,
    param_readings,
    percent_decoded,
    url_param_pieces,
    url_spans,
)

from .plan import REF
from .url_user_information import (
    hide_user_information,
    hidden_passwords,
    user_credentials,
    user_credentials_left,
)
from .versions import StoredVersion

MASK = HIDDEN
# The argument an HTTP client is given as the URL it calls: read whole, as it is sent.
URL_ARGUMENT = "url"
# The argument whose entries an HTTP client adds to the URL's query.
QUERY_ARGUMENT = "query"

# Where the rule ends a value written in free text, and how it finds a URL there: a scheme,
# "://" and the rest of the line (tools.url_credentials: TEXT_VALUE_END(S), url_spans,
# LINE_REST), the same code the policies read with.
_KEEPING_SEPARATORS = re.compile(f"({PARAM_SEPARATOR.pattern})")
# Rounds of masking one parameter's text: each masks at least one value or stops.
_MAX_ROUNDS = 20


def hide_url_literals(text: str, *, whole: bool = True) -> str:
    """``text``, one URL, with the value of each parameter the rule refuses as ``***``.

    ``whole``: the URL as an HTTP client is given it (a value runs to the end of its
    parameter); otherwise as found in free text (a value ends at white space or a quote).
    User information is hidden first (:func:`hide_user_information`): a parameter's value
    read to its end could otherwise take the "@" and the host with it (``u:pw;token=x@host``).
    """
    text = hide_user_information(text, whole=whole)
    shown, end = [], len(text)
    for piece in reversed(list(url_param_pieces(text))):
        hidden = _hidden_piece(piece.text, named=piece.named, in_text=not whole)
        if hidden != piece.text:
            shown += [text[piece.end:end], hidden]
            end = piece.start
    return text[:end] + "".join(reversed(shown))


def masked_text(text: str) -> str:
    """``text`` (a goal, feedback, a message) with each URL in it masked as the rule reads a
    URL in text: from its scheme to the end of its line; then each password the secret
    pattern finds and each scheme-relative URL's user information hidden."""
    if "//" not in text:  # most texts stop here
        return text
    shown, end = [], len(text)
    for start, stop in reversed(list(_url_lines(text))):
        shown += [text[stop:end], hide_url_literals(text[start:stop], whole=False)]
        end = start
    text = text[:end] + "".join(reversed(shown))
    return hidden_passwords(hide_user_information(text, whole=False))


def masked_value(value: Any) -> Any:
    """``value`` (JSON-like data: a template's parameters, problems, a model's messages) with
    every string in it, keys included, masked as text (:func:`masked_text`), and a JSON or form
    text also as what it encodes, as deep as the policy reads one (a key is read as text only).
    """
    return _masked(value, _levels())


def masked_decoding(text: str, levels: int) -> tuple[Any, Any] | None:
    """What ``text`` encodes as the policy reads it, ``levels`` texts deep more (a JSON or form
    text's document), and that masked as :func:`masked_value` masks it there; None where it
    encodes nothing."""
    decoded = _decoded(text, levels)
    return None if decoded is None else (decoded[1], _masked(decoded[1], levels - 1))


def masked_args(args: Any) -> Any:
    """A step's ``args`` masked as the rule reads them: the ``url`` argument whole, each
    entry of the ``query`` argument as the parameter it adds (its name too), every other string
    as text and, when a JSON or form text, as what it encodes. A reference (``{"ref": ...}``)
    is kept: it holds no literal. A malformed one is data, masked as such."""
    if not isinstance(args, Mapping):
        return masked_value(args)
    masked = {}
    for key, value in args.items():
        if key == URL_ARGUMENT and isinstance(value, str):
            masked[key] = _masked_url_argument(value)
        elif key == QUERY_ARGUMENT and isinstance(value, Mapping):
            masked[key] = dict(_masked_entry_pair(name, entry) for name, entry in value.items())
        else:
            masked[_masked_key(key)] = _masked_data(value)
    return masked


def masked_document(document: Any) -> Any:
    """A plan document (a plan's wire form, or what was submitted as one) masked: each step's
    ``args`` as :func:`masked_args` reads them, every other string as text."""
    if not isinstance(document, Mapping) or not isinstance(document.get("steps"), list):
        return masked_value(document)
    steps = [{k: masked_args(v) if k == "args" else masked_value(v) for k, v in step.items()}
             if isinstance(step, Mapping) else masked_value(step) for step in document["steps"]]
    return {**{k: masked_value(v) for k, v in document.items() if k != "steps"}, "steps": steps}


def masked_reply(reply: str) -> str:
    """A model's ``reply`` as recorded and sent back to it: masked as text
    (:func:`masked_value`), and when the plan the planner reads in it
    (``planner.llm.prompt.extract_json``, the JSON text of each step's arguments decoded) holds
    a credential that stays, that plan written again masked (its "/" escaped), what surrounds
    it left out; each value hidden so (:func:`reply_hidden_values`) masked wherever else the
    reply writes it (a step's why quoting the goal's ``token=…``). Hidden whole where it cannot
    be, or where what is left still shows a credential once its JSON escapes are read
    (``https:\\/\\/…?token=…`` in prose, or in a reply cut short: no plan is read from either).
    """
    from .url_splices import with_splices_masked

    shown, data, hidden, masks = _reply_masked(reply)
    if hidden != data:
        written = json.dumps(with_splices_masked(hidden, masks),
                             ensure_ascii=False).replace("/", "\\/")
        shown = written if masked_value(written) == written else MASK
    shown = with_splices_masked(shown, masks)
    return MASK if any(masked_text(text) != text for text in _escapes_read(shown)) else shown


def reply_hidden_values(reply: str) -> list[str]:
    """The values :func:`masked_reply` hides in ``reply`` (``planner.url_splices.hidden_values``:
    at least ``MIN_HIDDEN_CHARS`` long): to be masked wherever else they are written, in the
    goal the model may have copied them from."""
    return list(_reply_masked(reply)[3])


def holds_user_credentials(args: Any) -> bool:
    """Whether a URL in a step's ``args`` carries user information that is hidden when shown,
    or shows it hidden (``user:***@``, ``***@``): run, the step would send or write the
    credential (a version stored before they were masked), or the mask in its place. A JSON
    or form text is read as what it encodes too, as deep as the policy reads one."""
    return _holds_user_credentials(args, _levels())


def masked_stored(stored: StoredVersion) -> StoredVersion:
    """``stored`` as a reader may see it: each credential in its URLs masked.

    For a version stored before they were masked when stored. Only the view changes:
    ``plan_hash`` stays the stored hash (never run, approve or re-hash what this returns).
    """
    from pydantic import ValidationError

    data = stored.model_dump(mode="json")
    text = {key: data[key] for key in ("goal", "origin", "problems", "feedback", "error")}
    masked = {**masked_value(text), "plan": masked_document(data["plan"]),
              "document": masked_document(data["document"])}
    if masked == {**text, "plan": data["plan"], "document": data["document"]}:
        return stored
    try:
        return StoredVersion.model_validate({**data, **masked})
    except ValidationError:  # shown as a document that is not a well-formed plan
        plan = masked["plan"]
        return StoredVersion.model_validate({**data, **masked, "document": plan,
                                             "plan": {"goal": plan["goal"], "steps": []}})


def _masked(value: Any, levels: int) -> Any:
    # Every string masked as text and, ``levels`` texts deep, as what a JSON or form text
    # encodes; keys as text only (the policy reads a key so).
    if isinstance(value, str):
        return _masked_string(value, levels)
    if isinstance(value, Mapping):
        return {_masked_key(k): _masked(v, levels) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, levels) for item in value]
    return value


def _masked_key(key: Any) -> Any:
    return masked_text(key) if isinstance(key, str) else key


def _masked_data(value: Any) -> Any:
    # Inside the arguments: a reference holds no literal.
    if _is_reference(value):
        return value
    if isinstance(value, Mapping):
        return {_masked_key(k): _masked_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_data(item) for item in value]
    return masked_value(value)


def _is_reference(value: Any) -> bool:
    """Whether ``value`` is a well-formed reference: a malformed one (``{"ref": "https://…"}``)
    makes the plan invalid, and is stored as the data it is, masked."""
    return (isinstance(value, Mapping) and set(value) == {"ref"}
            and isinstance(value["ref"], str) and REF.fullmatch(value["ref"]) is not None)


@functools.cache
def _step_strings() -> Any:
    # How the policy reads strings (policies.step_strings): a text as what it encodes, how many
    # texts deep, the credentials refused where. Imported when first needed: the policies
    # package loads its engines.
    from policies import step_strings

    return step_strings


def _levels() -> int:
    return _step_strings().DECODED_TEXT_LEVELS


def _decoded(text: str, levels: int) -> tuple[str, Any] | None:
    """What ``text`` encodes as the policy reads it (``("JSON" | "form", document)``), when it
    is read ``levels`` texts deep more; else None."""
    step_strings = _step_strings()
    if not levels or not step_strings.may_encode(text):
        return None  # most texts stop here (the policy's own cheap test: a BOM is skipped)
    return step_strings.decoded_text(text)


def _masked_string(text: str, levels: int) -> str:
    """``text`` masked as text and, where the policy reads it as what it encodes too, so.

    Masked as text, a JSON or form text usually hides what its decoding holds as well, and
    keeps its form. Where it does not (``https:\\/\\/…``, ``\\u0026token=``, an encoded form
    field), it is written again from its decoding masked, else hidden whole: never less than
    the policy reads.
    """
    shown = masked_text(text)
    decoded = _decoded(text, levels)
    if decoded is None:
        return shown
    kind, document = decoded
    hidden = _masked(document, levels - 1)
    if hidden == document or _decoded(shown, levels) == (kind, hidden):
        return shown
    if shown != text and _clean(shown, levels):
        # Masked as text, it hid at least what its decoding holds: kept, the plain reading's
        # refusals with it. The decoding can hide less ("token=Zk3x+9Qp…": "+" decodes to a
        # space, which ends the value early, and its tail would be written again).
        return shown
    return _encoded(kind, hidden, levels, around=text) or MASK


def _encoded(kind: str, document: Any, levels: int, *, around: str) -> str | None:
    """``document`` written again as a ``kind`` text in place of ``around``, its blanks kept:
    of the writings that read back as ``document`` and that masking leaves as they are, one
    the policy refuses for the same parameters at the same places as ``around`` (so that it
    denies the plan for the same reasons), else at least there, else any; None when none fits.
    """
    # Blanks and a byte order mark (which str.strip keeps) around the text: the policy skips
    # them, and the stored text keeps them.
    lead = _LEAD.match(around).group()
    trail = around[len(around) - _LEAD.match(around[::-1]).end():]
    fits = [text for text in (f"{lead}{written}{trail}"
                              for written in _writings(kind, document, plain="://" in around))
            if _decoded(text, levels) == (kind, document) and _clean(text, levels)]
    if len(fits) < 2:
        return fits[0] if fits else None
    before = _refused_places(around)
    return min(fits, key=lambda text: (_refused_places(text) != before,
                                       not before <= _refused_places(text)))


# Read from the start, and for the blanks at the end from the end (reversed): searched for,
# "[\s\ufeff]*\Z" read each run of blanks again from each of its blanks.
_LEAD = re.compile(r"[\s\ufeff]*")


def _writings(kind: str, document: Any, *, plain: bool) -> list[str]:
    """``document`` written as a ``kind`` text: plainly, and so that a URL in it shows no
    "://" to the reading as text (each "/" escaped, or each value percent-encoded whole),
    which would take a backslash before an escaped quote for part of a value. The plain
    writing first when ``plain`` (the text written showed a URL)."""
    if kind == "JSON":
        written = json.dumps(document, ensure_ascii=False)
        # The last: a lone surrogate written as its escape.
        found = [written, written.replace("/", "\\/"), json.dumps(document).replace("/", "\\/")]
    else:
        try:
            found = ["&".join(f"{quote(name, safe='')}={quote(value, safe=safe)}"
                              for name, values in document.items()
                              for value in (values if isinstance(values, list) else [values]))
                     for safe in (":/?=@*", "")]
        except UnicodeEncodeError:  # a lone surrogate: no writing of it reads back
            return []
    return found if plain else [*found[1:], found[0]]


def _refused_places(text: str) -> set[tuple[str, str]]:
    # Where the policy rule refuses a credential in ``text`` (an argument), and which.
    found = _step_strings().scanned_strings({"text": text}, plan_strings_before=0)
    return {(place["path"], place["param"]) for place in found["url_credentials"]}


def _clean(text: str, levels: int) -> bool:
    # Whether masking leaves ``text`` as it is: as text, and what it encodes.
    if masked_text(text) != text:
        return False
    decoded = _decoded(text, levels)
    return decoded is None or _masked(decoded[1], levels - 1) == decoded[1]


def _masked_url_argument(url: str) -> str:
    """The url argument masked: its parameters and user information as the rule reads them,
    and the passwords the secret pattern finds in it (masked again until nothing changes).
    Hidden whole where user information is left (the refusal is then lost, and the version
    stored invalid), where hiding a password the pattern finds would change how the URL is
    read (``https://h:?pw@x``: host h), or where a JSON or form text it is holds a credential
    (never seen)."""
    from policies.inputs import url_facts  # how the policy reads it; loaded when first needed

    levels = _levels()
    decoded = _decoded(url, levels)
    if decoded is not None and _masked(decoded[1], levels - 1) != decoded[1]:
        return MASK
    shown = url
    for _ in range(_MAX_ROUNDS):
        hidden = hide_url_literals(shown)
        masked = hidden_passwords(hidden)
        if masked != hidden and url_facts(masked) != url_facts(hidden):
            return MASK
        if masked == shown:
            return MASK if user_credentials_left(shown) else shown
        shown = masked
    return MASK


def _masked_entry_pair(name: Any, value: Any) -> tuple[Any, Any]:
    """One entry of the ``query`` argument, sent as ``name=value``: a credential written into
    its name (``token%3D…%26format``, ``api_key=…``) hidden there, then its value masked as
    the parameter it adds."""
    if not isinstance(name, str):
        return name, _masked_data(value)
    name = _hidden_piece(masked_text(name), named=True, in_text=False)
    return name, _masked_entry(name, _masked_data(value))


def _masked_entry(name: str, value: Any) -> Any:
    """One entry of the ``query`` argument: sent as ``name=value``, it is judged so."""
    if isinstance(value, list | tuple):
        return [_masked_entry(name, item) for item in value]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return value  # not sent as text
    if _refused(name, str(value), in_text=False):
        return MASK  # a number too (?pin=12345678): the entry then holds text
    if not isinstance(value, str):
        return value
    hidden = hide_url_literals(f"?{name}={value}")
    prefix = f"?{name}="
    return hidden[len(prefix):] if hidden.startswith(prefix) else MASK


def _masked_reply_data(value: Any) -> Any:
    # The plan a reply holds, masked: a JSON text in it (a step's arguments, however long) as
    # the arguments it encodes, written again when masked; every other string as text.
    if isinstance(value, Mapping):
        return {_masked_key(k): _masked_reply_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_reply_data(item) for item in value]
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value) if value.lstrip()[:1] in ("{", "[") else None
    except (ValueError, RecursionError):
        decoded = None
    if decoded is None:
        return masked_value(value)
    hidden = masked_args(decoded)
    if hidden == decoded:
        return masked_value(value)
    return json.dumps(hidden, ensure_ascii=False).replace("/", "\\/")


def _reply_masked(reply: str) -> tuple[str, Any, Any, dict[str, str]]:
    """``reply`` masked as text; the plan the planner reads in it (None: none) and that plan
    masked; each value either masking hid, or masking hid in what the reply reads as once its
    JSON escapes are read, with ``***`` to write instead."""
    from .url_splices import hidden_values

    shown = masked_value(reply)
    data = _reply_plan(reply)
    hidden = None if data is None else _masked_reply_data(data)
    pairs = [(reply, shown), (data, hidden),
             *((text, masked_text(text)) for text in _escapes_read(reply))]
    return shown, data, hidden, dict.fromkeys(
        (value for written, masked in pairs for value in hidden_values(written, masked)), MASK)


def _reply_plan(reply: str) -> Any:
    """The JSON value the planner reads in ``reply``; None where it reads none."""
    from planner.llm.prompt import extract_json  # the planner's reading, when first needed

    try:
        return extract_json(reply)
    except ValueError:
        return None


def _escapes_read(text: str) -> Iterator[str]:
    """``text`` with its JSON escapes read and percent-decoded, once, then again, as deep as
    the policy reads a text (a reply's JSON, a step's arguments in it, what they encode):
    each reading that differs from the one before."""
    for _ in range(_levels() + 2):
        if "\\" not in text and "%" not in text:
            return
        read = percent_decoded(_JSON_ESCAPE.sub(_unescaped, text))
        if read == text:
            return
        yield read
        text = read


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescaped(match: re.Match[str]) -> str:
    code, char = match.groups()
    return chr(int(code, 16)) if code else _ESCAPED.get(char, char)


def _holds_user_credentials(args: Any, levels: int) -> bool:
    if isinstance(args, Mapping):
        return any(_holds_user_credentials(key, 0) or (
            user_credentials(value, whole=True) if key == URL_ARGUMENT
            and isinstance(value, str) else _holds_user_credentials(value, levels))
            for key, value in args.items())
    if isinstance(args, list | tuple):
        return any(_holds_user_credentials(item, levels) for item in args)
    if not isinstance(args, str):
        return False
    decoded = _decoded(args, levels)
    return user_credentials(args, whole=False) or (
        decoded is not None and _holds_user_credentials(decoded[1], levels - 1))


def _url_lines(text: str) -> Iterator[tuple[int, int]]:
    """Where each URL the rule reads in ``text`` starts and ends: a scheme starting with a
    letter, "://", then the rest of the line."""
    return url_spans(text, LINE_REST)


def _read_value(value: str, in_text: bool) -> tuple[int, int]:
    """Where the value the rule reads in ``value`` starts and ends: all of it, or in text
    after any leading blank or quote and up to the next one."""
    if not in_text:
        return 0, len(value)
    start = len(value) - len(value.lstrip(TEXT_VALUE_ENDS))
    end = TEXT_VALUE_END.search(value, start)
    return start, end.start() if end else len(value)


@functools.cache
def _secret_reference() -> re.Pattern[str]:
    # Imported when first needed: the HTTP tool's module imports its client.
    from tools.builtin.http import SECRET_REF

    return SECRET_REF


def _refused(name: str, value: str, *, in_text: bool) -> bool:
    """Whether the rule refuses ``name=value``: a credential's name and a literal value (not
    empty, not only ``${secret:NAME}`` references, the mask included)."""
    start, end = _read_value(value, in_text)
    return (bool(_secret_reference().sub("", value[start:end]))
            and is_credential_query_param(name))


def _exposed(text: str, *, named: bool, in_text: bool) -> bool:
    """Whether a parameter's text (no separator in it) holds a value the rule refuses other
    than the mask."""
    for name, value in param_readings(text, named=named):
        start, end = _read_value(value, in_text)
        # "=***": the mask, after the "=" that ends a name written encoded (api_key%3D=***).
        if value[start:end].replace(MASK, "").strip("=") and _refused(name, value,
                                                                      in_text=in_text):
            return True
    return False


def _hidden_piece(text: str, *, named: bool, in_text: bool) -> str:
    """One parameter's text with each value the rule refuses in it as ``***``.

    Each round masks one value: as written where the rule refuses it so, else in the text
    decoded, which then holds separators of its own (``q=a&token=***``): the parameters they
    part are read as the URL will be. Past the rounds (never seen), the whole text is hidden.
    """
    for _ in range(_MAX_ROUNDS):
        parts = _KEEPING_SEPARATORS.split(text)
        exposed = [index for index in range(0, len(parts), 2)
                   if _exposed(parts[index], named=named or index > 0, in_text=in_text)]
        if not exposed:
            return text
        index = exposed[0]
        parts[index] = _masked_once(parts[index], named=named or index > 0, in_text=in_text)
        text = "".join(parts)
    return MASK


def _masked_once(text: str, *, named: bool, in_text: bool) -> str:
    """``text`` (no separator in it) with one value the rule refuses masked: the value as
    written, else the text decoded with its first refused value and all after it masked
    (what follows a credential's name there may be the rest of it: an encoded "&")."""
    name, sep, value = text.partition("=")
    start, end = _read_value(value, in_text)
    if (named and sep and value[start:end].replace(MASK, "").strip("=")
            and _refused(name, value, in_text=in_text)):
        return f"{name}={value[:start]}{MASK}{value[end:]}"
    parts = _KEEPING_SEPARATORS.split(percent_decoded(text))
    for index in range(0 if named else 2, len(parts), 2):
        name, sep, value = parts[index].partition("=")
        start, end = _read_value(value, in_text)
        if (sep and value[start:end].replace(MASK, "").strip("=")
                and _refused(name, value, in_text=in_text)):
            rest = "".join(parts[index:]).partition("=")[2]
            start, end = _read_value(rest, in_text)
            return "".join(parts[:index]) + f"{name}={rest[:start]}{MASK}{rest[end:]}"
    return MASK  # the readings found one this reading cannot place: hide it all


__all__ = ["MASK", "hide_url_literals", "hide_user_information", "holds_user_credentials",
           "masked_args", "masked_decoding", "masked_document", "masked_reply", "masked_stored",
           "masked_text", "masked_value", "reply_hidden_values"]
