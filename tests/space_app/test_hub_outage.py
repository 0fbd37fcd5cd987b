"""A Hub blip at start-up costs no day, and never blocks the app's HTTP (issue 22, point 2).

The app is built as `python space_app/app.py` builds it (`create_app`), in process, against the
session's Hub test server answering 503 and our Tushare server. Time is injected, not waited:
the Hub adapter's retry sleeps and the scheduler's monotonic clock run on one fake clock that the
test moves, and the first sleep holds until the test lets it go, so the start-up is provably
stuck in the Hub's retries while /healthz is asked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
import types

import pytest

import space_app.scheduler
import sync.targets.hub
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import open_repo
from sync.tushare.client import TushareClient

TOKEN = "hub-outage-tushare-token"
REPO_ID = "maintainer/a-share-prices"
START, END = dt.date(2024, 2, 1), dt.date(2024, 3, 8)  # a Friday
NOW = dt.datetime.combine(END, dt.time(22), tzinfo=SHANGHAI)  # SYNC_NOW: Friday evening, Friday not yet published
HUB_503_TIMES = 7  # one more than a read's own attempts: the first catch-up fails, its retry succeeds


class GatedTime:
    """Fake seconds, moved by sleeps and by the test; the first sleep also waits until `release()`."""

    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, 0
        self.gate = threading.Event()
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps += 1
            first = self.sleeps == 1
        if first:
            assert self.gate.wait(30), "the test never released the first sleep"
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.fixture(scope="module")
def server():
    market = SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=20, seed=7))
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as running:
        yield running


def eventually(condition, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"not within {seconds} s")


@contextlib.contextmanager
def timed(limit: float):
    began = time.monotonic()
    yield
    assert time.monotonic() - began < limit


def test_a_space_started_while_the_hub_answers_503_seven_times_catches_up_within_minutes_and_answers_meanwhile(
    server, hub_server, monkeypatch
):
    from fastapi.testclient import TestClient

    from space_app.app import create_app

    settings = Settings(
        tushare_token=TOKEN, tushare_api_url=server.url, dataset_repo=f"hf://datasets/{REPO_ID}", markets=("主板",)
    )
    with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}) as client:
        run_full(
            open_repo(settings.dataset_repo),
            Source(client, "hub outage", START),
            settings,
            NOW,
            start=START,
            end=END - dt.timedelta(days=1),
        )
    for _ in range(HUB_503_TIMES):
        hub_server.fail_next("GET", f"/api/datasets/{REPO_ID}", 503)
    fake = GatedTime()
    monkeypatch.setattr(sync.targets.hub, "time", types.SimpleNamespace(sleep=fake.sleep, monotonic=fake.monotonic))
    monkeypatch.setattr(space_app.scheduler, "time", types.SimpleNamespace(monotonic=fake.monotonic))

    with timed(30):  # builds the UI; the start-up is in the scheduler's thread, stuck in the Hub's retries
        app, space = create_app(settings, lambda: NOW, env={})
    try:
        http = TestClient(app)
        eventually(lambda: fake.sleeps >= 1, 10)
        with timed(3):
            answer = http.get("/healthz")
        assert answer.status_code == 200 and answer.json()["running"] is False

        fake.gate.set()  # the Hub read's retries go on: six 503s, then the start-up plans a retry
        eventually(lambda: "start-up" in space.scheduler.pending)
        with timed(3):
            status = http.get("/healthz").json()
        assert "HTTP 503" in status["repo_error"] and status["next_run_trigger"] == "retry"
        assert dt.datetime.fromisoformat(status["next_run"]) - NOW <= dt.timedelta(minutes=2)
        assert space.runner.snapshot()[0] is None, "nothing runs yet: the Hub is still down"

        fake.advance(2 * 60)  # two minutes of real time pass: the retry reads the Hub (one last 503) and catches up
        done = eventually(lambda: (lambda s: s if s["watermark"] == END.isoformat() else None)(space.status()), 120)
        assert done["behind_trading_days"] == 0 and done["last_success"]["trigger"] == "catch-up"
        assert fake.monotonic() < 5 * 60, "caught up within minutes of real time"
    finally:
        space.scheduler.stop()
        space.runner.wait(60)


def test_a_resume_that_meets_a_hub_outage_says_so_and_is_tried_again(server, hub_server, monkeypatch):
    import huggingface_hub.utils._http as hub_http

    from space_app.space import Space

    skipped = types.SimpleNamespace(sleep=lambda seconds: None, monotonic=time.monotonic)
    monkeypatch.setattr(sync.targets.hub, "time", skipped)  # the adapter's waits, and huggingface_hub's own
    monkeypatch.setattr(hub_http, "time", skipped)
    settings = Settings(tushare_token=TOKEN, tushare_api_url=server.url, dataset_repo=f"hf://datasets/{REPO_ID}")
    space = Space(settings, lambda: NOW)
    hub_server.down = lambda: True
    assert space.resume_interrupted() is False, "not read: the scheduler tries again"
    hub_server.down = None
    assert space.resume_interrupted() is True and space.interrupted == []
