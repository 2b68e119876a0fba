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

A mask is never sent anywhere: such a plan is denied, and one the policies let through is
held back by the shell (``baton.usecases.plans.held_secrets``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from tools.url_credentials import (
    HIDDEN,
    LINE_REST,
    PARAM_SEPARATOR,
    TEXT_VALUE_END,
    TEXT_VALUE_ENDS,
    hide_url_credentials,
    is_credential_query_param,
    param_readings,
    percent_decoded,
    scheme_start,
    url_param_pieces,
    url_spans,
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
# Where a URL's authority (user information and host) ends: as urlsplit ends it, which the
# rule against user information reads the url argument with; in text also at white space,
# where the secret pattern for a password inside a URL ends it.
_AUTHORITY_END = re.compile(r"[/?#]")
_AUTHORITY_END_IN_TEXT = re.compile(r"[/?#\s]")
# What user information that cannot be read is hidden by: all but what the secret pattern for
# a password inside a URL reads it by ("scheme://USER:PASSWORD@", neither part blank).
_USER_INFORMATION_RUN = re.compile(r"[^:@\s]+")
# What urlsplit takes out of a URL before reading it.
_TAKEN_OUT = str.maketrans("", "", "\t\r\n")


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


def hide_user_information(text: str, *, whole: bool = True) -> str:
    """``text`` with the user information of each URL in it as
    :func:`~tools.url_credentials.hide_url_credentials` shows it (``user:***@``, ``***@``),
    the rest as written.

    ``whole``: ``text`` is a URL as an HTTP client is given it (its authority ends where
    urlsplit ends it); otherwise free text (it ends at white space too).
    """
    if "@" not in text or "://" not in text:  # most texts stop here
        return text
    shown, end = [], len(text)
    for start, at in reversed(list(_user_information(text, whole=whole))):
        shown += [text[at:end], _hidden_user_information(text[start:at])]
        end = start
    return text[:end] + "".join(reversed(shown))


def masked_text(text: str) -> str:
    """``text`` (a goal, feedback, a message) with each URL in it masked as the rule reads a
    URL in text: from its scheme to the end of its line."""
    if "://" not in text:  # most texts stop here
        return text
    shown, end = [], len(text)
    for start, stop in reversed(list(_url_lines(text))):
        shown += [text[stop:end], hide_url_literals(text[start:stop], whole=False)]
        end = start
    return text[:end] + "".join(reversed(shown))


def masked_value(value: Any) -> Any:
    """``value`` (JSON-like data: a template's parameters, problems, a model's messages) with
    every string in it, keys included, masked as text (:func:`masked_text`)."""
    if isinstance(value, str):
        return masked_text(value)
    if isinstance(value, Mapping):
        return {masked_value(k): masked_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked_value(item) for item in value]
    return value


def masked_args(args: Any) -> Any:
    """A step's ``args`` masked as the rule reads them: the ``url`` argument whole, each
    entry of the ``query`` argument as the parameter it adds, every other string as text.
    A reference (``{"ref": ...}``) is kept: it holds no literal."""
    if not isinstance(args, Mapping):
        return masked_value(args)
    masked = {}
    for key, value in args.items():
        if key == URL_ARGUMENT and isinstance(value, str):
            hidden = hide_url_literals(value)
            masked[key] = MASK if _user_credentials_left(hidden) else hidden
        elif key == QUERY_ARGUMENT and isinstance(value, Mapping):
            masked[key] = {masked_value(name): _masked_entry(str(name), entry)
                           for name, entry in value.items()}
        else:
            masked[masked_value(key)] = _masked_data(value)
    return masked


def masked_document(document: Any) -> Any:
    """A plan document (a plan's wire form, or what was submitted as one) masked: each step's
    ``args`` as :func:`masked_args` reads them, every other string as text."""
    if not isinstance(document, Mapping) or not isinstance(document.get("steps"), list):
        return masked_value(document)
    steps = [{k: masked_args(v) if k == "args" else masked_value(v) for k, v in step.items()}
             if isinstance(step, Mapping) else masked_value(step) for step in document["steps"]]
    return {**{k: masked_value(v) for k, v in document.items() if k != "steps"}, "steps": steps}


def holds_user_credentials(args: Any) -> bool:
    """Whether a URL in a step's ``args`` carries user information that is hidden when shown,
    or shows it hidden (``user:***@``, ``***@``): run, the step would send or write the
    credential (a version stored before they were masked), or the mask in its place."""
    if isinstance(args, Mapping):
        return any(holds_user_credentials(key) or (
            _user_credentials(value, whole=True) if key == URL_ARGUMENT
            and isinstance(value, str) else holds_user_credentials(value))
            for key, value in args.items())
    if isinstance(args, list | tuple):
        return any(holds_user_credentials(item) for item in args)
    return isinstance(args, str) and _user_credentials(args, whole=False)


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


def _masked_data(value: Any) -> Any:
    # Inside the arguments: a reference holds no literal.
    if isinstance(value, Mapping):
        if set(value) == {"ref"}:
            return value
        return {masked_value(k): _masked_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked_data(item) for item in value]
    return masked_value(value)


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


def _url_lines(text: str) -> Iterator[tuple[int, int]]:
    """Where each URL the rule reads in ``text`` starts and ends: a scheme starting with a
    letter, "://", then the rest of the line."""
    return url_spans(text, LINE_REST)


def _user_information(text: str, *, whole: bool) -> Iterator[tuple[int, int]]:
    """Where each URL in ``text`` with user information starts and where the "@" ending it
    is (``text[start:at]``: its scheme, "://" and user information; the last "@" of the
    authority, as urlsplit reads it). Every URL, not only the first: a URL inside a URL
    (``?next=https://u:pw@h``) is a password inside a URL to the secret patterns."""
    ends = _AUTHORITY_END if whole else _AUTHORITY_END_IN_TEXT
    position, after = text.find("://"), 0
    while position != -1:
        start = scheme_start(text, position)
        stop = ends.search(text, position + 3)
        at = text.rfind("@", position + 3, stop.start() if stop else len(text))
        if start is not None and start >= after and at != -1:
            yield start, at
            after = at + 1
        position = text.find("://", position + 3)


def _user_credentials(text: str, *, whole: bool) -> bool:
    # Hidden when shown (a version stored before they were masked), or the mask.
    return "@" in text and any(
        MASK in text[start:at] or _hidden_user_information(text[start:at]) != text[start:at]
        for start, at in _user_information(text, whole=whole))


def _user_credentials_left(url: str) -> bool:
    """Whether ``url``, read as the rule against user information reads the url argument,
    still carries user information that is hidden when shown: urlsplit takes out tabs and
    line breaks first, and ``https:\\n//u:pw@host`` has no "://" to find it by. Then it is
    hidden whole: the refusal is lost, and the version stored invalid."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    userinfo, at, _ = parts.netloc.rpartition("@")
    written = f"{parts.scheme}://{userinfo}"
    return bool(at) and _hidden_user_information(written) != written


def _hidden_user_information(url: str) -> str:
    """``url`` (a scheme, "://" and user information, the "@" after it left out) as
    :func:`~tools.url_credentials.hide_url_credentials` shows it, the scheme as written.

    Where it cannot read the user information (urlsplit refuses ``u[:pw``), or hides it with
    the "@" (a credential's parameter written inside it: ``u;token=x``), all of it is hidden,
    each run between its colons, at signs and blanks as ``***`` (``***:***``), then shown as
    the rest (once: that reads): a password inside a URL to the secret patterns where it was.
    An empty password (``bob:@``) is kept: shown ``bob:***@``, it would read as one.
    """
    scheme, _, userinfo = url.partition("://")
    written = f"{url}@"
    try:
        urlsplit(written)
    except ValueError:  # hide_url_credentials shows it as written
        return _hidden_user_information(f"{scheme}://{_USER_INFORMATION_RUN.sub(MASK, userinfo)}")
    shown = hide_url_credentials(written).partition("://")[2]
    read = userinfo.translate(_TAKEN_OUT)
    if shown in (f"{read}@", f"{read}{MASK}@"):  # nothing hidden, or only an empty password
        return url
    if shown.endswith("@"):
        return f"{scheme}://{shown[:-1]}"
    return _hidden_user_information(f"{scheme}://{_USER_INFORMATION_RUN.sub(MASK, userinfo)}")


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
           "masked_args", "masked_document", "masked_stored", "masked_text", "masked_value"]
