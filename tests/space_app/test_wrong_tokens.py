"""Wrong admin tokens cannot lock the maintainer out (issue 22 point 5), against `python space_app/app.py`.

A wrong token's answer waits at least 1 s, on the event loop: with 50 wrong tokens pending (their
requests fully sent, their answers not yet read), the right token is answered within 2 s. The
requests go over raw HTTP to the named endpoint, as gradio_client's do. A real TUSHARE_TOKEN and
an empty folder: nothing runs by itself on start (the full sync is the maintainer's decision),
and the right token's call is refused for its input, so nothing ever runs here.
"""

from __future__ import annotations

import http.client
import inspect
import json
import select
import time
import urllib.parse

import pytest

from space_app import admin
from tests.support.space import running_app

ADMIN = "the-maintainers-admin-token-0123"
PENDING = 50
BAD_INPUT = "refused: start 2026-03-01 is after end 2026-01-01; nothing was started"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wrong-tokens")
    with running_app(
        folder, SYNC_ADMIN_TOKEN=ADMIN, TUSHARE_TOKEN="a-real-looking-token", TUSHARE_API_URL="http://127.0.0.1:9"
    ) as url:
        yield urllib.parse.urlsplit(url)


def send(app, token: str) -> http.client.HTTPConnection:
    """POST /full_sync with `token`; returns once the request is sent, before its answer."""
    connection = http.client.HTTPConnection(app.hostname, app.port, timeout=30)
    body = json.dumps({"data": ["20260301", "20260101", "", token]})
    connection.request("POST", "/gradio_api/run/full_sync", body, {"Content-Type": "application/json"})
    return connection


def answer(connection: http.client.HTTPConnection) -> str:
    reply = connection.getresponse()
    data = json.loads(reply.read())
    connection.close()
    assert reply.status == 200, data
    return data["data"][0]


def test_a_wrong_token_waits_at_least_a_second(app):
    started = time.monotonic()
    assert answer(send(app, "not-the-admin-token-000")) == admin.WRONG_TOKEN
    assert time.monotonic() - started >= admin.WRONG_TOKEN_DELAY


def test_the_right_token_is_answered_within_2_s_with_50_wrong_ones_pending(app):
    answer(send(app, ADMIN))  # a warm connection path: the first call of a process imports lazily
    wrong = [send(app, f"wrong-guess-{i:020d}") for i in range(PENDING)]
    sent = time.monotonic()
    right = send(app, ADMIN)
    assert answer(right) == BAD_INPUT, "the right token is checked: no lockout"
    took = time.monotonic() - sent
    answered_before = select.select([c.sock for c in wrong], [], [], 0)[0]
    answers = [answer(c) for c in wrong]
    assert took < 2.0, f"the right token took {took:.2f} s behind {PENDING} wrong ones"
    assert answers == [admin.WRONG_TOKEN] * PENDING
    print(f"right token answered in {took:.3f} s; {len(answered_before)} of {PENDING} wrong ones answered before it")


def test_the_token_endpoints_wait_on_the_event_loop_not_in_a_worker(tmp_path):
    """Gradio awaits a coroutine handler on its event loop and runs a plain one in one of its 40 worker
    threads; with queue=False no queue slot is taken either. So a wrong token's second holds neither."""
    from space_app import ui
    from space_app.space import Space
    from sync.core.config import Settings

    demo = ui.build(Space(Settings(dataset_repo=str(tmp_path / "dataset"), admin_token=ADMIN), lambda: None))
    handlers = {f.api_name: f for f in demo.fns.values() if f.api_name in ("full_sync", "migrate_legacy", "sync_now")}
    assert sorted(handlers) == ["full_sync", "migrate_legacy", "sync_now"]
    for name, handler in handlers.items():
        assert inspect.iscoroutinefunction(handler.fn) and handler.queue is False, name
