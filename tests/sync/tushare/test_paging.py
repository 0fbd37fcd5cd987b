"""Paging without trusting `has_more`: the client asks for another page only after a full one.

Edge cases are scripted with `httpx.MockTransport`; the whole-sync comparison runs our Tushare
server in its three `has_more` modes (truthful, always true, unreliable as the real one).
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pandas as pd
import pyarrow as pa
import pytest

from dataset_script.schema import shard_month
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import HAS_MORE_MODES, TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.client import TushareClient
from tests.support.expected import assert_same_rows, expected_rows

FIELDS = ["ts_code", "trade_date", "up_limit", "down_limit"]


def rows(n: int) -> list[list]:
    return [[f"{i:06d}.SZ", "20250110", 11.0, 9.0] for i in range(n)]


class Pages:
    """Slices `items` by the request's limit/offset (at most `cap` rows); says `has_more` as told."""

    def __init__(self, items: list[list], has_more, cap: int | None = None):
        self.items, self.has_more, self.cap, self.asked = items, has_more, cap, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = json.loads(request.content)["params"]
        self.asked.append((params["limit"], params["offset"]))
        limit = min(params["limit"], self.cap or params["limit"])
        page = self.items[params["offset"] : params["offset"] + limit]
        more = (
            self.has_more(params["offset"] + len(page) < len(self.items)) if callable(self.has_more) else self.has_more
        )
        return httpx.Response(
            200, json={"code": 0, "msg": "", "data": {"fields": FIELDS, "items": page, "has_more": more, "count": -1}}
        )


def client_for(pages: Pages, **kwargs) -> TushareClient:
    return TushareClient(
        "tok",
        "http://tushare.test/dataapi",
        http=httpx.Client(transport=httpx.MockTransport(pages)),
        sleep=lambda s: None,
        **kwargs,
    )


@pytest.mark.parametrize("has_more", [True, False, lambda truth: truth, lambda truth: not truth])
def test_a_short_page_ends_the_listing_whatever_has_more_says(has_more):
    pages = Pages(rows(3), has_more)  # the real server said has_more: true on a complete 3-row reply
    frame = client_for(pages).query("stk_limit", trade_date="20250110")
    assert len(frame) == 3 and pages.asked == [(5800, 0)]


@pytest.mark.parametrize("has_more", [True, False])
def test_a_full_page_asks_for_the_next_even_when_has_more_is_false(has_more):
    pages = Pages(rows(7050), has_more)
    frame = client_for(pages).query("stk_limit", trade_date="20250110")
    assert len(frame) == 7050 and frame["ts_code"].is_unique
    assert pages.asked == [(5800, 0), (5800, 5800)]


def test_a_full_page_followed_by_an_empty_one():
    pages = Pages(rows(5800), True)
    client = client_for(pages)
    frame = client.query("stk_limit", trade_date="20250110")
    assert len(frame) == 5800 and pages.asked == [(5800, 0), (5800, 5800)]
    assert (client.calls["stk_limit"], client.pages["stk_limit"]) == (2, 2)


def test_an_empty_reply_is_one_call_even_with_has_more_true():
    pages = Pages([], True)
    assert client_for(pages).query("stk_limit", trade_date="20250110").empty and len(pages.asked) == 1


def test_a_round_short_page_is_probed_once_as_a_possible_server_cap():
    pages = Pages(rows(5000), False, cap=4800)  # stk_limit has answered 4,800 of a documented 5,800
    client = client_for(pages)
    assert len(client.query("stk_limit", trade_date="20250110")) == 5000
    assert pages.asked == [(5800, 0), (5800, 4800)]
    pages.asked.clear()
    assert len(client.query("stk_limit", trade_date="20250111")) == 5000  # the cap is known now
    assert pages.asked == [(5800, 0), (5800, 4800)]


def test_the_client_pages_at_the_caps_it_is_given():
    pages = Pages(rows(250), False, cap=100)
    client = client_for(pages, row_caps={"stk_limit": 100})
    assert len(client.query("stk_limit", trade_date="20250110")) == 250
    assert pages.asked == [(100, 0), (100, 100), (100, 200)]


# -- a whole full sync against the three has_more modes -----------------------------------------

START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
SETTINGS = Settings(markets=("主板",))
CAPS = {"daily": 20, "stk_limit": 20, "daily_basic": 20, "adj_factor": 20, "suspend_d": 20}


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=60, seed=3))


def full_sync(market, tmp_path, has_more: str):
    now = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)
    with (
        TushareServer(market, tokens=("tok",), clock=lambda: now, row_caps=CAPS, has_more=has_more) as server,
        TushareClient(
            "tok", server.url, rate_per_min=1_000_000, rate_overrides={}, row_caps=CAPS, sleep=lambda s: None
        ) as client,
    ):
        repo = open_repo(str(tmp_path / has_more))
        result = run_full(repo, Source(client, "paging test", START), SETTINGS, now)
        return result, dict(server.calls), repo


def test_calls_against_an_unreliable_has_more_equal_a_truthful_server(market, tmp_path):
    results = {mode: full_sync(market, tmp_path, mode) for mode in HAS_MORE_MODES}
    truthful = results["truthful"][1]
    assert truthful["daily"] > len(market.trade_dates()), "the small caps make every request take pages"
    for mode, (result, calls, repo) in results.items():
        assert calls == truthful, f"has_more={mode} changed the calls"
        assert result.published
        assert_same_rows(published(repo), expected_rows(market, result.days))


def published(repo) -> pd.DataFrame:
    head = repo.head()
    shards = sorted(p for p in repo.list_files(head) if shard_month(p))
    frame = pa.concat_tables([from_parquet(repo.read(p, head)) for p in shards]).to_pandas()
    return frame.assign(date=pd.to_datetime(frame["date"]))
