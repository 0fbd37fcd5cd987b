"""Admin guards and the Explore tab's pure parts: tokens, the wrong-token delay, input, adjustment, status text."""

import asyncio
import datetime as dt

import pandas as pd
import pytest

from space_app import admin
from space_app.admin import full_sync_disabled, parse_full_input, token_matches
from space_app.explore import adjust, default_range, default_stock, stock_choices
from space_app.redact import Redactor
from space_app.status_markdown import status_markdown
from sync.core.errors import ConfigError


def test_full_sync_needs_an_admin_token_only_on_the_hub():
    assert "SYNC_ADMIN_TOKEN" in full_sync_disabled(target_is_hub=True, admin_token=None)
    assert full_sync_disabled(target_is_hub=True, admin_token="t0ken") is None
    assert full_sync_disabled(target_is_hub=False, admin_token=None) is None


def test_token_comparison():
    assert token_matches("s3cret", "s3cret")
    assert not token_matches("s3cre", "s3cret") and not token_matches("", "s3cret")
    assert token_matches("", None)  # a local folder without a configured token


def test_only_a_wrong_token_refusal_waits_and_it_waits_on_the_event_loop(monkeypatch):
    waited = []

    async def sleep(seconds):  # the event loop's sleep: a pending wrong token holds no thread
        waited.append(seconds)

    monkeypatch.setattr(admin.asyncio, "sleep", sleep)
    for message in (admin.WRONG_TOKEN, "started full sync (button); follow it in Status and Logs", "refused: x"):
        assert asyncio.run(admin.answered(message)) == message
    assert waited == [admin.WRONG_TOKEN_DELAY] and admin.WRONG_TOKEN_DELAY >= 1.0


def test_full_sync_input():
    chosen = parse_full_input("2024-01-02", "20240329", "主板,创业板")
    assert (chosen.start, chosen.end, chosen.markets) == (dt.date(2024, 1, 2), dt.date(2024, 3, 29), ("主板", "创业板"))
    assert parse_full_input("", " ", "") == parse_full_input("", "", "")
    with pytest.raises(ConfigError, match="start 2024-03-29 is after end 2024-01-02"):
        parse_full_input("20240329", "20240102", "")
    with pytest.raises(ConfigError, match="start must be a date as YYYYMMDD"):
        parse_full_input("yesterday", "", "")
    with pytest.raises(ConfigError, match="markets must be a comma list"):
        parse_full_input("", "", "nasdaq")


def test_adjustment_follows_the_card():
    frame = pd.DataFrame(
        {"open": [10.0, 10.0], "high": [11.0, 11.0], "low": [9.0, 9.0], "close": [10.0, 5.0], "adj_factor": [1.0, 2.0]}
    )
    assert adjust(frame, "none", 2.0)["close"].tolist() == [10.0, 5.0]
    assert adjust(frame, "hfq", 2.0)["close"].tolist() == [10.0, 10.0]
    assert adjust(frame, "qfq", 4.0)["close"].tolist() == [2.5, 2.5]  # the latest factor of the code, not of the range


def test_stock_choices_search_by_code_or_name_and_default_range():
    stocks = pd.DataFrame({"code": ["600001.SH", "000001.SZ"], "name": ["浦发", "平安银行"]})
    assert stock_choices(stocks) == [("000001.SZ 平安银行", "000001.SZ"), ("600001.SH 浦发", "600001.SH")]
    assert default_range(dt.date(2024, 1, 2), dt.date(2024, 4, 12)) == ("2024-01-02", "2024-04-12")
    assert default_range(None, None) == ("", "")


def test_explore_opens_on_the_first_listed_stock():
    stocks = pd.DataFrame(
        {
            "code": ["600001.SH", "000002.SZ", "000001.SZ"],
            "name": ["浦发", "万科", "平安"],
            "list_status": ["L", "L", "D"],
        }
    )
    assert default_stock(stocks) == "000002.SZ"  # 000001.SZ is delisted: no rows in the recent range
    assert default_stock(stocks.assign(list_status="D")) == "000001.SZ"
    assert default_stock(stocks.iloc[:0]) is None and default_stock(None) is None


def test_status_text_shows_nothing_published_and_progress():
    text = status_markdown({"published": False, "running": False, "next_run": "2024-04-15T13:00:00+00:00"})
    assert text.startswith("## Nothing published yet\nStart a full sync") and "2024-04-15 21:00 Asia/Shanghai" in text
    text = status_markdown(
        {
            "published": True,
            "watermark": "2024-04-12",
            "behind_trading_days": 2,
            "partial_days": 1,
            "running": True,
            "next_run": "2024-04-15T21:00:00+08:00",
            "current_run": {
                "kind": "delta",
                "trigger": "button",
                "phase": "fetch",
                "eta_seconds": 12,
                "started_at": "2024-04-15T21:00:00+08:00",
                "progress": "fetch 1/2 day, 4 API calls",
            },
        }
    )
    assert "## Complete through 2024-04-12 · 2 trading days behind" in text
    assert "fetch 1/2 day, 4 API calls, about 12 s left in fetch" in text


def test_redaction_hides_secrets_and_folders():
    redactor = Redactor(secrets=["tok-123456"], paths=["/srv/data/ds", "/srv"], labels=["<dataset>", "<app>"])
    assert redactor.text("tok-123456 at /srv/data/ds/x and /srv/y") == "*** at <dataset>/x and <app>/y"


def test_the_synthetic_market_never_publishes_to_the_hub_by_itself():
    from space_app.space import Space
    from sync.core.config import Settings

    space = Space(Settings(dataset_repo="hf://datasets/someone/prices"), lambda: None)
    assert not space.scheduler.automatic
    assert Space(Settings(dataset_repo="/tmp/unused-folder"), lambda: None).scheduler.automatic
    text = status_markdown({"published": False, "running": False, "next_run": None})
    assert "automatic syncs are off" in text
