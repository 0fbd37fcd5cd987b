"""The real Tushare history as the synthetic market serves it (docs/tushare.md, history), read over HTTP
with the project's own client: stk_limit from 2007-01-04, daily_basic gaps in 2005-2006,
configured permanent holes, and legacy or empty market labels on delisted stocks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
import requests

from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tushare.apis import board_of
from sync.tushare.client import TushareClient

pytestmark = pytest.mark.filterwarnings("ignore:Series.values returning")  # exchange_calendars vs pandas 3.1

TOKEN = "history-token"
ADJ_HOLE, BASIC_HOLE = dt.date(2008, 3, 5), dt.date(2006, 6, 1)
SPEC = MarketSpec(
    dt.date(2005, 1, 4),
    dt.date(2008, 3, 31),
    n_stocks=400,
    seed=7,
    holes={("adj_factor", ADJ_HOLE): 0.5, ("daily_basic", BASIC_HOLE): 0.6},
)
# Boards by code prefix, restated from the exchanges' rules (docs/tushare.md, boards), not read from the code.
BOARD_BY_PREFIX = {
    "600": "主板",
    "601": "主板",
    "603": "主板",
    "605": "主板",
    "000": "主板",
    "001": "主板",
    "002": "主板",
    "003": "主板",
    "300": "创业板",
    "301": "创业板",
    "688": "科创板",
    "689": "科创板",
    "920": "北交所",
}


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SPEC)


@pytest.fixture(scope="module")
def client(market):
    with (
        TushareServer(market, tokens=(TOKEN,)) as server,
        TushareClient(TOKEN, server.url, rate_per_min=1_000_000) as client,
    ):
        yield client


def codes(client: TushareClient, api: str, day: str) -> set[str]:
    return set(client.query(api, "ts_code,trade_date", trade_date=day)["ts_code"])


def coverage(client: TushareClient, api: str, day: str) -> float:
    """Share of the codes with a daily bar that `api` has on `day` (the engine's day-status rule)."""
    bars = codes(client, "daily", day)
    assert bars, f"no daily bars on {day}"
    return len(codes(client, api, day) & bars) / len(bars)


def trading_days(client: TushareClient, first: str, last: str) -> list[str]:
    cal = client.query("trade_cal", "cal_date,is_open", start_date=first, end_date=last)
    return sorted(pd.to_datetime(cal.loc[cal["is_open"] == 1, "cal_date"]).dt.strftime("%Y%m%d"))


# --- stk_limit ---------------------------------------------------------------------------------


def test_stk_limit_is_empty_before_2007_01_04_per_day(client):
    assert client.query("stk_limit", trade_date="20050104").empty
    assert client.query("stk_limit", trade_date="20061229").empty  # the last trading day before it
    first = client.query("stk_limit", trade_date="20070104")
    assert codes(client, "daily", "20070104") <= set(first["ts_code"])


def test_stk_limit_per_stock_starts_on_2007_01_04(client):
    old = sorted(codes(client, "daily", "20050104") & codes(client, "daily", "20070104"))
    assert old, "the fixture needs a stock trading on both days"
    window = client.query("stk_limit", ts_code=old[0], start_date="20061201", end_date="20070131")
    assert window["trade_date"].min() == pd.Timestamp("2007-01-04")
    whole = client.query("stk_limit", ts_code=",".join(old[:3]))
    assert whole["trade_date"].min() == pd.Timestamp("2007-01-04")
    assert client.query("stk_limit", ts_code=old[0], start_date="20050101", end_date="20061231").empty


# --- daily_basic in 2005-2006 ----------------------------------------------------------------------


def test_daily_basic_lacks_a_few_percent_of_codes_on_days_of_2005_and_2006(client):
    days = [d for d in trading_days(client, "20050101", "20061231") if d != BASIC_HOLE.strftime("%Y%m%d")][::30]
    figures = {day: coverage(client, "daily_basic", day) for day in days}
    assert len(figures) >= 15
    assert all(0.90 < value < 0.98 for value in figures.values()), figures
    assert len(set(figures.values())) > 3, "the gap varies by day"
    missing = [codes(client, "daily", day) - codes(client, "daily_basic", day) for day in days[:2]]
    assert missing[0] != missing[1], "different codes go missing on different days"


def test_daily_basic_is_whole_from_2007(client):
    for day in ("20070104", "20070615", *trading_days(client, "20080101", "20080110")):
        assert coverage(client, "daily_basic", day) == 1.0, day


# --- configured holes --------------------------------------------------------------------------


def test_a_configured_hole_gives_the_configured_coverage(client):
    day = ADJ_HOLE.strftime("%Y%m%d")
    bars = len(codes(client, "daily", day))
    assert abs(coverage(client, "adj_factor", day) - 0.5) <= 1 / bars
    neighbours = trading_days(client, "20080303", "20080307")
    assert [coverage(client, "adj_factor", d) for d in neighbours if d != day] == [1.0] * (len(neighbours) - 1)


def test_a_hole_on_an_old_day_overrides_the_usual_gap(client):
    day = BASIC_HOLE.strftime("%Y%m%d")
    assert abs(coverage(client, "daily_basic", day) - 0.6) <= 1 / len(codes(client, "daily", day))


def test_a_hole_gives_the_same_coverage_when_paged(market):
    day = ADJ_HOLE.strftime("%Y%m%d")
    with (
        TushareServer(market, tokens=(TOKEN,), row_caps={"adj_factor": 17}) as server,
        TushareClient(TOKEN, server.url, rate_per_min=1_000_000, row_caps={"adj_factor": 17}) as paged,
    ):
        frame = paged.query("adj_factor", trade_date=day)
        assert paged.pages["adj_factor"] > 1
    table = market.table("adj_factor")
    assert sorted(frame["ts_code"]) == sorted(table.loc[table["trade_date"] == day, "ts_code"])


@pytest.mark.parametrize(
    ("holes", "words"),
    [
        ({("adj_factor", dt.date(2008, 3, 8)): 0.5}, "not SSE trading days: 20080308"),
        ({("namechange", ADJ_HOLE): 0.5}, "per-day interfaces"),
        ({("daily", ADJ_HOLE): 1.5}, "between 0 and 1"),
    ],
)
def test_a_nonsense_hole_is_refused_with_its_reason(holes, words):
    with pytest.raises(ValueError, match=words):
        MarketSpec(dt.date(2008, 1, 2), dt.date(2008, 3, 31), holes=holes)


def test_gaps_and_holes_are_the_same_on_every_build_and_when_the_market_grows(market):
    again = SyntheticMarket(SPEC)
    longer = SyntheticMarket(dataclasses.replace(SPEC, end=dt.date(2008, 6, 30)))
    for api in ("daily_basic", "adj_factor", "stk_limit"):
        pd.testing.assert_frame_equal(again.table(api), market.table(api), obj=api)
        grown = longer.table(api)
        grown = grown[grown["trade_date"] <= "20080331"].reset_index(drop=True)
        pd.testing.assert_frame_equal(grown, market.table(api), obj=api)
    assert SPEC == again.spec and hash(SPEC) == hash(again.spec)


# --- stock_basic labels ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listing() -> list[dict]:
    """Every stock of a market with a long delisting history, as the raw JSON reply gives them."""
    market = SyntheticMarket(MarketSpec(dt.date(2024, 12, 2), dt.date(2024, 12, 31), n_stocks=1500, seed=7))
    with TushareServer(market, tokens=(TOKEN,)) as server:
        reply = requests.post(
            server.url,
            timeout=30,
            json={
                "api_name": "stock_basic",
                "token": TOKEN,
                "fields": "ts_code,exchange,market,list_status",
                "params": {"list_status": "L,D,P"},
            },
        ).json()
    return [dict(zip(reply["data"]["fields"], item)) for item in reply["data"]["items"]]


def test_listed_stocks_carry_current_labels(listing):
    current = [row for row in listing if row["list_status"] != "D"]
    assert len(current) > 1000
    assert {row["market"] for row in current} == {"主板", "创业板", "科创板", "北交所"}
    assert all(BOARD_BY_PREFIX[row["ts_code"][:3]] == row["market"] for row in current)


def test_delisted_stocks_carry_legacy_and_empty_labels(listing):
    delisted = [row for row in listing if row["list_status"] == "D"]
    labels = [row["market"] for row in delisted]
    sme = [row for row in delisted if row["market"] == "中小板"]
    assert sme and all(row["ts_code"].startswith("002") and row["ts_code"].endswith(".SZ") for row in sme)
    assert "" in labels and None in labels, 'an empty label arrives both as "" and as JSON null'
    assert 0.02 < (labels.count("") + labels.count(None)) / len(labels) < 0.3
    assert any(label == "主板" for label in labels), "most delisted stocks keep their label"


def test_board_of_maps_every_label_to_the_board_of_the_code(listing):
    for row in listing:
        assert board_of(row["ts_code"], row["exchange"], row["market"]) == BOARD_BY_PREFIX[row["ts_code"][:3]], row


def test_the_client_reads_every_label_and_board_of_maps_it(listing):
    market = SyntheticMarket(MarketSpec(dt.date(2024, 12, 2), dt.date(2024, 12, 31), n_stocks=1500, seed=7))
    with (
        TushareServer(market, tokens=(TOKEN,)) as server,
        TushareClient(TOKEN, server.url, rate_per_min=1_000_000) as client,
    ):
        frame = client.query("stock_basic", "ts_code,exchange,market,list_status", list_status="L,D,P")
    assert len(frame) == len(listing) and frame["market"].isna().any()
    boards = [board_of(c, e, m) for c, e, m in zip(frame["ts_code"], frame["exchange"], frame["market"])]
    assert boards == [BOARD_BY_PREFIX[code[:3]] for code in frame["ts_code"]]
