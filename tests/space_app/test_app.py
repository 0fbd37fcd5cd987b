"""The Space's named endpoints through gradio_client, and GET /healthz, against `python space_app/app.py`.

The app runs in a subprocess exactly as a Space starts it, on a free port, with the embedded
market and a temporary dataset folder; SYNC_NOW pins the clock so the market is deterministic.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.support import ROOT
from tests.support.space import WATERMARK, health, running_app, wait_for

ADMIN_TOKEN = "admin-token-for-tests-0123"
HEALTH_KEYS = {
    "watermark",
    "behind_trading_days",
    "partial_days",
    "running",
    "current_run",
    "last_success",
    "last_error",
    "next_run",
}


def idle_with(url: str, predicate) -> dict:
    return wait_for(lambda: (lambda h: h if h and not h["running"] and predicate(h) else None)(health(url)), 90)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("space")
    with running_app(folder, SYNC_ADMIN_TOKEN=ADMIN_TOKEN) as url:
        yield url, folder


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app[0], verbose=False)


def test_first_start_builds_the_demo_dataset_by_itself(app):
    url, _ = app
    status = idle_with(url, lambda h: h["watermark"] is not None)
    assert HEALTH_KEYS <= set(status)
    assert status["watermark"] == WATERMARK and status["behind_trading_days"] == 0
    assert status["last_success"]["kind"] == "full" and status["last_success"]["trigger"] == "catch-up"
    assert status["last_error"] is None and status["current_run"] is None
    assert status["next_run"] == "2026-03-16T21:00:00+08:00"  # Monday: the weekend is skipped


def test_status_endpoint_matches_healthz_and_hides_the_machine(app, client):
    url, folder = app
    idle_with(url, lambda h: h["watermark"] is not None)
    status = client.predict(api_name="/status")
    assert status["watermark"] == WATERMARK and status["target"] == "local folder"
    assert HEALTH_KEYS <= set(status)
    text = json.dumps(status, ensure_ascii=False) + json.dumps(health(url), ensure_ascii=False)
    assert str(folder) not in text and ADMIN_TOKEN not in text and str(ROOT) not in text


def test_wrong_admin_token_is_refused_and_nothing_runs(app, client):
    url, _ = app
    idle_with(url, lambda h: h["watermark"] is not None)
    message = client.predict("", "", "", "not-the-token", api_name="/full_sync")
    assert message == "refused: wrong admin token; nothing was started"
    assert health(url)["running"] is False


def test_bad_input_is_refused_with_the_fix(app, client):
    message = client.predict("20260301", "20260101", "", ADMIN_TOKEN, api_name="/full_sync")
    assert message == "refused: start 2026-03-01 is after end 2026-01-01; nothing was started"


def test_an_anonymous_sync_now_is_answered_from_the_status_and_the_admin_token_starts_a_delta(app, client):
    url, _ = app
    idle_with(url, lambda h: h["watermark"] is not None)
    # The demo was just built and nothing newer than the watermark may be published (Friday evening).
    assert (
        client.predict(api_name="/sync_now")
        == f"not started: nothing new can be published yet; complete through {WATERMARK}"
    )
    assert health(url)["running"] is False
    assert (
        client.predict("not-the-admin-token", api_name="/sync_now") == "refused: wrong admin token; nothing was started"
    )
    assert client.predict(ADMIN_TOKEN, api_name="/sync_now").startswith("started delta sync (button);")
    second = client.predict(api_name="/sync_now")
    assert "already running" in second or "nothing new can be published yet" in second
    status = idle_with(url, lambda h: h["last_success"]["trigger"] == "button")
    assert status["last_success"]["message"].startswith("nothing new")


def test_full_sync_with_the_token_runs_in_the_background(app, client):
    url, _ = app
    idle_with(url, lambda h: h["watermark"] is not None)
    message = client.predict("20260105", "", "", ADMIN_TOKEN, api_name="/full_sync")
    assert message.startswith("started full sync (button; 2026-01-05 .. newest)")
    busy = client.predict("", "", "", ADMIN_TOKEN, api_name="/full_sync")
    assert busy.startswith("not started: a full sync (button; 2026-01-05 .. newest) is already running since 22:00:00")
    status = idle_with(url, lambda h: h["last_success"]["kind"] == "full" and h["last_success"]["trigger"] == "button")
    assert status["watermark"] == WATERMARK and status["last_error"] is None


def test_healthz_can_fail_for_an_uptime_monitor(app):
    url, _ = app
    idle_with(url, lambda h: h["watermark"] is not None)
    with urllib.request.urlopen(f"{url}/healthz?max_behind=0", timeout=5) as reply:
        assert reply.status == 200


def test_full_sync_is_disabled_on_the_hub_without_an_admin_token():
    from space_app.space import Space
    from sync.core.config import Settings

    settings = Settings(dataset_repo="hf://datasets/someone/prices")
    space = Space(settings, lambda: None)  # never started: the refusal needs no Hub and no clock
    message = space.full_sync("", "", "", "anything")
    assert message.startswith("refused: full sync is disabled") and "SYNC_ADMIN_TOKEN" in message
    assert space.runner.current is None
