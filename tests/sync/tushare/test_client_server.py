"""Our strict client against our Tushare-compatible server: whole-market days beyond the row caps."""

import datetime as dt

import pytest

from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tushare.client import TushareAuthError, TushareClient
from sync.tushare.errors import TushareMissingFieldError

DAY = dt.date(2025, 6, 3)


@pytest.fixture(scope="module")
def big_day():
    market = SyntheticMarket(MarketSpec(DAY, DAY, n_stocks=7000, seed=3))
    with TushareServer(market, tokens=("tok",)) as server:
        yield market, server


@pytest.mark.parametrize("api", ["daily", "stk_limit", "daily_basic", "adj_factor"])
def test_a_full_market_day_beyond_the_cap_arrives_without_losing_a_row(big_day, api):
    market, server = big_day
    table = market.table(api)
    expected = set(table.loc[table["trade_date"] == "20250603", "ts_code"])
    assert len(expected) > 6000, "the fixture must exceed the documented caps"
    with TushareClient("tok", server.url, rate_per_min=1_000_000) as client:
        frame = client.query(api, trade_date="20250603")
        assert client.calls[api] >= 2, "more than one page was needed"
    assert len(frame) == len(expected) and set(frame["ts_code"]) == expected


def test_bad_token_against_the_server_names_the_variable_not_the_token(big_day):
    _, server = big_day
    with TushareClient("not-the-token-5b1d", server.url) as client:
        with pytest.raises(TushareAuthError) as raised:
            client.query("trade_cal", start_date="20250601", end_date="20250610")
    assert "TUSHARE_TOKEN" in str(raised.value) and "not-the-token-5b1d" not in str(raised.value)
    assert client.calls["trade_cal"] == 1, "a bad token is not retried"


@pytest.fixture(scope="module")
def small_market():
    return SyntheticMarket(MarketSpec(dt.date(2024, 1, 2), dt.date(2024, 3, 29), n_stocks=80, seed=5))


def test_a_dropped_field_fails_the_query_naming_interface_and_field(small_market):
    with (
        TushareServer(small_market, tokens=("tok",), drop_fields={"daily": {"vol"}}) as server,
        TushareClient("tok", server.url, rate_per_min=1_000_000) as client,
    ):
        with pytest.raises(TushareMissingFieldError) as raised:
            client.query("daily", "ts_code,trade_date,vol,amount", trade_date="20240329")
        assert raised.value.fields == ["vol"] and raised.value.api_name == "daily"
        assert client.calls["daily"] == 1, "a missing field is not retried"
        assert len(client.query("daily", "ts_code,trade_date,amount", trade_date="20240329")) > 0


def test_the_client_pages_a_reordered_listing_and_gets_every_stock_once(small_market):
    expected = sorted(small_market.table("stock_basic")["ts_code"])
    with (
        TushareServer(small_market, tokens=("tok",), row_caps={"stock_basic": 9}) as server,
        TushareClient("tok", server.url, rate_per_min=1_000_000, row_caps={"stock_basic": 9}) as client,
    ):
        first = list(client.query("stock_basic", "ts_code,market", list_status="L,D,P")["ts_code"])
        second = list(client.query("stock_basic", "ts_code,market", list_status="L,D,P")["ts_code"])
        assert client.pages["stock_basic"] > 2 * len(expected) // 9
    assert sorted(first) == sorted(second) == expected and first != second
