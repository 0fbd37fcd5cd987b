"""stk_limit lists funds and B shares (as the real one does): they are paged for, counted in the
plan, and never published. Against our Tushare server; stk_limit's cap is lowered on both sides
so that a small market's day needs two pages, as a full market's does from about 2022."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from dataset_script.schema import ALL_MARKETS, shard_month
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine import full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.apis import DAY_APIS
from sync.tushare.client import TushareClient
from tests.support.expected import assert_same_rows, expected_rows

START, END = dt.date(2024, 1, 2), dt.date(2024, 1, 31)
CAPS = {"stk_limit": 60}
NOW = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=60, seed=5, funds=3.0))


def test_the_market_has_funds_only_in_stk_limit(market):
    stocks = set(market.table("stock_basic")["ts_code"])
    limits = market.table("stk_limit")
    others = limits[~limits["ts_code"].isin(stocks)]
    assert others["ts_code"].str.match(r"^(51\d{4}\.SH|16\d{4}\.SZ|900\d{3}\.SH|200\d{3}\.SZ)$").all()
    assert others["pre_close"].isna().all() and (others["up_limit"] > others["down_limit"]).all()
    per_day = limits.groupby("trade_date").size()
    assert (per_day > CAPS["stk_limit"]).all(), "every day needs two pages at this cap"
    for api in ("daily", "daily_basic", "adj_factor", "suspend_d"):
        assert market.table(api)["ts_code"].isin(stocks).all()


def test_funds_never_reach_the_dataset_and_calls_stay_within_5_percent_of_the_plan(market, tmp_path, monkeypatch):
    plans = []
    real_plan = full.plan_full
    monkeypatch.setattr(full, "plan_full", lambda *args: plans.append(real_plan(*args)) or plans[-1])  # records it
    with (
        TushareServer(market, tokens=("tok",), clock=lambda: NOW, row_caps=CAPS) as server,
        TushareClient(
            "tok", server.url, rate_per_min=1_000_000, rate_overrides={}, row_caps=CAPS, sleep=lambda s: None
        ) as client,
    ):
        repo = open_repo(str(tmp_path / "dataset"))
        result = full.run_full(repo, Source(client, "funds test", START), Settings(markets=ALL_MARKETS), NOW)
        calls = dict(server.calls)
    assert result.published
    (plan,) = plans
    assert plan.shapes["stk_limit"] == "per-day" and plan.probe_calls == 2
    days = market.trade_dates()
    assert plan.calls_per_api["stk_limit"] == 2 * len(days) + 2, "two pages a day, and the probe's two"
    for api in DAY_APIS:
        assert abs(calls[api] - plan.calls_per_api[api]) <= 0.05 * plan.calls_per_api[api], (api, calls[api], plan)
    rows = published(repo)
    stocks = set(market.table("stock_basic")["ts_code"])
    assert set(rows["code"]) <= stocks, "no fund or B share is published"
    assert_same_rows(rows, expected_rows(market, result.days, markets=ALL_MARKETS))


def published(repo) -> pd.DataFrame:
    head = repo.head()
    shards = sorted(p for p in repo.list_files(head) if shard_month(p))
    frame = pa.concat_tables([from_parquet(repo.read(p, head)) for p in shards]).to_pandas()
    return frame.assign(date=pd.to_datetime(frame["date"]))
