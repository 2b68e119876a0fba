"""A NUL or a lone surrogate in a value resolved at run time neither hides a secret from the
policy nor stops it judging.

The embedded interpreter read a string only up to its first NUL, so ``"\\x00AKIA…"`` passed the
literal-secret rule (plan validation refuses NUL, but a file's text or an HTTP response reaches
the check before a call as it is), it refused a lone surrogate (every such call denied with an
engine error), and a message quoting a control character (a host) could not be read back. Both
engines are given the same input: each such character as U+FFFD, one character for one, so that
no part of a string is lost and no two parts join.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from policies.contracts import Requester, StepCall
from policies.inputs import build_step_input
from policies.long_strings import windowed_input

ALICE = Requester(id="alice", roles=("analyst",))
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
AWS_DENY = ("step save: argument $.args.text contains an AWS access key; configure it as a "
            "secret and write ${secret:NAME} instead")


def _write(engine, text: str):
    return engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="save",
                                      tool="files.write", effect="write",
                                      args={"path": "out.txt", "text": text}, requester=ALICE))


def _post(engine, url: str, body: Any = None):
    args = {"method": "POST", "url": url, **({"json": body} if body is not None else {})}
    return engine.check_step(StepCall(run_id="r-1", plan_id="p-1", step_id="send",
                                      tool="http.request", effect="write", args=args,
                                      tags=("egress",), requester=ALICE))


@pytest.mark.parametrize("text", [
    "\x00" + AWS_KEY,
    "a\x00b" + AWS_KEY,
    "\x00\x00\x00 see " + AWS_KEY + " \x00",
    "x\x00" * 400 + AWS_KEY,  # long: cut into windows, each read whole
    "\x01" + AWS_KEY,
    "\x1b[31m" + AWS_KEY + "\x1b[0m",
    "\ud800" + AWS_KEY,
    "\udfff\x00" + AWS_KEY,
    AWS_KEY + "\ud83d",
])
def test_a_secret_after_a_nul_or_a_lone_surrogate_is_found(engine, text):
    decision = _write(engine, text)
    assert list(decision.deny) == [AWS_DENY]


def test_a_secret_written_as_a_key_after_a_nul_is_found(engine):
    decision = _post(engine, "https://api.internal.example/in", {"\x00" + AWS_KEY: "yes"})
    assert not decision.allow
    assert "contains an AWS access key" in "\n".join(decision.deny)


def test_a_random_value_under_a_password_key_after_a_nul_is_found(engine):
    decision = _post(engine, "https://api.internal.example/in",
                     {"\x00password": "Zk3x9QpL7mN2vB8cR4tY"})
    assert not decision.allow
    assert "looks like a literal secret (password)" in "\n".join(decision.deny)


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x1b"])
def test_a_host_after_a_nul_or_a_control_character_is_judged_whole(engine, control):
    decision = _post(engine, f"https://api.internal.example{control}.evil.example/in")
    assert list(decision.deny) == [
        "step send: host api.internal.example\ufffd.evil.example is not on the egress allowlist"]


@pytest.mark.parametrize("text", [
    "plain text\x00with a NUL",
    "text read with surrogateescape: \udcff\udcfe",
    "sk-abcdefghij\x00klmnopqrstu",  # 10 + 10: no key of 20 however the NUL is read
    "AKIAIOSFOD\x00NN7EXAMPLE",  # a NUL breaks the key: not one
])
def test_text_with_a_nul_or_a_lone_surrogate_and_no_secret_is_allowed(engine, text):
    decision = _write(engine, text)
    assert decision.allow, decision.deny


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def test_no_nul_nor_surrogate_reaches_an_engine_and_lengths_are_kept():
    call = StepCall(run_id="r-1", plan_id="p-1", step_id="send", tool="http.request",
                    effect="write", requester=ALICE, tags=("egress",),
                    args={"url": "https://h\x00.example/x?q=\ud800",
                          "json": {"k\x00\ud800": ["v\x00", "w" * 600 + "\x00\udc80"]}})
    built = build_step_input(call)
    judged = windowed_input(built)
    texts = list(_strings_in(judged))
    assert not any("\x00" in text for text in texts)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for text in texts for c in text)
    values = {fact["path"]: fact["value"] for fact in judged["step"]["strings"]}
    assert values["$.args.json.<key 1>[0]"] == "v\ufffd"
    assert judged["step"]["url"]["host"] == "h\ufffd.example"
    # Facts about the whole string are as the input builder counted them, one character for one.
    lengths = {fact["path"]: fact["length"] for fact in built["step"]["strings"]}
    assert all(fact["length"] == lengths[fact["path"]] for fact in judged["step"]["strings"])
    assert any(fact["value"].endswith("w\ufffd\ufffd") for fact in judged["step"]["strings"])
