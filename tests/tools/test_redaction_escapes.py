"""A secret is masked however an echo escapes it, each character as itself or as any of its
escapes: ``\\uXXXX`` in either case (.NET's System.Text.Json writes ``+ < > & ' "`` as
``\\u002B``…, Go's encoding/json ``& < >`` as ``\\u0026``…), ``\\xXX``, an HTML entity
(``&amp;``, ``&#39;``, ``&#x27;``) or a percent escape, mixed as an encoder mixes them.
Only Python's own JSON escaping was known: a .NET or Go service echoing a token, or an HTML
error page quoting it, left it in step outputs, logs and the values handed on."""

from __future__ import annotations

import html
import json

import pytest

from tools.redaction import REDACTED, redact

AWS = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
GO = "tok&en<9f2c>e81b"
QUOTES = "q'uo\"te<s>&x+y"


def dotnet(s: str) -> str:
    """System.Text.Json's default encoder: HTML-sensitive characters and ``+`` as ``\\uXXXX``."""
    return "".join(f"\\u{ord(c):04X}" if c in "<>&'+`\"" or ord(c) > 126 else c for c in s)


def golang(s: str) -> str:
    """encoding/json: ``& < >`` as lower-case ``\\u0026 \\u003c \\u003e``."""
    return (json.dumps(s)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c")
            .replace(">", "\\u003e"))


@pytest.mark.parametrize(("secret", "echoed"), [
    (AWS, dotnet(AWS)),  # wJalrXUtnFEMI/K7MDENG\u002BbPxRfiCYEXAMPLEKEY
    (AWS, dotnet(AWS).replace("\\u002B", "\\u002b")),  # lower-case hex
    (GO, golang(GO)),
    (GO, dotnet(GO)),
    (QUOTES, dotnet(QUOTES)),
    (QUOTES, html.escape(QUOTES)),  # &#x27; &quot; &lt; &gt; &amp;
    (QUOTES, html.escape(QUOTES).replace("&#x27;", "&#39;")),
    (QUOTES, html.escape(QUOTES).replace("&#x27;", "&#039;").replace("&quot;", "&#34;")),
    (QUOTES, QUOTES.replace("'", "&apos;").replace("&x", "&#X26;x").replace("+", "&plus;")),
    (GO, "tok\\x26en\\x3c9f2c\\x3ee81b"),  # a C or JavaScript string's \xXX
    (GO, "tok%26en%3C9f2c%3ee81b"),  # percent escapes, mixed case
    ("clé-secrète-42", "cl\\u00E9-secr&egrave;te-42"),  # mixed encoders
    ("clé-secrète-42", "cl%C3%A9-secr%c3%a8te-42"),  # UTF-8 bytes
    ("clé-secrète-42", "cl\\xc3\\xa9-secr\\xc3\\xa8te-42"),  # a bytes repr
    ("tok-😀-emoji-42", "tok-\\ud83d\\ude00-emoji-42"),  # a surrogate pair
    ("tok-😀-emoji-42", "tok-&#128512;-emoji-42"),
])
def test_a_secret_is_masked_however_each_character_is_escaped(secret, echoed):
    assert echoed != secret
    masked = redact({"text": f'{{"received":"{echoed}"}}'}, [secret])
    assert masked == {"text": f'{{"received":"{REDACTED}"}}'}, echoed


def test_the_forms_python_writes_are_still_masked():
    secret = 'Pa55\\wo/rd"2024 x'
    for echoed in (json.dumps(secret)[1:-1], json.dumps(secret)[1:-1].replace("/", "\\/"),
                   repr(secret)[1:-1], "Pa55%5Cwo%2Frd%222024+x", "Pa55%5cwo/rd%222024%20x"):
        assert redact(f"<{echoed}>", [secret]) == f"<{REDACTED}>", echoed


def test_a_secret_holding_a_run_of_backslashes_is_masked_escaped_or_not():
    secret = "ab\\\\\\cd"  # three backslashes
    assert redact("x ab\\\\\\cd y", [secret]) == f"x {REDACTED} y"
    assert redact(json.dumps(f"x {secret} y"), [secret]) == f'"x {REDACTED} y"'
    assert redact("x ab\\u005c\\x5C&#92;cd y", [secret]) == f"x {REDACTED} y"


def test_a_secret_containing_another_is_masked_whole_in_its_escaped_form_too():
    short, long = "tok-abcdefgh", "tok-abcdefgh+tail&more"
    echoed = "tok-abcdefgh\\u002Btail\\u0026more and tok-abcdefgh"
    assert redact(echoed, (short, long)) == f"{REDACTED} and {REDACTED}"
    # A window around an escape must not cut a raw value in two.
    text = "tok-abcdefgh+tail&more" + " " * 40 + "\\n"
    assert redact(text, (short, long)) == REDACTED + " " * 40 + "\\n"


def test_text_that_only_resembles_an_escape_is_left_alone():
    text = "a &amp; b \\u0041 50% &#43; tok&en<9f2c>e81c"
    assert redact(text, [GO, AWS]) == text


@pytest.mark.timeout(120)  # a hang guard, not a time limit
def test_masking_ends_on_large_text_full_of_escapes():
    # 100 KB of JSON whose every line holds escapes, 5 secrets, one of them a run of
    # backslashes: a pattern that backtracked over each way of reading a run would not end.
    secrets = (AWS, GO, QUOTES, "crmTokenValue8f3a91", "a\\\\\\\\\\\\\\\\\\\\b")
    text = json.dumps(["line \\ \"q\" 50% a&b <x> " * 3 + "\\" * 30 for _ in range(1000)])
    text = text[:100_000]
    masked = redact(text + dotnet(AWS), secrets)
    assert masked.endswith(REDACTED)
