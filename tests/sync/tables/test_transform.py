"""The pure transform, on small hand-made frames whose expected rows are worked out by hand."""

import datetime as dt

import pandas as pd
import pytest

from dataset_script.schema import PRICE_SCHEMA
from sync.fetch.frames import DayFrames
from sync.fetch.listed_on_day import select_stocks
from sync.tables.transform import canonical_rows, carry_from, empty_carry, to_table

D1, D2, D3 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)


def ts(day):
    return pd.Timestamp(day)


def stock_basic(*rows):
    columns = [
        "ts_code",
        "symbol",
        "name",
        "area",
        "industry",
        "market",
        "exchange",
        "list_status",
        "list_date",
        "delist_date",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"list_date": "datetime64[us]", "delist_date": "datetime64[us]"})


def stock(code, name="平安银行", market="主板", listed=dt.date(2000, 1, 1), delisted=None):
    status = "D" if delisted else "L"
    return (
        code,
        code[:6],
        name,
        "深圳",
        "银行",
        market,
        "SZSE",
        status,
        ts(listed),
        ts(delisted) if delisted else pd.NaT,
    )


def bar(code, day, close, vol=1000.0, amount=None, pre_close=None):
    amount = close * vol / 10 if amount is None else amount
    pre_close = close if pre_close is None else pre_close
    return {
        "ts_code": code,
        "trade_date": ts(day),
        "open": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "close": close,
        "pre_close": pre_close,
        "pct_chg": (close - pre_close) / pre_close * 100,
        "vol": vol,
        "amount": amount,
    }


def frames(bars, factors=(), limits=(), basics=()):
    daily = pd.DataFrame(
        bars, columns=["ts_code", "trade_date", "open", "high", "low", "close", "pre_close", "pct_chg", "vol", "amount"]
    )
    adj = pd.DataFrame(factors, columns=["ts_code", "trade_date", "adj_factor"])
    stk = pd.DataFrame(limits, columns=["ts_code", "trade_date", "up_limit", "down_limit"])
    basic_columns = ["ts_code", "trade_date"] + PRICE_SCHEMA.names[12:27]
    basic = pd.DataFrame(basics, columns=basic_columns)
    for frame in (daily, adj, stk, basic):
        frame["trade_date"] = frame["trade_date"].astype("datetime64[us]")
    return DayFrames(daily=daily, stk_limit=stk, daily_basic=basic, adj_factor=adj)


NO_NAMES = pd.DataFrame(columns=["ts_code", "name", "start_date", "end_date", "ann_date", "change_reason"]).astype(
    {"start_date": "datetime64[us]", "end_date": "datetime64[us]", "ann_date": "datetime64[us]"}
)


def build(days, stocks, bars, names=NO_NAMES, carry=None, markets=("主板",)):
    rows = canonical_rows(days, select_stocks(stocks, markets), names, bars, empty_carry() if carry is None else carry)
    return rows


def test_paused_day_carries_last_close_with_zero_volume():
    stocks = stock_basic(stock("000001.SZ"))
    rows = build([D1, D2], stocks, frames([bar("000001.SZ", D1, 10.5)], factors=[("000001.SZ", ts(D1), 2.0)]))
    paused = rows[rows["date"] == ts(D2)].iloc[0]
    assert paused["is_paused"]
    assert [paused[c] for c in ("open", "high", "low", "close", "prev_close")] == [10.5] * 5
    assert [paused[c] for c in ("volume", "turnover", "quote_rate")] == [0.0, 0.0, 0.0]
    assert pd.isna(paused["avg_price"])
    assert paused["adj_factor"] == 2.0  # carried forward
    assert not rows[rows["date"] == ts(D1)].iloc[0]["is_paused"]


def test_carry_in_gives_paused_rows_on_the_first_day_of_a_batch():
    stocks = stock_basic(stock("000001.SZ"))
    carry = pd.DataFrame({"code": ["000001.SZ"], "close": [9.99], "adj_factor": [1.5]})
    rows = build([D1], stocks, frames([]), carry=carry)
    assert (
        len(rows) == 1
        and rows.iloc[0]["is_paused"]
        and rows.iloc[0]["close"] == 9.99
        and rows.iloc[0]["adj_factor"] == 1.5
    )


def test_never_traded_stock_has_no_paused_rows():
    stocks = stock_basic(stock("000001.SZ"), stock("000002.SZ", listed=D1))
    rows = build(
        [D1, D2, D3], stocks, frames([bar("000001.SZ", d, 10) for d in (D1, D2, D3)] + [bar("000002.SZ", D3, 5)])
    )
    assert rows[rows["code"] == "000002.SZ"]["date"].tolist() == [ts(D3)]


def test_delisted_stock_has_no_rows_from_its_delist_date():
    stocks = stock_basic(stock("000003.SZ", delisted=D2))
    rows = build([D1, D2, D3], stocks, frames([bar("000003.SZ", D1, 3.0)]))
    assert rows["date"].tolist() == [ts(D1)]


def test_stock_listed_later_has_no_rows_before_its_list_date():
    stocks = stock_basic(stock("600001.SH", listed=D2))
    rows = build([D1, D2], stocks, frames([bar("600001.SH", D1, 3.0), bar("600001.SH", D2, 3.0)]))
    assert rows["date"].tolist() == [ts(D2)]


def test_name_is_point_in_time_and_sets_is_st():
    stocks = stock_basic(stock("000004.SZ", name="*ST国华"))
    names = pd.DataFrame(
        [
            ("000004.SZ", "*ST国华", ts(D3), pd.NaT, ts(D2), "*ST"),
            ("000004.SZ", "国华网安", ts(dt.date(2010, 1, 1)), ts(D2), pd.NaT, "改名"),
        ],
        columns=NO_NAMES.columns,
    )
    rows = build([D1, D2, D3], stocks, frames([bar("000004.SZ", d, 10) for d in (D1, D2, D3)]), names=names)
    assert rows["name"].tolist() == ["国华网安", "国华网安", "*ST国华"]
    assert rows["is_st"].tolist() == [False, False, True]


@pytest.mark.parametrize(
    "name, is_st",
    [
        ("ST大集", True),
        ("*ST大集", True),
        ("SST华新", True),
        ("S*ST天发", True),
        ("S佳通", False),
        ("大集控股", False),
        ("STAR", True),
    ],
)
def test_is_st_follows_the_name_prefix(name, is_st):
    stocks = stock_basic(stock("000005.SZ", name=name))
    rows = build([D1], stocks, frames([bar("000005.SZ", D1, 4)]))
    assert bool(rows.iloc[0]["is_st"]) is is_st


def test_avg_price_is_turnover_times_ten_over_volume():
    stocks = stock_basic(stock("000001.SZ"))
    # 2,000 lots (200,000 shares) for 2,345.6 thousand CNY → 11.728 CNY per share
    rows = build([D1], stocks, frames([bar("000001.SZ", D1, 11.7, vol=2000.0, amount=2345.6)]))
    assert rows.iloc[0]["avg_price"] == pytest.approx(11.728)


def test_other_markets_are_left_out_unless_selected():
    stocks = stock_basic(stock("000001.SZ"), stock("300001.SZ", market="创业板"))
    bars = frames([bar("000001.SZ", D1, 10), bar("300001.SZ", D1, 20)])
    assert build([D1], stocks, bars)["code"].tolist() == ["000001.SZ"]
    assert build([D1], stocks, bars, markets=("主板", "创业板"))["code"].tolist() == ["000001.SZ", "300001.SZ"]


def test_rows_sorted_by_date_then_code_with_contract_columns():
    stocks = stock_basic(stock("600000.SH"), stock("000001.SZ"))
    bars = frames(
        [bar(c, d, 10) for d in (D2, D1) for c in ("600000.SH", "000001.SZ")], limits=[("000001.SZ", ts(D1), 11.0, 9.0)]
    )
    rows = build([D1, D2], stocks, bars)
    assert list(zip(rows["date"], rows["code"])) == sorted(zip(rows["date"], rows["code"]))
    table = to_table(rows)
    assert table.schema == PRICE_SCHEMA
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["high_limit"], first["low_limit"]) == (11.0, 9.0)
    assert table.slice(1, 1).to_pylist()[0]["high_limit"] is None


def test_carry_from_keeps_each_codes_last_row():
    stocks = stock_basic(stock("000001.SZ"))
    rows = build(
        [D1, D2],
        stocks,
        frames([bar("000001.SZ", D1, 10), bar("000001.SZ", D2, 12)], factors=[("000001.SZ", ts(D2), 3.0)]),
    )
    carry = carry_from(rows)
    assert carry.to_dict("records") == [{"code": "000001.SZ", "close": 12.0, "adj_factor": 3.0}]
