"""A secret cut short where a message is shortened is masked too: the start of a secret
(4 or more characters, as written or escaped) standing right before the cut mark ``…``.

Messages quote a value and cut it for length before the run, the planner or the API masks
the whole text with every configured secret: an HTTP error's body excerpt (200 characters,
masked before the cut only with the call's own secrets), a plan problem quoting an argument
(160 characters) or a text holding a NUL (60). A secret crossing the cut left its start
behind (``T=crmTokenValu``), which masking the whole value could not recognise."""

from __future__ import annotations

import pytest

from tools.builtin.http import EXCERPT_CHARS, status_error
from tools.redaction import CUT_MARK, REDACTED, redact

CRM = "crmTokenValue8f3a91"


@pytest.mark.parametrize(("cut", "masked"), [
    (f"E T=crmTokenValu{CUT_MARK}", f"E T={REDACTED}{CUT_MARK}"),
    (f"'GET aaacrmTokenV{CUT_MARK}' is not", f"'GET aaa{REDACTED}{CUT_MARK}' is not"),
    (f"x crmT{CUT_MARK}", f"x {REDACTED}{CUT_MARK}"),  # four characters are enough
    (f"x crm\\u0054okenV{CUT_MARK}", f"x {REDACTED}{CUT_MARK}"),  # escaped
    (f"x crm&#84;okenV{CUT_MARK}", f"x {REDACTED}{CUT_MARK}"),
    (f"x crmTokenV\\u00{CUT_MARK}", f"x {REDACTED}{CUT_MARK}"),  # the cut split an escape
    (f"x crmTokenV%6{CUT_MARK}", f"x {REDACTED}{CUT_MARK}"),
    (f"{CUT_MARK}a crmTok{CUT_MARK} b crmToken{CUT_MARK}",
     f"{CUT_MARK}a {REDACTED}{CUT_MARK} b {REDACTED}{CUT_MARK}"),
    ("x crmTokenV...", f"x {REDACTED}..."),  # pydantic's cut (input_value='<24>...<23>')
])
def test_the_start_of_a_secret_cut_at_the_cut_mark_is_masked(cut, masked):
    assert redact(cut, [CRM, "other-secret-42"]) == masked


@pytest.mark.parametrize("text", [
    f"x crm{CUT_MARK}",  # three characters: too few to tell from a word
    f"x crmTokenV and more{CUT_MARK}",  # not where the text was cut
    "x crm...",  # three characters, before pydantic's cut mark too
    f"x TokenValu{CUT_MARK}",  # not its start
])
def test_other_text_before_or_without_the_cut_mark_is_left_alone(text):
    assert redact(text, [CRM]) == text


def test_an_http_error_excerpt_cut_short_ends_with_the_cut_mark():
    # Another configured secret crosses the cut: the call knows only its own secrets.
    body = "E" * 185 + f" T={CRM} ..."
    error = status_error(403, "Forbidden", "http://127.0.0.1/x", body, None, [])
    assert error is not None and error.message.endswith(f" T=crmTokenValu{CUT_MARK}")
    assert redact(error.message, [CRM]).endswith(f" T={REDACTED}{CUT_MARK}")
    whole = status_error(403, "Forbidden", "http://127.0.0.1/x", "E" * EXCERPT_CHARS, None, [])
    assert whole is not None and whole.message.endswith("E" * EXCERPT_CHARS)
