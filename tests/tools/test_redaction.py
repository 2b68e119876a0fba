"""The one masking helper: every layer (ledger, run outputs, logs, HTTP errors, the LLM client) uses it."""

from __future__ import annotations

import pytest

from tools.builtin.http import EXCERPT_CHARS, status_error
from tools.redaction import REDACTED, redact
from tools.url_credentials import hide_url_credentials, url_secrets

SECRET = "tok-9f8e7d6c"


def test_secrets_are_masked_in_nested_values_and_in_dict_keys():
    value = {"headers": {"Authorization": f"Bearer {SECRET}"}, SECRET: [f"x{SECRET}y", 3, None],
             "pair": ("a", SECRET)}
    assert redact(value, [SECRET]) == {
        "headers": {"Authorization": f"Bearer {REDACTED}"}, REDACTED: [f"x{REDACTED}y", 3, None],
        "pair": ["a", REDACTED]}


def test_a_secret_containing_another_is_masked_whole_and_empty_values_are_ignored():
    assert redact(f"{SECRET}-long and {SECRET}", ["", SECRET, f"{SECRET}-long"]) == (
        f"{REDACTED} and {REDACTED}")


def test_without_secrets_the_value_is_returned_as_is():
    value = {"a": [1]}
    assert redact(value, []) is value and redact(value, [""]) is value


def test_an_http_error_excerpt_is_masked_before_it_is_cut():
    # The secret straddles the excerpt's end: cutting first would leave its first half behind.
    body = "x" * (EXCERPT_CHARS - 5) + SECRET + "y" * 50
    error = status_error(400, "Bad Request", "http://127.0.0.1/x", body, None, [SECRET])
    assert error is not None
    assert SECRET[:5] not in error.message and REDACTED[:5] in error.message


LONG = "Xk9-long-credential"  # at least MIN_GLOBAL_SECRET_LEN: masked everywhere


@pytest.mark.parametrize(("url", "shown", "secrets"), [
    (f"https://user:{LONG}%40x@llm.example/v1?x=1&api_key={LONG}",
     "https://user:***@llm.example/v1?x=1&api_key=***",
     [f"{LONG}%40x", f"{LONG}@x", LONG]),
    ("https://ghp_tok123@git.example/repo", "https://***@git.example/repo", ["ghp_tok123"]),
    # GitHub's form: the user is the token, the password a fixed word.
    (f"https://{LONG}:x-oauth-basic@github.com/o/r.git", "https://***:***@github.com/o/r.git",
     ["x-oauth-basic", LONG]),
    (f"postgresql+psycopg://baton:{LONG}@db/baton", "postgresql+psycopg://baton:***@db/baton",
     [LONG]),
    ("postgresql://baton@db/baton", "postgresql://baton@db/baton", []),
    ("http://plain.example/v1?page=2", "http://plain.example/v1?page=2", []),
])
def test_url_credentials_are_hidden_for_display_and_listed_for_masking(url, shown, secrets):
    assert hide_url_credentials(url) == shown
    assert url_secrets(url) == secrets


def test_parameters_whose_names_merely_contain_a_secret_word_are_neither_hidden_nor_listed():
    # "keyword" holds "key", "author" "auth", "design" "sig", "monkey" "key": ordinary data.
    url = ("http://127.0.0.1/search?keyword=sales&author=bob&design=x&monkey=banana&keys_count=3"
           "&turkey=roast&hockey=ice&session=spring-2025&token_id=7")
    assert hide_url_credentials(url) == url
    assert url_secrets(url) == []


@pytest.mark.parametrize("name", [
    "api_key", "apiKey", "api-key", "key", "token", "access_token", "github_token",
    "private_key", "client_secret", "db_password", "password", "sig", "X-Amz-Signature",
    "X-Amz-Credential", "X-Amz-Security-Token", "auth", "sessionid",
])
def test_credential_parameters_are_hidden_and_listed_beside_ordinary_ones(name):
    url = f"https://api.example/v1?keyword=sales&{name}={LONG}"
    assert hide_url_credentials(url) == f"https://api.example/v1?keyword=sales&{name}=***"
    assert url_secrets(url) == [LONG]


@pytest.mark.parametrize("name", [
    "accesstoken", "authtoken", "apitoken", "privatekey", "clientsecret", "secretkey",
    "accesskey", "sessiontoken", "githubtoken", "dbpassword", "ACCESSTOKEN", "Client-Secret",
    "xapikey", "refreshtoken", "idtoken",
])
def test_credential_parameters_written_without_separators_are_hidden_and_listed(name):
    # The old substring match caught these; matching whole names must not lose them.
    url = f"https://api.example/v1?keyword=sales&{name}={LONG}"
    assert hide_url_credentials(url) == f"https://api.example/v1?keyword=sales&{name}=***"
    assert url_secrets(url) == [LONG]


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://postgres:pw@h/db", "postgresql://postgres:***@h/db"),
    ("https://api.example/v1?api_key=k-123", "https://api.example/v1?api_key=***"),
    ("https://abc1234@git.example/repo", "https://***@git.example/repo"),
    ("https://user:p%40ss@llm.example/v1", "https://user:***@llm.example/v1"),
])
def test_a_short_credential_is_hidden_in_the_url_but_not_listed_for_masking_everywhere(url, shown):
    # Masking "pw" in every output would corrupt ordinary text; the URL itself still hides it.
    assert hide_url_credentials(url) == shown
    assert url_secrets(url) == []


def test_only_a_long_password_is_listed_for_masking_never_the_user_name():
    # A role name such as "postgres-admin" is not a secret, however long.
    assert url_secrets(f"postgresql://postgres-admin:{LONG}@h/db") == [LONG]
    assert url_secrets("postgresql://postgres-admin:pw@h/db") == []


def test_values_of_ordinary_parameters_and_short_passwords_stay_intact_in_masked_output():
    urls = ["http://127.0.0.1/search?keyword=sales", "postgresql://postgres:pw@h/db"]
    output = {"text": "sales up; pw reset", "sales": ["pw"]}
    assert redact(output, [s for url in urls for s in url_secrets(url)]) == output


def test_a_session_term_is_not_a_credential_but_a_session_id_is():
    url = "https://x.example/report?session=spring-2025&sessionid=0f3a9c2e7b1d"
    assert hide_url_credentials(url) == "https://x.example/report?session=spring-2025&sessionid=***"
    assert url_secrets(url) == ["0f3a9c2e7b1d"]


def test_a_caller_masking_its_own_messages_gets_short_credentials_too():
    url = "https://u:pw@x.example/?api_key=k-12&keyword=sales"
    assert url_secrets(url) == []
    assert url_secrets(url, min_length=1) == ["pw", "k-12"]


@pytest.mark.parametrize(("secret", "echoed"), [
    ("tok/EN+abc123==", "tok\\/EN+abc123=="),  # PHP's json_encode escapes "/"
    ('Pa55\\word"2024!x', 'Pa55\\\\word\\"2024!x'),  # every JSON encoder escapes \ and "
    ("clé-secrète-42", "cl\\u00e9-secr\\u00e8te-42"),  # ensure_ascii
    ("tok-abcdef1234567890\n", "b'Bearer tok-abcdef1234567890\\n'"),  # a bytes repr (httpx)
])
def test_a_secret_is_masked_as_a_json_encoder_or_a_repr_escapes_it(secret, echoed):
    masked = redact({"text": f'{{"auth": "Bearer {echoed}"}}'}, [secret])
    assert "abc123" not in str(masked) and "word" not in str(masked)
    assert "secr" not in str(masked) and "abcdef" not in str(masked)
    assert REDACTED in masked["text"]


@pytest.mark.parametrize("echoed", [
    "tok%2FEN%2Babc123%3D%3D",  # a query value, "/" encoded
    "tok/EN%2Babc123%3D%3D",    # a path, "/" kept
    "tok%2fen%2babc123%3d%3d".replace("en", "EN"),  # lower-case hex digits
])
def test_a_secret_is_masked_as_a_url_carries_it_percent_encoded(echoed):
    # A server echoing the URL it was called at (a 404 page, a redirect's Location) holds
    # none of the secret's "/", "+" or "=": the raw value was not found in it.
    masked = redact({"text": f"no route for /v1/items?token={echoed}&page=2"}, ["tok/EN+abc123=="])
    assert "abc123" not in str(masked)
    assert masked["text"] == f"no route for /v1/items?token={REDACTED}&page=2"


def test_a_space_is_found_as_percent_20_and_as_plus():
    assert redact(["a%2Fb%20c", "a/b+c"], ["a/b c"]) == [REDACTED, REDACTED]


def test_an_escaped_secret_in_an_http_error_excerpt_is_masked():
    error = status_error(400, "Bad Request", "https://api.example.com/x",
                         '{"auth": "Bearer tok\\/EN+abc123=="}', None, ["tok/EN+abc123=="])
    assert "abc123" not in str(error) and REDACTED in str(error)


def test_the_log_masker_masks_an_escaped_secret_in_an_exceptions_text():
    from baton.logging import SecretMasker

    event = SecretMasker(["tok/EN+abc123=="])(None, "error", {"error": ValueError("tok\\/EN+abc123==")})
    assert event["error"] == f"ValueError('{REDACTED}')"


PIN = "904417263"


@pytest.mark.parametrize(("number", "masked"), [
    (904417263, True), (-904417263, True), (1904417263.25, True),  # equal to it, or holding it
    (904417263.0, True), (float("9" * 30), False), (7, False), (904417, False),
])
def test_a_number_holding_a_secret_of_digits_becomes_the_mark(number, masked):
    assert redact({"v": [number]}, [PIN]) == {"v": [REDACTED if masked else number]}


def test_a_number_equal_to_a_secret_read_as_a_number_is_masked_though_written_otherwise():
    long_pin = "98765432109876543210"
    assert redact(float(long_pin), [long_pin]) == REDACTED  # 9.876543210987654e+19
    assert redact(int("0" + PIN), ["0" + PIN]) == REDACTED


def test_bools_non_finite_floats_and_numbers_beside_text_secrets_are_left_alone():
    # True is 1 and NaN/Infinity are refused as outputs by their own check: never masked here.
    value = [True, False, float("inf"), float("-inf"), 12345678]
    masked = redact(value, ["1", "-", "1e999", SECRET])
    assert masked[:2] == [True, False] and masked[2:4] == [float("inf"), float("-inf")]
    assert masked[4] == REDACTED  # "1" is digits: a number holding it holds the secret
    assert redact(value, [SECRET, "12345678x"]) == value  # no secret reads as a number
