"""Which stocks a dataset holds and on which trading days each is listed (docs/dataset.md#row-rule).

The rule, from docs/dataset.md#row-rule: a stock is listed on `date` when `list_date <= date` and, once
delisted, `date < delist_date`. The vectorised helpers are checked against a naive double loop.
"""

import datetime as dt
import random

import pandas as pd
import pytest

from sync.fetch.listed_on_day import listed_codes_per_day, listed_days_per_code, listed_on, listed_pairs, select_stocks
from sync.tushare.apis import APIS
from sync.tushare.frames import typed_frame

# A week around a weekend: Fri 5th, (Sat 6th, Sun 7th), Mon 8th .. Fri 12th of January 2024.
FRI5, SAT6, SUN7, MON8, TUE9, WED10, THU11, FRI12 = (dt.date(2024, 1, d) for d in (5, 6, 7, 8, 9, 10, 11, 12))
TRADING = [FRI5, MON8, TUE9, WED10, THU11, FRI12]


def reply(*rows) -> pd.DataFrame:
    """A stock_basic reply as the client types it; rows: (ts_code, market, exchange, status, list, delist)."""
    items = [
        [code, code[:6], f"name{code[:6]}", "area", "industry", market, exchange, status, listed, delisted]
        for code, market, exchange, status, listed, delisted in rows
    ]
    return typed_frame(APIS["stock_basic"].requested, items)


def universe(*spans) -> pd.DataFrame:
    """Selected stocks with (code, list_date, delist_date); dates as dt.date or None."""
    rows = [
        (code, "主板", "SSE", "D" if delisted else "L", _ymd(listed), _ymd(delisted))
        for code, listed, delisted in spans
    ]
    return select_stocks(reply(*rows), ("主板",))


def _ymd(day):
    return day.strftime("%Y%m%d") if day else None


def listed_by_hand(stocks: pd.DataFrame, days) -> list[tuple[str, dt.date]]:
    """The rule of docs/dataset.md#row-rule, one stock and one day at a time."""
    pairs = []
    for code, listed, delisted in zip(stocks["code"], stocks["list_date"], stocks["delist_date"]):
        for day in days:
            stamp = pd.Timestamp(day)
            if pd.notna(listed) and listed <= stamp and (pd.isna(delisted) or stamp < delisted):
                pairs.append((code, day))
    return pairs


# -- the rule at its edges --------------------------------------------------------------------


def test_a_stock_is_listed_on_its_list_date_but_not_the_day_before():
    stocks = universe(("600001.SH", TUE9, None))
    assert not listed_on(stocks, MON8).iloc[0]
    assert listed_on(stocks, TUE9).iloc[0]
    assert listed_on(stocks, WED10).iloc[0]


def test_a_delisted_stock_is_listed_the_day_before_its_delist_date_but_not_on_it():
    stocks = universe(("600001.SH", FRI5, THU11))
    assert listed_on(stocks, WED10).iloc[0]
    assert not listed_on(stocks, THU11).iloc[0]
    assert not listed_on(stocks, FRI12).iloc[0]


def test_listed_pairs_at_the_edges_of_listing_and_delisting():
    stocks = universe(("600001.SH", TUE9, THU11))
    assert [
        (c, d.date()) for c, d in zip(listed_pairs(TRADING, stocks)["code"], listed_pairs(TRADING, stocks)["date"])
    ] == [("600001.SH", TUE9), ("600001.SH", WED10)]


def test_a_listing_on_a_weekend_counts_from_the_next_trading_day():
    stocks = universe(("600001.SH", SAT6, None))
    assert listed_days_per_code(stocks, TRADING).to_dict() == {"600001.SH": 5}  # MON8 .. FRI12
    assert listed_codes_per_day(stocks, TRADING) == [0, 1, 1, 1, 1, 1]


def test_a_delisting_on_a_weekend_ends_after_the_friday_before():
    stocks = universe(("600001.SH", dt.date(2023, 1, 3), SUN7))
    assert listed_days_per_code(stocks, TRADING).to_dict() == {"600001.SH": 1}  # FRI5 only
    assert listed_codes_per_day(stocks, TRADING) == [1, 0, 0, 0, 0, 0]


def test_a_stock_without_a_list_date_is_never_listed():
    stocks = universe(("600001.SH", None, None))
    assert listed_days_per_code(stocks, TRADING).to_dict() == {"600001.SH": 0}
    assert listed_pairs(TRADING, stocks).empty
    assert not listed_on(stocks, FRI12).iloc[0]


def test_a_stock_delisted_on_its_list_date_is_never_listed():
    stocks = universe(("600001.SH", TUE9, TUE9))
    assert listed_days_per_code(stocks, TRADING).to_dict() == {"600001.SH": 0}


def test_a_stock_listed_after_the_last_day_or_delisted_before_the_first_has_no_days():
    stocks = universe(("600001.SH", dt.date(2024, 2, 1), None), ("600002.SH", dt.date(2020, 1, 2), dt.date(2023, 6, 1)))
    assert listed_days_per_code(stocks, TRADING).to_dict() == {"600001.SH": 0, "600002.SH": 0}
    assert listed_codes_per_day(stocks, TRADING) == [0] * len(TRADING)


def test_no_days_or_no_stocks_give_nothing():
    stocks = universe(("600001.SH", FRI5, None))
    assert listed_pairs([], stocks).empty
    assert listed_codes_per_day(stocks, []) == []
    assert listed_days_per_code(stocks, []).to_dict() == {"600001.SH": 0}
    nobody = stocks.iloc[:0]
    assert listed_pairs(TRADING, nobody).empty
    assert listed_codes_per_day(nobody, TRADING) == [0] * len(TRADING)


# -- the vectorised helpers agree with the naive rule --------------------------------------------


def random_universe(seed: int, n: int = 60) -> tuple[pd.DataFrame, list[dt.date]]:
    rng = random.Random(seed)
    first = dt.date(2023, 12, 1)
    days = [first + dt.timedelta(days=i) for i in range(75) if (first + dt.timedelta(days=i)).weekday() < 5]
    spans = []
    for i in range(n):
        listed = first + dt.timedelta(days=rng.randint(-30, 90)) if rng.random() > 0.05 else None
        delisted = None
        if listed and rng.random() < 0.4:
            delisted = listed + dt.timedelta(days=rng.randint(-3, 60))  # includes bad data: delist <= list
        spans.append((f"{600000 + i:06d}.SH", listed, delisted))
    rng.shuffle(spans)  # stock_basic rows come in no documented order
    return universe(*spans), days


@pytest.mark.parametrize("seed", range(5))
def test_listed_pairs_agree_with_a_naive_double_loop(seed):
    stocks, days = random_universe(seed)
    pairs = listed_pairs(days, stocks)
    got = [(code, stamp.date()) for code, stamp in zip(pairs["code"], pairs["date"])]
    assert sorted(got) == sorted(listed_by_hand(stocks, days))
    assert len(got) == len(set(got))
    for code, group in pairs.groupby("code", sort=False):
        assert group["date"].is_monotonic_increasing, code


@pytest.mark.parametrize("seed", range(5))
def test_listed_days_per_code_agree_with_a_naive_double_loop(seed):
    stocks, days = random_universe(seed)
    by_hand = {code: 0 for code in stocks["code"]}
    for code, _ in listed_by_hand(stocks, days):
        by_hand[code] += 1
    assert listed_days_per_code(stocks, days).to_dict() == by_hand


@pytest.mark.parametrize("seed", range(5))
def test_listed_codes_per_day_agree_with_a_naive_double_loop(seed):
    stocks, days = random_universe(seed)
    pairs = listed_by_hand(stocks, days)
    assert listed_codes_per_day(stocks, days) == [sum(1 for _, d in pairs if d == day) for day in days]


@pytest.mark.parametrize("seed", range(3))
def test_listed_on_agrees_with_a_naive_double_loop(seed):
    stocks, days = random_universe(seed)
    pairs = set(listed_by_hand(stocks, days))
    for day in days[::7]:
        mask = listed_on(stocks, day)
        assert list(mask.index) == list(stocks.index)
        assert stocks.loc[mask, "code"].tolist() == [c for c in stocks["code"] if (c, day) in pairs]


# -- selecting stocks -------------------------------------------------------------------------


def test_select_stocks_maps_the_legacy_sme_board_to_the_main_board():
    stocks = select_stocks(reply(("002001.SZ", "中小板", "SZSE", "L", "20040625", None)), ("主板",))
    assert stocks["code"].tolist() == ["002001.SZ"]
    assert stocks["market"].tolist() == ["主板"]


@pytest.mark.parametrize(
    "code, exchange, board",
    [
        ("600001.SH", "SSE", "主板"),
        ("000001.SZ", "SZSE", "主板"),
        ("002001.SZ", "SZSE", "主板"),
        ("300001.SZ", "SZSE", "创业板"),
        ("688001.SH", "SSE", "科创板"),
        ("920001.BJ", "BSE", "北交所"),
        ("830799.BJ", "BSE", "北交所"),
    ],
)
def test_select_stocks_derives_an_empty_label_from_code_prefix_and_exchange(code, exchange, board):
    stocks = select_stocks(reply((code, "", exchange, "D", "20000104", "20200102")), (board,))
    assert stocks["code"].tolist() == [code]
    assert stocks["market"].tolist() == [board]


def test_select_stocks_derives_a_null_label_from_code_prefix_and_exchange():
    # docs/tushare.md, boards: "A delisted stock may carry an old label or none" - none may be null.
    stocks = select_stocks(
        reply(
            ("600001.SH", None, "SSE", "D", "19980122", "20091229"), ("300001.SZ", None, "SZSE", "L", "20091030", None)
        ),
        ("主板",),
    )
    assert stocks["code"].tolist() == ["600001.SH"]
    assert stocks["market"].tolist() == ["主板"]


@pytest.mark.parametrize("exchange", ["", None])
def test_select_stocks_derives_the_board_from_the_code_suffix_when_the_exchange_is_empty(exchange):
    stocks = select_stocks(reply(("600001.SH", "", exchange, "D", "19980122", "20091229")), ("主板",))
    assert stocks["market"].tolist() == ["主板"]


def test_select_stocks_derives_an_unknown_label_from_the_code():
    stocks = select_stocks(reply(("600001.SH", "未知", "SSE", "L", "19980122", None)), ("主板",))
    assert stocks["market"].tolist() == ["主板"]


def test_select_stocks_keeps_delisted_and_paused_stocks():
    stocks = select_stocks(
        reply(
            ("600001.SH", "主板", "SSE", "D", "19980122", "20091229"),
            ("600002.SH", "主板", "SSE", "P", "19980122", None),
            ("600003.SH", "主板", "SSE", "L", "19980122", None),
        ),
        ("主板",),
    )
    assert sorted(stocks["code"]) == ["600001.SH", "600002.SH", "600003.SH"]
    delisted = stocks.set_index("code").loc["600001.SH"]
    assert delisted["delist_date"] == pd.Timestamp(2009, 12, 29)


def test_select_stocks_keeps_only_the_chosen_markets():
    rows = reply(
        ("600001.SH", "主板", "SSE", "L", "19980122", None),
        ("300001.SZ", "创业板", "SZSE", "L", "20091030", None),
        ("688001.SH", "科创板", "SSE", "L", "20190722", None),
    )
    assert select_stocks(rows, ("主板",))["code"].tolist() == ["600001.SH"]
    assert sorted(select_stocks(rows, ("创业板", "科创板"))["code"]) == ["300001.SZ", "688001.SH"]
    assert select_stocks(rows, ("北交所",)).empty


def test_select_stocks_gives_one_row_per_code_named_as_published():
    rows = reply(
        ("600001.SH", "主板", "SSE", "L", "19980122", None), ("600001.SH", "主板", "SSE", "L", "19980122", None)
    )
    stocks = select_stocks(rows, ("主板",))
    assert stocks["code"].tolist() == ["600001.SH"]
    assert "ts_code" not in stocks.columns
    assert stocks["list_date"].tolist() == [pd.Timestamp(1998, 1, 22)]
    assert pd.isna(stocks["delist_date"].iloc[0])
