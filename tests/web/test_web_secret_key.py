"""Every server of one database signs the pages' forms, flashes and sign-in with one key.

The key was random per process: two ``baton serve`` over one database refused each other's
forms (403), and after a restart every open page's forms, Sign out included, failed. The
key is now ``web_secret`` when set; unset, a random one kept in ``<data_dir>/web_secret.key``
(made once, mode 0600), which every server of that data directory reads.
"""

from __future__ import annotations

import stat
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from baton.services import Services
from baton.settings import ConfigError, read_settings
from baton.settings_reload import restart_needed
from baton.usecases.plans import plan_goal
from baton.web.session import COOKIE, KEY_FILE, SESSION_COOKIE
from tests.api.live import make_settings, serve, token_of
from tests.web.test_web_forms import GOAL, csrf_of, signed_in

KEY = "a-web-secret-every-server-shares-0123456789"


def _cookie_for(server, client: httpx.Client) -> httpx.Client:
    """A client of ``server`` with ``client``'s session cookies (the token, the session's
    value), as a browser sends them to every server behind one address."""
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=True,
                        cookies={name: client.cookies[name] for name in (COOKIE, SESSION_COOKIE)})


def _rejects_on_the_other(first, second, plan_id: str) -> int:
    """Sign bob in on ``first``; post the reject form of ``first``'s page to ``second``: its
    status (303: taken), having checked the flash it came back with is shown by ``first``."""
    bob, _ = signed_in(first, "bob")
    csrf = csrf_of(bob.get(f"/plans/{plan_id}"))
    other = _cookie_for(second, bob)
    response = other.post(f"/plans/{plan_id}/reject", data={"csrf": csrf, "reason": "no"},
                          follow_redirects=False)
    if response.status_code == 303:
        location = response.headers["location"]
        flash = parse_qs(urlsplit(location).query)["flash"][0]
        assert flash in bob.get(location).text  # signed by second, shown by first
    return response.status_code


@pytest.fixture
def two_servers(tmp_path):
    """Two servers over one database and one data directory, and a plan waiting."""
    services = [Services(make_settings(tmp_path)) for _ in range(2)]
    stored = plan_goal(services[0], GOAL, services[0].settings.users["alice"])
    servers = [serve(s, worker_poll_s=None) for s in services]
    yield servers, stored, tmp_path
    for server in servers:
        server.stop()


def test_two_servers_of_one_data_directory_take_each_others_forms(two_servers):
    (first, second), stored, _ = two_servers
    assert _rejects_on_the_other(first, second, stored.plan_id) == 303


def test_a_sign_in_form_of_one_server_signs_in_on_the_other(two_servers):
    (first, second), _, _ = two_servers
    client = httpx.Client(base_url=first.url, timeout=30)
    form = client.get("/signin")
    response = httpx.post(second.url + "/signin",
                          data={"csrf": csrf_of(form), "token": token_of("bob")},
                          cookies=dict(client.cookies), timeout=30)
    assert response.status_code == 303


def test_a_page_open_before_a_restart_still_signs_out(two_servers):
    (first, second), _, tmp_path = two_servers
    bob, _ = signed_in(first, "bob")
    page = bob.get("/")
    first.stop()
    restarted = serve(Services(make_settings(tmp_path)), worker_poll_s=None)
    try:
        response = _cookie_for(restarted, bob).post(
            "/signout", data={"csrf": csrf_of(page)}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/signin"
    finally:
        restarted.stop()


def test_the_kept_key_is_made_once_for_the_owner_alone(two_servers):
    _, _, tmp_path = two_servers
    path = tmp_path / ".baton" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if "web_secret" in p.name] == [KEY_FILE]
    before = path.read_bytes()
    serve(Services(make_settings(tmp_path)), worker_poll_s=None).stop()
    assert path.read_bytes() == before


def test_a_kept_key_that_is_not_one_stops_the_start_naming_the_file(tmp_path):
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / KEY_FILE).write_text("not a key\n", encoding="utf-8")
    from baton.api import create_app

    with pytest.raises(ConfigError, match=KEY_FILE):
        create_app(Services(settings), worker_poll_s=None)


def _configured(root, secret: str, database_url: str):
    """A server of its own data directory over ``database_url``, keyed by ``secret``."""
    settings = make_settings(root, database_url=database_url, web_secret=SecretStr(secret))
    return serve(Services(settings), worker_poll_s=None)


@pytest.mark.parametrize("same", [True, False])
def test_servers_of_one_database_take_each_others_forms_when_given_one_web_secret(
        tmp_path, same):
    origin = Services(make_settings(tmp_path / "origin"))
    stored = plan_goal(origin, GOAL, origin.settings.users["alice"])
    url = origin.settings.resolved_database_url
    first = _configured(tmp_path / "one", KEY, url)
    second = _configured(tmp_path / "two", KEY if same else KEY + "-other", url)
    try:
        status = _rejects_on_the_other(first, second, stored.plan_id)
    finally:
        first.stop()
        second.stop()
    assert status == (303 if same else 403)
    for root in ("one", "two"):  # a configured key is never written down
        assert not (tmp_path / root / ".baton" / KEY_FILE).exists()


def test_web_secret_comes_from_baton_web_secret_and_is_named_never_shown(tmp_path):
    path = tmp_path / "baton.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    start = read_settings(path, required=True, environ={})
    assert start.web_secret is None
    now = read_settings(path, required=True, environ={"BATON_WEB_SECRET": KEY})
    assert now.web_secret is not None and now.web_secret.get_secret_value() == KEY
    assert KEY not in repr(now) and KEY not in str(now.model_dump())
    assert restart_needed(start, now) == ["web_secret"]
    with pytest.raises(ConfigError) as refused:
        read_settings(path, required=True, environ={"BATON_WEB_SECRET": "shortvalue"})
    assert "web_secret (BATON_WEB_SECRET)" in refused.value.message
    assert "shortvalue" not in refused.value.message


def test_a_short_web_secret_in_the_file_is_refused_without_its_value(tmp_path):
    path = tmp_path / "baton.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\nweb_secret = "tiny-key"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        read_settings(path, required=True, environ={})
    assert "web_secret" in refused.value.message and "tiny-key" not in refused.value.message
