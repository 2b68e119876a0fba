"""A secret is masked where something on its way shortened, re-encoded or transformed it.

pydantic quotes an input of 49 characters or more as its first 24 and last 23 around "..."
(47 of a 50-character token); a sign-in redirect carries a URL whose ``?code=`` was already
percent-encoded (``%252F``); a server writes a latin-1 header back byte for byte and the body
is read as UTF-8 (``p\\ufffdss``); a host name is lower-cased; a server answers with the
base64 of ``user:secret`` (Basic auth) or the hex of it. None of those held the secret's
characters in a form the masker knew. A long token wrapped across lines is not looked for.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

import pytest
from pydantic import BaseModel, ValidationError

from tools.redaction import REDACTED, redact

SECRET = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zQw7eRt5yUi"  # 50 characters
LATIN1 = "Zk3x9QpLm2Vb-päss-wörd-7RtYw4Hs8Jd"


def pieces(secret: str, size: int = 8) -> set[str]:
    return {secret[at:at + size] for at in range(len(secret) - size + 1)}


def assert_no_piece(text: str, secret: str, size: int = 8) -> None:
    shown = [piece for piece in pieces(secret, size) if piece in text]
    assert not shown, (shown[:3], text)


class _Creds(BaseModel):
    token: int
    extra: int = 0


@pytest.mark.parametrize("value", [
    SECRET, "Bearer " + SECRET[:45], SECRET + "\n", "x" * 30 + SECRET, {"token": SECRET}])
def test_a_secret_pydantic_quotes_shortened_is_masked_both_sides_of_its_cut(value):
    secret = SECRET[:45] if value == "Bearer " + SECRET[:45] else SECRET
    with pytest.raises(ValidationError) as caught:
        _Creds(token=1, extra=value) if isinstance(value, dict) else _Creds(token=value)
    text = str(caught.value)
    assert "..." in text  # as pydantic shows it: the cut is what this test is about
    masked = redact(text, [secret])
    assert_no_piece(masked, secret, 4)
    assert REDACTED in masked


def test_either_side_of_a_three_dot_cut_alone_is_masked_and_ordinary_dots_are_kept():
    assert redact(f"token {SECRET[:10]}... (shortened)", [SECRET]) == (
        f"token {REDACTED}... (shortened)")
    assert redact(f"token ...{SECRET[-10:]}'", [SECRET]) == f"token ...{REDACTED}'"
    # The same starts and ends of a cut (…) too, and none shorter than four characters.
    assert redact(f"…{SECRET[-6:]}", [SECRET]) == f"…{REDACTED}"
    plain = f"loading... done; {SECRET[:3]}... and ...{SECRET[-3:]}, wait...."
    assert redact(plain, [SECRET]) == plain


@pytest.mark.parametrize("times", [2, 3, 4])
def test_a_secret_percent_encoded_again_is_masked(times):
    key = "Zk3x9QpL/m2Vb7Rt+Yw4Hs8Jd6Nc1== ü"
    encoded, plus = quote(key, safe=""), quote_plus(key, safe="")  # a space as "%20" or "+"
    for _ in range(times - 1):
        encoded, plus = quote(encoded, safe=""), quote(plus, safe="")
    lower = re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), encoded)
    for form in (encoded, lower, plus):
        assert redact(f"?redirect=%2Fapi%3Fcode%3D{form}&x=1", [key]) == (
            f"?redirect=%2Fapi%3Fcode%3D{REDACTED}&x=1"), form


def test_a_latin1_secret_read_back_as_utf8_or_the_reverse_is_masked():
    replaced = LATIN1.encode("latin-1").decode("utf-8", "replace")
    mojibake = LATIN1.encode("utf-8").decode("latin-1")
    assert "\ufffd" in replaced and "Ã" in mojibake
    for form in (replaced, mojibake):
        assert redact(f"bad credentials: {form}!", [LATIN1]) == f"bad credentials: {REDACTED}!"


def test_a_secret_upper_or_lower_cased_is_masked():
    host = "Zk3x9QpLm2Vb7RtYw4Hs8Jd"
    for form in (host.lower(), host.upper()):
        assert redact(f"http://{form}.tunnels.example.net/", [host]) == (
            f"http://{REDACTED}.tunnels.example.net/")


@pytest.mark.parametrize("prefix", ["", "u", "ab", "svc:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_the_base64_of_a_text_holding_a_secret_is_masked_at_every_alignment(prefix, encode):
    secret = "github_pat_11ABCDEFG0aZ9yX8wV7uT6sR5q/P4o+N3mL2kJ1iH0"
    encoded = encode(f"{prefix}{secret}!".encode()).decode()
    masked = redact(f"Authorization: Basic {encoded}", [secret])
    assert REDACTED in masked
    # What is left around the mark holds at most the characters the secret shares with the
    # text before and after it (a character of base64 is 6 bits of one or two bytes).
    left = masked.removeprefix("Authorization: Basic ").replace(REDACTED, "")
    assert len(left) <= len(encode(prefix.encode() + b"!")) + 4, masked


def test_the_hex_of_a_secret_is_masked_in_either_case_and_short_secrets_have_no_variants():
    secret = "github_pat_11ABCDEFG0aZ9yX8wV7uT6sR5q"
    for form in (secret.encode().hex(), secret.encode().hex().upper()):
        assert redact(f"digest {form}.", [secret]) == f"digest {REDACTED}."
    # Seven bytes or fewer: their base64 and hex would be short enough to be anywhere.
    text = f"{base64.b64encode(b'pass123').decode()} {b'pass123'.hex()}"
    assert redact(text, ["pass123"]) == text
