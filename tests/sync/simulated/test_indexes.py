"""The synthetic market's index interfaces behave as docs/tushare.md#indexes describes the real ones."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from sync.simulated import MarketSpec, SyntheticMarket, demo_market
from sync.simulated.calendar import sse_sessions
from sync.simulated.indexes import snapshot_days
from sync.simulated.server import TushareServer
from tests.support.serving import TOKEN, at


def _trading_days(first: dt.date, last: dt.date) -> list[dt.date]:
    sessions = sse_sessions(last.year)
    return [d.item() for d in sessions if first <= d.item() <= last]


def test_snapshots_are_daily_until_2011_09_then_monthly_then_twice_a_month():
    days = _trading_days(dt.date(2011, 6, 1), dt.date(2021, 12, 31))
    snaps = snapshot_days(days, seed=7)
    august_2011 = [d for d in days if d.year == 2011 and d.month == 8]
    assert [d for d in snaps if d.year == 2011 and d.month == 8] == august_2011
    for year in (2012, 2013, 2014, 2015):
        for month in range(1, 13):
            in_month = [d for d in days if (d.year, d.month) == (year, month)]
            got = [d for d in snaps if (d.year, d.month) == (year, month)]
            assert in_month[-1] in got and set(got) <= {in_month[0], in_month[-1]}
    march_2019 = [d for d in days if (d.year, d.month) == (2019, 3)]
    assert [d for d in snaps if (d.year, d.month) == (2019, 3)] == [march_2019[0], march_2019[-1]]


def test_snapshot_calendar_has_the_real_gaps():
    days = _trading_days(dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    snaps = snapshot_days(days, seed=7)
    assert not [d for d in snaps if (d.year, d.month) == (2021, 10)]
    assert len([d for d in snaps if (d.year, d.month) == (2020, 7)]) == 1
    assert len([d for d in snaps if (d.year, d.month) == (2020, 8)]) == 1


def _post(server: TushareServer, api: str, **params) -> dict:
    body = json.dumps({"api_name": api, "token": TOKEN, "params": params, "fields": ""}).encode()
    reply = json.loads(server.answer("/dataapi", body).body)
    assert reply["code"] == 0, reply
    return reply["data"]


@pytest.fixture(scope="module")
def market_2019_2020():
    return SyntheticMarket(MarketSpec(dt.date(2019, 9, 2), dt.date(2020, 9, 30), n_stocks=400))


@pytest.fixture(scope="module")
def server_2020(market_2019_2020):
    with TushareServer(market_2019_2020, tokens=(TOKEN,), clock=lambda: at(dt.date(2020, 12, 31))) as server:
        yield server


def test_index_daily_answers_close_first_and_newest_first(server_2020):
    data = _post(server_2020, "index_daily", ts_code="000905.SH")
    assert data["fields"][:3] == ["ts_code", "trade_date", "close"]
    dates = [row[1] for row in data["items"]]
    assert dates == sorted(dates, reverse=True)


def test_index_weight_of_000300_sh_is_empty_before_2020_03_31_and_399300_sz_is_complete(server_2020):
    early = {"start_date": "20190901", "end_date": "20200330"}
    assert _post(server_2020, "index_weight", index_code="000300.SH", **early)["items"] == []
    alias = _post(server_2020, "index_weight", index_code="399300.SZ", **early)["items"]
    assert alias
    late = {"start_date": "20200331", "end_date": "20200930"}
    own = _post(server_2020, "index_weight", index_code="000300.SH", **late)["items"]
    twin = _post(server_2020, "index_weight", index_code="399300.SZ", **late)["items"]
    assert sorted((r[1], r[2], r[3]) for r in own) == sorted((r[1], r[2], r[3]) for r in twin)


def test_unknown_codes_and_comma_lists_answer_empty_not_an_error(server_2020):
    assert _post(server_2020, "index_daily", ts_code="999999.SH")["items"] == []
    assert _post(server_2020, "index_daily", ts_code="000300.SH,000905.SH")["items"] == []
    assert _post(server_2020, "index_weight", index_code="H30094.CSI")["items"] == []
    assert _post(server_2020, "index_basic", ts_code="999999.SH")["items"] == []


def test_index_weight_silently_keeps_the_newest_dates_at_the_cap(market_2019_2020):
    with TushareServer(
        market_2019_2020, tokens=(TOKEN,), clock=lambda: at(dt.date(2020, 12, 31)), row_caps={"index_weight": 40}
    ) as server:
        items = _post(server, "index_weight", index_code="399300.SZ")["items"]
    weights = market_2019_2020.table("index_weight")
    every = weights[weights["index_code"] == "399300.SZ"].sort_values("trade_date", ascending=False)
    assert len(items) == 40 and len(every) > 40
    assert sorted(r[2] for r in items) == sorted(every["trade_date"].head(40))
    newest = every["trade_date"].max()
    assert {r[2] for r in items} > {newest}  # more than the newest snapshot, and the oldest one cut mid-way


def test_snapshot_weights_sum_to_100_and_members_come_from_the_market(market_2019_2020):
    weights = market_2019_2020.table("index_weight")
    sums = weights.groupby(["index_code", "trade_date"])["weight"].sum()
    assert np.allclose(sums, 100, atol=0.05)
    stocks = set(market_2019_2020.table("stock_basic")["ts_code"])
    assert set(weights["con_code"]) <= stocks


def test_a_snapshot_is_served_only_once_it_is_published(market_2019_2020):
    weights = market_2019_2020.table("index_weight")
    late = weights[weights["published"] > weights["trade_date"].map(lambda d: dt.datetime.strptime(d, "%Y%m%d").date())]
    row = late.iloc[-1]
    day = row["trade_date"]
    before = row["published"] - dt.timedelta(days=1)
    with TushareServer(market_2019_2020, tokens=(TOKEN,), clock=lambda: at(before)) as server:
        assert not [r for r in _post(server, "index_weight", index_code=row["index_code"], trade_date=day)["items"]]
        server.set_clock(lambda: at(row["published"]))
        assert _post(server, "index_weight", index_code=row["index_code"], trade_date=day)["items"]


def test_an_index_hole_is_missing_from_index_daily_only():
    hole = dt.date(2024, 2, 6)
    market = SyntheticMarket(
        MarketSpec(dt.date(2024, 1, 2), dt.date(2024, 3, 29), n_stocks=300, index_holes=(("000905.SH", hole),))
    )
    daily = market.table("index_daily")
    on_day = set(daily.loc[daily["trade_date"] == "20240206", "ts_code"])
    assert "000905.SH" not in on_day and "000300.SH" in on_day


def test_the_demo_market_carries_indexes_with_scaled_memberships():
    market = demo_market(dt.date(2026, 3, 31))
    weights = market.table("index_weight")
    csi300 = weights[weights["index_code"] == "000300.SH"]
    per_snapshot = csi300.groupby("trade_date")
    assert np.allclose(per_snapshot["weight"].sum(), 100, atol=0.05)
    assert 3 <= per_snapshot.size().max() <= 20  # ~300 of 5,500 scaled to ~120 stocks
    assert set(market.table("index_daily")["ts_code"]) >= {"000001.SH", "399001.SZ", "000300.SH", "000905.SH"}
