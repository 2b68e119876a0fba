"""Masking reads text as the policy reads it, not only as it is written: a JSON or form text
is also read as what it encodes (``policies.step_strings.decoded_text``), user information
in text as the secret pattern for a password inside a URL reads it (RE2's blanks, not
Python's), a ``query`` entry's name as part of the parameter it adds, a scheme-relative URL
as a URL, and a malformed reference as the data it is. What the policy refuses there is
hidden; where it cannot be hidden in place, more is hidden, never less.
"""

from __future__ import annotations

import json
import re

import pytest

from planner.url_literals import (
    MASK,
    holds_user_credentials,
    masked_args,
    masked_document,
    masked_reply,
    masked_text,
    masked_value,
)
from policies.bundle import PolicyBundle
from policies.long_strings import readable
from policies.step_strings import scanned_strings

CRED = "hunter3hunter3"
HOOK = "https://hooks.example.com/in"


def _refused_paths(args: dict) -> set[str]:
    return {found["path"] for found in scanned_strings(args, plan_strings_before=0)
            ["url_credentials"]}


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False)


DECODED_BODIES = {
    "escaped slashes": '{"callback": "https:\\/\\/hooks.example.com\\/in?token=%s"}' % CRED,
    "escaped name": '{"callback": "%s?\\u0074oken=%s"}' % (HOOK, CRED),
    "escaped ampersand": '{"callback": "%s?x=1\\u0026token=%s"}' % (HOOK, CRED),
    "escaped hash": '{"callback": "%s?x=1\\u0023token=%s"}' % (HOOK, CRED),
    "form": "cb=https%3A%2F%2Fhooks.example.com%2Fin%3Ftoken%3D" + CRED,
    "form in JSON": json.dumps({"f": "a=1&cb=https%3A%2F%2Fh.example%2F%3Fapi_key%3D" + CRED}),
    "JSON in JSON": json.dumps({"p": json.dumps({"u": f"{HOOK}?token={CRED}"})}).replace(
        "/", "\\/"),
    "list": '["https:\\/\\/h.example\\/?token=%s", "x"]' % CRED,
    "user information": '{"callback": "https:\\/\\/ops:%s@hooks.example.com\\/in"}' % CRED,
}


@pytest.mark.parametrize("body", DECODED_BODIES.values(), ids=DECODED_BODIES.keys())
def test_a_credential_the_policy_reads_in_a_decoded_text_is_masked(body):
    args = {"method": "POST", "url": "https://api.example.com/hooks", "body": body}
    masked = masked_args(args)
    assert CRED not in _shown(masked)
    assert _refused_paths(masked) == _refused_paths(args)  # refused where it was, no more
    assert masked_args(masked) == masked  # masking twice changes nothing more
    # As any text too: a goal, a message, a model's reply.
    assert CRED not in masked_value(body) and CRED not in _shown(masked_document(
        {"goal": body, "steps": [{"id": "a", "tool": "t", "why": body, "args": args}]}))


def test_a_decoded_text_the_raw_masking_covers_keeps_its_form():
    body = '{"callback":"%s?token=%s",  "n": 1}' % (HOOK, CRED)
    assert masked_args({"body": body}) == {"body": body.replace(CRED, MASK)}


@pytest.mark.parametrize("body", [
    '{"callback": "https:\\/\\/hooks.example.com\\/in?page_token=abc"}',
    "cb=https%3A%2F%2Fhooks.example.com%2Fin%3Fq%3Dsales",
    '{"a": "postgresql:\\/\\/ops@db.example.com\\/sales"}',  # a user name alone is kept
])
def test_a_decoded_text_without_a_refused_credential_is_left_as_written(body):
    assert masked_args({"body": body}) == {"body": body}
    assert masked_value(body) == body


def test_a_token_before_the_host_in_a_decoded_text_is_masked_and_held():
    """Not refused in text, but hidden as logs show it: masked, the step would send the mask."""
    body = '{"callback": "https:\\/\\/%s@hooks.example.com\\/in"}' % CRED
    assert holds_user_credentials({"body": body})
    masked = masked_args({"body": body})
    assert CRED not in _shown(masked) and holds_user_credentials(masked)
    assert not holds_user_credentials({"body": '{"u": "https:\\/\\/hooks.example.com"}'})


def test_a_decoded_text_that_cannot_be_masked_in_place_is_hidden_whole(monkeypatch):
    import planner.url_literals as url_literals

    monkeypatch.setattr(url_literals, "_encoded", lambda *args, **kwargs: None)
    body = DECODED_BODIES["escaped slashes"]
    assert masked_args({"body": body}) == {"body": MASK}


_PASSWORD_IN_URL = re.compile(next(
    pattern["pattern"] for pattern in PolicyBundle.load().data["secret_patterns"]
    if pattern["kind"] == "a password inside a URL").replace("\\s", "\\t\\n\\f\\r "))


@pytest.mark.parametrize("text", [
    f"clone https://alice\u00a0x:{CRED}@git.example.com/repo",
    f"clone https://alice\x1fx:{CRED}@git.example.com/repo",
    f"clone https://alice\u2003x:{CRED}@git.example.com/repo",
    f"clone https://alice:{CRED}\u00a0pw@git.example.com/repo",
    f"clone https://alice\u2028x:{CRED}@git.example.com/repo",
    f"clone https://alice\x0bx:{CRED}@git.example.com/repo",
    f"clone https://alice\x85x:{CRED}@git.example.com/repo",
    f"clone https://alice\x0cx:{CRED}@git.example.com/repo",
    f"see https://h.example?next=ops:{CRED}@x.example now",
    f"see https://h.example#ops:{CRED}@x.example now",
])
def test_user_information_is_read_as_the_secret_pattern_reads_it(text):
    # The policy refuses it (RE2: \s is [\t\n\f\r ]; control characters reach it as U+FFFD).
    assert _PASSWORD_IN_URL.search(readable(text))
    shown = masked_text(text)
    assert CRED not in shown
    assert _PASSWORD_IN_URL.search(readable(shown))  # and still does, masked
    args = {"path": "note.txt", "text": text}
    assert CRED not in _shown(masked_args(args))
    assert masked_text(shown) == shown


def test_blanks_the_secret_pattern_stops_at_end_user_information_as_before():
    text = f"mail https://alice x:{CRED}@git.example.com/repo\tor https://h.example/a b@c"
    assert masked_text(text) == text


def test_a_credential_written_into_a_query_entry_name_is_masked_in_the_name():
    args = {"url": "https://api.example.com/report",
            "query": {f"token%3D{CRED}%26format": "csv", f"api_key={CRED}": "x", "page": 2}}
    masked = masked_args(args)
    assert CRED not in _shown(masked)
    assert _refused_paths(args) <= _refused_paths(masked)
    assert masked["query"]["page"] == 2
    assert masked_args(masked) == masked


def test_the_user_information_of_a_scheme_relative_url_is_masked():
    url = f"//ops:{CRED}@api.example.com/report"
    assert masked_args({"url": url}) == {"url": "//ops:***@api.example.com/report"}
    message = f"argument 'url': '{url}' does not match '^https?://'"
    assert masked_text(message) == "argument 'url': '//ops:***@api.example.com/report' does " \
                                   "not match '^https?://'"
    kept = "see //share/path and a // comment: x@y and http://h.example//a:b"
    assert masked_text(kept) == kept


def test_a_malformed_reference_is_masked_as_data_and_a_well_formed_one_kept():
    bad = {"ref": f"https://ops:{CRED}@git.example.com/x?token={CRED}"}
    masked = masked_args({"path": "n.txt", "text": bad})
    assert CRED not in _shown(masked)
    assert masked["text"] == {"ref": "https://ops:***@git.example.com/x?token=***"}
    good = {"path": "n.txt", "text": {"ref": "fetch.text"}}
    assert masked_args(good) == good


def _reply(url: str, *, escaped: bool) -> str:
    step = {"id": "fetch", "tool": "http.request", "why": "read it", "depends_on": [],
            "args_json": json.dumps({"method": "GET", "url": url})}
    content = json.dumps({"steps": [step]})
    return content.replace("/", "\\/") if escaped else content


def _recorded_url(reply: str) -> str:
    from planner.llm.prompt import extract_json

    shown = masked_reply(reply)
    assert CRED not in shown
    (step,) = extract_json(shown)["steps"]
    return json.loads(step["args_json"])["url"]


@pytest.mark.parametrize("wrap", ["{}", "Here it is:\n```json\n{}\n```\n", "<think>x</think>{}"])
def test_a_model_reply_is_recorded_without_what_its_decoding_holds(wrap):
    reply = wrap.replace("{}", _reply(f"https://api.example/b?token={CRED}", escaped=True))
    assert _recorded_url(reply) == "https://api.example/b?token=***"


def test_a_model_reply_without_a_credential_is_recorded_as_written():
    for reply in (_reply("https://api.example/b?page=2", escaped=True), "no plan today"):
        assert masked_reply(reply) == reply
    # Written plainly, the arguments' JSON text is masked as decoded too: read as text, the
    # value would end at the escaped quote and take its backslash.
    reply = _reply(f"https://api.example/b?token={CRED}", escaped=False)
    assert _recorded_url(reply) == "https://api.example/b?token=***"


def test_a_spliced_value_is_masked_as_it_reads_where_masking_left_what_surrounds_it():
    from planner.url_splices import spliced_masks, with_splices_masked

    written = {"goal": f"fetch report?token={CRED} from the api", "steps": [
        {"id": "fetch", "why": f"fetch report?token={CRED}",
         "args": {"url": f"https://api.example.com/report?token={CRED}", "n": 2}}]}
    masked = masked_document(written)
    values = [f"report?token={CRED}", "2", "api", written["goal"]]
    masks = spliced_masks(written, masked, values)
    assert masks == {f"report?token={CRED}": "report?token=***"}
    shown = with_splices_masked(masked, masks)
    assert CRED not in _shown(shown) and shown["steps"][0]["why"] == "fetch report?token=***"


def test_a_spliced_value_only_part_of_a_masked_credential_is_masked_whole():
    from planner.url_splices import spliced_masks

    written = {"url": f"https://api.example.com/r?token={CRED}&page=2"}
    masks = spliced_masks(written, masked_args(written), ["hunter3", "page=2", "r?token=hun"])
    assert masks == {"hunter3": MASK, "r?token=hun": MASK}
    moved = {"query": {f"api_key={CRED}": "x"}}  # the entry's name masked: its place changed
    assert spliced_masks(moved, masked_args(moved), [CRED]) == {CRED: MASK}


def test_a_json_text_after_a_byte_order_mark_is_read_as_the_policy_reads_it():
    # The policy skips a BOM before JSON; the masking's own cheap test did not, so user
    # information behind escaped slashes (no "=" anywhere) was stored as written.
    body = '\ufeff{"cb": "https:\\/\\/ops:%s@h.example\\/in"}' % CRED
    assert CRED not in masked_value(body)
    assert CRED not in _shown(masked_args({"method": "POST", "url": HOOK, "body": body}))
