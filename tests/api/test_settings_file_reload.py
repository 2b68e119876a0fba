"""A running server (and worker) honours the users of the settings file as it is now.

``baton serve`` loaded the settings once: a token revoked or a role removed in
``baton.toml`` kept working until a restart, while the next CLI command refused it. The
users are read again whenever the file changes (the template library's stat marks); a file
that no longer loads refuses every token (503 ``settings_error``, logged once) until it is
fixed; every other setting keeps its value at start.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from baton.services import Services
from baton.settings import load_settings, user_toml
from baton.settings_reload import SettingsFileError
from baton.usecases.approval_records import current_role_holders

from .live import serve, token_of
from tests.support.settings_files import USERS, write_settings
from .test_api_basics import assert_error
from tests.web.test_web_forms import signed_in

@pytest.fixture
def file_services(settings_file):
    return Services(load_settings(settings_file, environ={}))


@pytest.fixture
def live(file_services):
    server = serve(file_services)
    yield server
    server.stop()


def api(server, user: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token_of(user)}"} if user else {}
    return httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=30)


def test_a_token_revoked_in_the_file_is_401_without_a_restart(live, settings_file):
    assert api(live, "alice").get("/plans").status_code == 200
    write_settings(settings_file, USERS, tokens={"alice": []})
    response = api(live, "alice").get("/plans")
    assert_error(response, 401, "unauthorized")
    assert response.json()["error"]["message"] == "unknown or revoked token"
    assert api(live, "dave").get("/runs").status_code == 200  # the others are untouched


def test_a_role_removed_in_the_file_is_403_without_a_restart(live, settings_file):
    assert api(live, "bob").get("/plans").status_code == 200
    write_settings(settings_file, {**USERS, "bob": ()})
    assert_error(api(live, "bob").get("/plans"), 403, "forbidden")


def test_a_user_added_to_the_file_is_known_without_a_restart(live, settings_file):
    assert_error(api(live, "gina").get("/plans"), 401, "unauthorized")
    write_settings(settings_file, {**USERS, "gina": ("analyst",)})
    assert api(live, "gina").get("/plans").status_code == 200


def test_a_file_that_no_longer_loads_refuses_every_token_until_fixed(live, settings_file):
    with capture_logs() as logs:
        write_settings(settings_file, {**USERS, "bob": ("aprover",)})  # no such role
        for _ in range(3):
            response = api(live, "alice").get("/plans")
            assert_error(response, 503, "settings_error")
        assert "aprover" not in response.text  # anyone may ask: the detail goes to the log
        assert_error(api(live, None).get("/plans"), 401, "unauthorized")
    problems = [entry for entry in logs if entry["log_level"] == "error"]
    assert len(problems) == 1, logs  # logged once, not per request
    assert "aprover" in problems[0]["error"] and str(settings_file) in problems[0]["error"]
    write_settings(settings_file, USERS)
    assert api(live, "alice").get("/plans").status_code == 200


def test_a_file_with_broken_toml_fails_closed_too(live, settings_file):
    settings_file.write_text("[users.alice\nroles = ", encoding="utf-8")
    assert_error(api(live, "alice").get("/plans"), 503, "settings_error")


def test_a_web_session_of_a_revoked_token_is_signed_out(live, settings_file):
    client, _ = signed_in(live, "alice")
    assert client.get("/").url.path == "/"
    write_settings(settings_file, USERS, tokens={"alice": []})
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/signin"


def test_the_web_page_says_the_settings_file_no_longer_loads(live, settings_file):
    client, _ = signed_in(live, "alice")
    write_settings(settings_file, {**USERS, "alice": ("nonsense",)})
    page = client.get("/")
    assert page.status_code == 503 and "settings file" in page.text
    assert "nonsense" not in page.text


def test_the_approval_check_reads_roles_as_the_file_gives_them_now(file_services, settings_file):
    assert current_role_holders(file_services)["approver"] == {"bob"}
    write_settings(settings_file, {**USERS, "bob": (), "carol": ("approver",)})
    assert current_role_holders(file_services)["approver"] == {"carol"}
    write_settings(settings_file, {**USERS, "bob": ("nonsense",)})
    with pytest.raises(SettingsFileError, match="nonsense"):
        current_role_holders(file_services)  # no approval counts while the file is invalid


def test_a_running_worker_refuses_a_run_whose_approver_lost_the_role(file_services,
                                                                      settings_file):
    from baton.usecases.approving import approve
    from baton.usecases.plans import plan_goal
    from baton.usecases.runs import run_worker, show_run, start_run

    users = file_services.settings.users
    stored = plan_goal(file_services, "Summarise the amount column of sales.csv by region "
                                      "into summary.json", users["alice"])
    approve(file_services, stored.plan_id, users["bob"])
    run = start_run(file_services, stored.plan_id, users["alice"], detach=True)
    write_settings(settings_file, {**USERS, "bob": ("auditor",)})  # after it was queued
    run_worker(file_services, once=True)
    record = show_run(file_services, run.id)
    assert record.status.value == "failed" and "may not run" in record.error, record.error
    assert "bob" in record.error and not record.steps[0].attempts  # nothing ran


def test_other_settings_keep_their_value_at_start_and_a_restart_is_asked_for(file_services,
                                                                            settings_file):
    before = file_services.settings
    with capture_logs() as logs:
        write_settings(settings_file, {**USERS, "erin": ("analyst",)},
                       extra="approval_ttl_s = 60\n")
        after = file_services.settings
    assert "erin" in after.users
    assert after.approval_ttl_s == before.approval_ttl_s and after.data_dir == before.data_dir
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["settings"] == ["approval_ttl_s"]


def test_relative_paths_in_a_file_found_in_the_working_directory_ask_for_no_restart(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # ./baton.toml, as `baton serve` finds it
    (tmp_path / "baton.toml").write_text('data_dir = "d"\nworkspace = "w"\n')
    services = Services(load_settings(Path("baton.toml"), environ={}))
    assert services.settings.data_dir == tmp_path / "d"
    with capture_logs() as logs:
        staged = tmp_path / "baton.new"
        staged.write_text('data_dir = "d"\nworkspace = "w"\n'
                          + user_toml("erin", ("analyst",), []))
        os.replace(staged, tmp_path / "baton.toml")
        assert "erin" in services.settings.users
    assert not [entry for entry in logs if entry["log_level"] == "warning"], logs


def test_the_acting_user_given_at_start_is_kept(settings_file):
    settings = load_settings(settings_file, environ={}).model_copy(update={"user": "bob"})
    services = Services(settings)
    write_settings(settings_file, {**USERS, "erin": ()})
    assert services.settings.user == "bob" and "erin" in services.settings.users


def test_the_file_is_read_again_with_the_environment_it_was_first_read_with(tmp_path,
                                                                           monkeypatch):
    path = tmp_path / "baton.toml"
    write_settings(path, USERS)
    monkeypatch.delenv("BATON_LLM_TIMEOUT", raising=False)
    services = Services(load_settings(path))
    monkeypatch.setenv("BATON_LLM_TIMEOUT", "not a number")  # not this process's start
    write_settings(path, {**USERS, "erin": ()})
    assert "erin" in services.settings.users


def test_an_unchanged_file_is_not_read_again(file_services, monkeypatch):
    import baton.settings

    def no_reading(*args, **kwargs):
        raise AssertionError("read again")

    first = file_services.settings
    monkeypatch.setattr(baton.settings, "read_settings", no_reading)
    assert file_services.settings is first


def test_settings_built_in_code_are_never_read_again(tmp_path):
    from .live import make_settings

    settings = make_settings(tmp_path)
    assert Services(settings).settings is settings


def test_threads_that_find_the_file_changed_read_it_once(file_services, settings_file,
                                                          monkeypatch):
    import baton.settings

    reads = []
    real = baton.settings.read_settings

    def counted(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(baton.settings, "read_settings", counted)
    write_settings(settings_file, {**USERS, "erin": ()})
    start = threading.Barrier(8)
    seen: list[bool] = []

    def look() -> None:
        start.wait()
        seen.append("erin" in file_services.settings.users)

    threads = [threading.Thread(target=look) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [True] * 8 and len(reads) == 1
