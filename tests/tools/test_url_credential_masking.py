"""Every URL the plan-time rule refuses for a literal credential (a name encoded twice,
``/db;password=…``, a JDBC ``;password=``) is shown and logged with that credential masked:
masking reads a URL's parameters as the rule does (:func:`tools.url_credentials.url_param_pieces`)."""

from __future__ import annotations

import io

import pytest
import structlog

from baton.logging import configure_logging
from tests.support.url_credential_cases import ENCODED, HOST, VALUE, listed
from tools.url_credentials import HIDDEN, hide_url_credentials, url_secrets

URLS = [url for url, _ in ENCODED.values()]


@pytest.mark.parametrize("url", URLS, ids=ENCODED.keys())
def test_a_url_the_rule_refuses_is_shown_without_its_credential(url):
    assert listed({"url": url})  # the rule refuses it...
    shown = hide_url_credentials(url)
    assert VALUE not in shown and HIDDEN in shown  # ...and no one is shown its credential
    assert VALUE in url_secrets(url)  # masked wherever else the URL's text turns up


@pytest.mark.parametrize("url", URLS, ids=ENCODED.keys())
def test_a_url_the_rule_refuses_is_masked_in_the_log_output(restore_logging, url):
    out = io.StringIO()
    # As services.secret_values lists a configured URL's credentials for the log masker.
    configure_logging("info", json=True, secret_values=url_secrets(url), stream=out)
    structlog.get_logger().info("http.response", url=hide_url_credentials(url),
                                error=f"could not connect to {url}")
    assert VALUE not in out.getvalue() and HIDDEN in out.getvalue()


@pytest.mark.parametrize(("url", "shown"), [
    (f"{HOST}/db;password={VALUE}?page=2", f"{HOST}/db;password={HIDDEN}?page=2"),
    (f"{HOST}/b?pass%2577ord={VALUE}&q=1", f"{HOST}/b?pass%2577ord={HIDDEN}&q=1"),
    (f"{HOST}/b?q=sales%26api_key%3D{VALUE}&n=1", f"{HOST}/b?q={HIDDEN}&n=1"),
    (f"{HOST}/x%3Baccess_token%3D{VALUE}/y", f"{HOST}/{HIDDEN}/y"),
    (f"{HOST}/cars;color=red;year=2020/list;session=spring?q=a&b=c#top",
     f"{HOST}/cars;color=red;year=2020/list;session=spring?q=a&b=c#top"),
])
def test_only_the_credential_is_hidden_and_the_rest_is_kept_as_written(url, shown):
    assert hide_url_credentials(url) == shown
