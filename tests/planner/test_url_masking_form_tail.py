"""Masking a form text keeps the plain text's masking when it hides as much as the decoding.

The form decoding turns ``+`` and ``%20`` into a space, so a credential's value in the decoded
URL ends early (``token=Zk3x 9Qp…``) and masking the decoding alone kept its tail. Masked as
text, the whole value is hidden, the text keeps its form, and the policy still refuses it at
the same places. A leading byte order mark is kept too: the policy skips it.
"""

from __future__ import annotations

import json

import pytest

from planner.url_literals import masked_args
from policies.step_strings import scanned_strings

TAIL = "9QpLm2Vb7RtYw"
HOOK = "https://hooks.example.com/in"


def _refused_places(args: dict) -> set[tuple[str, str]]:
    return {(found["path"], found["param"])
            for found in scanned_strings(args, plan_strings_before=0)["url_credentials"]}


BODIES = {
    "plus": f"cb={HOOK}?token=Zk3x+{TAIL}",
    "percent-encoded space": f"cb={HOOK}?token=Zk3x%20{TAIL}",
    "percent-encoded ampersand": f"cb={HOOK}?token=Zk3x%26{TAIL}",
    "second field": f"a=1&cb={HOOK}?token=Zk3x+{TAIL}",
    "a line before": f"note=x\n{HOOK}?token=Zk3x+{TAIL}",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_masking_a_form_text_hides_the_whole_credential(body):
    args = {"method": "POST", "url": "https://hooks.example.com/hooks", "body": body}
    masked = masked_args(args)
    assert TAIL not in json.dumps(masked), masked["body"]
    assert _refused_places(masked) == _refused_places(args)


def test_masking_a_form_text_keeps_its_plain_writing():
    args = {"body": f"cb={HOOK}?token=Zk3x+{TAIL}"}
    assert masked_args(args)["body"] == f"cb={HOOK}?token=***"


def test_masking_a_json_text_keeps_a_leading_byte_order_mark():
    body = "\ufeff" + json.dumps({"cb": f"{HOOK}?token=Zk3x{TAIL}"}).replace("/", "\\/")
    args = {"method": "POST", "url": "https://hooks.example.com/hooks", "body": body}
    masked = masked_args(args)["body"]
    assert masked.startswith("\ufeff{") and TAIL not in masked, masked
    assert _refused_places({"body": masked}) == _refused_places({"body": body})
