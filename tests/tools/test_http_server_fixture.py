"""The recording test server itself: scripts, replays and effects behave as documented."""

from __future__ import annotations

import httpx
import pytest

from tests.support import Reply


def post(url: str, key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return httpx.post(url, content=b"x", headers=headers, timeout=5)


def test_script_is_used_in_order_and_the_last_reply_repeats(http_server):
    http_server.script("/s", Reply(status=500), Reply(status=201, body={"n": 1}))
    assert [post(http_server.url("/s")).status_code for _ in range(3)] == [500, 201, 201]
    assert http_server.count("/s") == 3
    assert len(http_server.effects("/s")) == 2  # the 500 changed nothing


def test_dropped_reply_that_applies_is_replayed_to_the_retry(http_server):
    http_server.script("/pay", Reply(drop=True, body={"first": True}),
                       Reply(status=200, body={"second": True}))
    with pytest.raises(httpx.RemoteProtocolError):
        post(http_server.url("/pay"), key="k1")
    retry = post(http_server.url("/pay"), key="k1")
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == {"first": True}
    assert http_server.count("/pay") == 2 and len(http_server.effects("/pay")) == 1
    assert post(http_server.url("/pay"), key="k2").json() == {"second": True}


def test_reply_that_does_not_apply_is_not_replayed(http_server):
    http_server.script("/p", Reply(drop=True, applies=False), Reply(status=200, body="done"))
    with pytest.raises(httpx.RemoteProtocolError):
        post(http_server.url("/p"), key="k1")
    again = post(http_server.url("/p"), key="k1")
    assert again.text == "done" and "idempotent-replayed" not in again.headers
    assert len(http_server.effects("/p")) == 1


def test_reset_forgets_everything(http_server):
    post(http_server.url("/r"), key="k")
    http_server.reset()
    assert http_server.count() == 0 and http_server.effects() == []
    assert "idempotent-replayed" not in post(http_server.url("/r"), key="k").headers
