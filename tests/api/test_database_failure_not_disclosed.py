"""A database failure tells an API or web caller its kind, never where the database is.

Any token holder's request over an unreachable PostgreSQL was answered "cannot open the database
postgresql+psycopg://postgres:***@127.0.0.1:5999/nodb (from database_url in /srv/baton.toml):
connection failed: connection to server at …": user, host, port, database name and settings
file, which ``/healthz`` keeps in the server log. The caller is now told the kind of failure
(unreachable, busy, failed) and the server log gets the whole message.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from baton.api import create_app
from baton.api.database_failures import told_of_database_failure
from baton.services import Services
from baton.settings import hash_token, load_settings, user_toml
from executor.store import StoreError
from executor.store.db import DatabaseFileGoneError
from tests.web.test_web_forms import signed_in

from .live import ROLES, make_settings, serve, token_of

# Nothing listens on port 1: connections to it are refused at once.
DEAD = "postgresql+psycopg://postgres:pw-4417@127.0.0.1:1/nodb"
# What no caller may read: the user, password, host, port, database and the settings file.
HIDDEN = ("postgres", "pw-4417", "127.0.0.1", ":1/", "nodb", "baton.toml")


def _settings_file(tmp_path, database_url: str):
    users = "".join(user_toml(uid, roles, [hash_token(token_of(uid))])
                    for uid, roles in ROLES.items())
    path = tmp_path / "baton.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{database_url}"\n'
                    f"{users}", encoding="utf-8")
    return load_settings(path, environ={})


def _hides_where_the_database_is(message: str) -> None:
    assert not [word for word in HIDDEN if word in message], message


def test_an_unreachable_postgresql_is_named_in_the_log_not_to_the_approver(tmp_path):
    services = Services(_settings_file(tmp_path, DEAD))
    client = TestClient(create_app(services, worker_poll_s=None), raise_server_exceptions=False,
                        headers={"Authorization": f"Bearer {token_of('bob')}"})
    with capture_logs() as logs:
        response = client.post("/api/v1/plans/p-1/approve", json={})
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "store_error"
    assert error["message"].startswith("the database is unreachable: ")
    assert "retry later" in error["message"] and "server log" in error["message"]
    _hides_where_the_database_is(error["message"])
    [logged] = [entry for entry in logs if entry["event"] == "database failed"]
    assert "127.0.0.1" in logged["error"] and "nodb" in logged["error"]
    assert "pw-4417" not in logged["error"]


def test_a_sqlite_file_that_cannot_be_opened_is_not_named_to_the_caller(tmp_path):
    folder = tmp_path / "a-directory"
    folder.mkdir()
    services = Services(_settings_file(tmp_path, f"sqlite:///{folder}"))
    client = TestClient(create_app(services, worker_poll_s=None), raise_server_exceptions=False,
                        headers={"Authorization": f"Bearer {token_of('alice')}"})
    with capture_logs() as logs:
        response = client.get("/api/v1/plans")
    assert response.status_code == 503, response.text
    message = response.json()["error"]["message"]
    assert message == "the database failed; the server log says why"
    assert str(folder) not in message
    [logged] = [entry for entry in logs if entry["event"] == "database failed"]
    assert str(folder) in logged["error"]


def _unreachable(*_args, **_kwargs):
    raise StoreError(f"cannot open the database {DEAD} (from database_url in /srv/baton.toml): "
                     "connection failed")


def test_a_web_form_over_a_failed_database_flashes_its_kind_only(tmp_path, monkeypatch):
    server = serve(Services(make_settings(tmp_path)), worker_poll_s=None)
    try:
        client, csrf = signed_in(server, "bob")
        monkeypatch.setattr("baton.usecases.approving.approve", _unreachable)
        answer = client.post("/plans/p-1/approve", data={"csrf": csrf}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        [flash] = parse_qs(urlsplit(answer.headers["location"]).query)["flash"]
        assert flash == "the database failed; the server log says why"
    finally:
        server.stop()


def test_a_web_page_over_a_failed_database_says_its_kind_only(tmp_path, monkeypatch):
    server = serve(Services(make_settings(tmp_path)), worker_poll_s=None)
    try:
        client, _ = signed_in(server, "bob")
        monkeypatch.setattr("baton.usecases.runs.list_runs", _unreachable)
        page = client.get("/runs")
        assert page.status_code == 503 and "the server log says why" in page.text
        _hides_where_the_database_is(page.text)
    finally:
        server.stop()


@pytest.mark.parametrize(("failure", "told"), [
    (StoreError("the database failed while saving plan p-1: database is locked"),
     "the database is busy: "),
    (DatabaseFileGoneError("the database file /srv/b.db was replaced while in use", "reading"),
     "the database is unreachable: its file was replaced while in use; "),
    (StoreError("the database failed while reading plan p-1: disk I/O error"),
     "the database failed; "),
], ids=["locked", "replaced", "other"])
def test_each_kind_of_failure_is_told_without_the_message(failure, told):
    if "locked" in failure.message:  # as database_errors raises it: from the driver's error
        failure.__cause__ = sqlite3.OperationalError("database is locked")
    said = told_of_database_failure(failure)
    assert said.startswith(told) and "/srv" not in said and "p-1" not in said
