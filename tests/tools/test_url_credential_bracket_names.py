"""A credential's parameter written with brackets (``access_token[0]=``, ``auth[api_key][0]=``,
as PHP and Rails read arrays and hashes) is a credential's as its bare name is: refused by the
policy rule and masked wherever the URL is shown. The name before the brackets and each
bracketed part are judged; an index or an empty part names nothing."""

from __future__ import annotations

import io

import pytest
import structlog

from baton.logging import configure_logging
from tests.support.url_credential_cases import HOST, VALUE, listed
from tools.url_credentials import (
    HIDDEN,
    hide_url_credentials,
    is_credential_query_param,
    is_masked_param,
    url_secrets,
)

CREDENTIAL_NAMES = [
    "access_token[0]", "api_key[0]", "token[1]", "key[0]", "password[0]", "client_secret[0]",
    "access_token[x]", "api_key[]", "api_key[][]", "a[b][token]", "auth[api_key][0]",
    "data[token]", "x[api_key]", "access_token%5B0%5D", "access_token%255B0%255D",
    "accessToken[0]", "password[%20]", "password[0][1][2]",
]
ORDINARY_NAMES = [
    "ids[0]", "user[0]", "filter[name]", "page_token[0]", "sort_key[0]", "tags[]",
    "items[0][title]", "user[id]", "token_ids[0]", "fields[keyword]", "q[author]", "a[0]",
]


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_a_credential_name_with_brackets_is_a_credential(name):
    assert is_credential_query_param(name)
    assert is_masked_param(name)


@pytest.mark.parametrize("name", ORDINARY_NAMES)
def test_an_ordinary_name_with_brackets_is_not(name):
    assert not is_credential_query_param(name)


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_a_url_with_a_bracketed_credential_is_refused_and_shown_masked(name):
    url = f"{HOST}/b?q=1&{name}={VALUE}"
    assert [found["path"] for found in listed({"url": url})] == ["$.args.url"]
    assert hide_url_credentials(url) == f"{HOST}/b?q=1&{name}={HIDDEN}"
    assert VALUE in url_secrets(url)


def test_a_bracketed_credential_is_masked_in_the_log_output(restore_logging):
    url = f"{HOST}/b?access_token[0]={VALUE}&page=2"
    out = io.StringIO()
    configure_logging("info", json=True, secret_values=url_secrets(url), stream=out)
    structlog.get_logger().info("http.response", url=hide_url_credentials(url),
                                error=f"could not connect to {url}")
    assert VALUE not in out.getvalue() and HIDDEN in out.getvalue()
