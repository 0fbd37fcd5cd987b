"""Invariants of the synthetic market, checked against rules re-stated here (not the code's).

The main fixture covers 2019-2021: the 科创板 opening, the 创业板 reform (2020-08-24), the
北交所 opening, the 2020 Spring Festival closure, and (seed 4) delistings, paused listings,
ST episodes, renames and ex-rights days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from sync.simulated import DEMO_START, MarketSpec, SyntheticMarket, demo_market
from sync.tushare.apis import board_of

# exchange_calendars 4.13 trips a pandas 3.1 deprecation warning; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Series.values returning")

START, END = dt.date(2019, 1, 2), dt.date(2021, 12, 31)
SPEC = MarketSpec(START, END, n_stocks=300, seed=4)

PREFIXES = {
    "主板": {"600", "601", "603", "605", "000", "001", "002", "003"},
    "创业板": {"300", "301"},
    "科创板": {"688", "689"},
    "北交所": {"920"},
}
EXCHANGE_SUFFIX = {"SSE": "SH", "SZSE": "SZ", "BSE": "BJ"}


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SPEC)


@pytest.fixture(scope="module")
def daily(market) -> pd.DataFrame:
    return market.table("daily")


@pytest.fixture(scope="module")
def stocks(market) -> pd.DataFrame:
    return market.table("stock_basic")


@pytest.fixture(scope="module")
def names(market) -> pd.DataFrame:
    return market.table("namechange")


def xshg_sessions(start: dt.date, end: dt.date) -> list[str]:
    calendar = xcals.get_calendar("XSHG", start=start.isoformat(), end=end.isoformat())
    return [d.strftime("%Y%m%d") for d in calendar.sessions]


def name_on(names: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Point-in-time name for each (ts_code, trade_date) row of `frame`."""
    history = names.sort_values("start_date")[["ts_code", "start_date", "name"]]
    merged = pd.merge_asof(
        frame.assign(_d=frame["trade_date"].astype(int)).sort_values("_d"),
        history.assign(_d=history["start_date"].astype(int)).sort_values("_d")[["ts_code", "_d", "name"]],
        on="_d",
        by="ts_code",
        direction="backward",
    )
    return merged.set_index(["ts_code", "trade_date"])["name"]


def limit_percent(market: str, is_st: bool, day: str) -> int:
    """The exchange rules, restated: 主板 10 (ST 5); 创业板 20 from 2020-08-24, before as 主板;
    科创板 20; 北交所 30."""
    if market == "主板" or (market == "创业板" and day < "20200824"):
        return 5 if is_st else 10
    return 30 if market == "北交所" else 20


def half_up_cents(price: float, percent: int) -> int:
    cents = round(price * 100)
    return (cents * (100 + percent) + 50) // 100


# --- calendar -------------------------------------------------------------------------


def test_trade_dates_are_sse_sessions(market):
    assert [d.strftime("%Y%m%d") for d in market.trade_dates()] == xshg_sessions(START, END)


def test_no_bars_on_weekends_or_holidays(daily, market):
    sessions = set(xshg_sessions(START, END))
    assert set(daily["trade_date"]) <= sessions
    assert set(market.table("adj_factor")["trade_date"]) <= sessions
    spring_festival_2020 = {"20200124", "20200127", "20200128", "20200129", "20200130", "20200131"}
    assert not spring_festival_2020 & set(daily["trade_date"])
    weekdays = pd.to_datetime(daily["trade_date"]).dt.day_of_week
    assert weekdays.max() <= 4


def test_every_session_has_bars(daily):
    assert set(daily["trade_date"]) == set(xshg_sessions(START, END))


def test_calendar_lists_every_day_with_previous_open_day():
    market = SyntheticMarket(MarketSpec(dt.date(2024, 1, 2), dt.date(2024, 1, 5), n_stocks=5))
    cal = market.calendar(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    assert list(cal.columns) == ["exchange", "cal_date", "is_open", "pretrade_date"]
    assert len(cal) == 366 and cal["is_open"].sum() == 242
    assert cal["is_open"].dtype.kind == "i"
    row = cal.set_index("cal_date").loc
    assert row["20240210", "is_open"] == 0 and row["20240210", "pretrade_date"] == "20240208"
    assert row["20240219", "is_open"] == 1 and row["20240219", "pretrade_date"] == "20240208"
    assert row["20240102", "pretrade_date"] == "20231229"


def test_calendar_reaches_back_to_1990_and_one_year_past_the_end(market):
    full = market.calendar(dt.date(1980, 1, 1), dt.date(2100, 1, 1))
    assert full["cal_date"].iloc[0] == "19901219" and pd.isna(full["pretrade_date"].iloc[0])
    assert full["cal_date"].iloc[-1] == f"{END.year + 1}1231"
    opened = full.loc[full["is_open"] == 1, "cal_date"]
    assert list(opened[opened <= "20221231"]) == xshg_sessions(dt.date(1990, 12, 19), dt.date(2022, 12, 31))


def test_calendar_after_the_library_horizon_still_skips_weekends():
    late = SyntheticMarket(MarketSpec(dt.date(2027, 1, 4), dt.date(2027, 1, 29), n_stocks=20))
    days = [d for d in late.trade_dates()]
    assert days and all(d.weekday() < 5 for d in days)
    assert dt.date(2027, 1, 1) not in days


# --- universe ---------------------------------------------------------------------------


def test_codes_markets_and_exchanges_agree(stocks):
    """Listed stocks carry their current board; a delisted one's label may be old or empty (see below)."""
    assert stocks["ts_code"].is_unique
    assert stocks["symbol"].str.fullmatch(r"\d{6}").all()
    assert (stocks["ts_code"].str[:6] == stocks["symbol"]).all()
    for row in stocks.itertuples():
        label = None if pd.isna(row.market) else row.market
        board = label if row.list_status != "D" else board_of(row.ts_code, row.exchange, label)
        assert row.ts_code[:3] in PREFIXES[board], row
        assert row.ts_code.endswith("." + EXCHANGE_SUFFIX[row.exchange]), row
    assert set(stocks.loc[stocks["market"] == "科创板", "exchange"]) == {"SSE"}
    assert set(stocks.loc[stocks["market"] == "创业板", "exchange"]) == {"SZSE"}


def test_boards_open_on_their_real_dates(stocks):
    first = stocks.groupby("market")["list_date"].min()
    assert first["创业板"] >= "20091030" and first["科创板"] >= "20190722" and first["北交所"] >= "20211115"


def test_market_proportions_are_realistic():
    spec = MarketSpec(dt.date(2025, 12, 29), dt.date(2025, 12, 31), n_stocks=1000)
    stocks = SyntheticMarket(spec).table("stock_basic")
    listed = stocks[stocks["list_status"] == "L"]
    share = listed["market"].value_counts(normalize=True)
    assert 0.52 <= share["主板"] <= 0.64
    assert 0.19 <= share["创业板"] <= 0.30 and 0.07 <= share["科创板"] <= 0.14 and 0.03 <= share["北交所"] <= 0.08
    assert 0.9 * 1000 <= len(listed) <= 1000


def test_stock_count_grows_like_the_real_market(daily):
    per_day = daily.groupby("trade_date").size()
    # real A-share count: about 3,600 at the start of 2019, 4,700 at the end of 2021
    assert 1.15 <= per_day.iloc[-5:].mean() / per_day.iloc[:5].mean() <= 1.5


def test_demo_market_is_about_a_hundred_stocks_with_60_on_the_main_board():
    demo = demo_market(dt.date(2026, 3, 2))
    assert demo.spec.start == DEMO_START == dt.date(2025, 11, 24) and demo.spec.end == dt.date(2026, 3, 2)
    stocks = demo.table("stock_basic")
    listed = stocks[(stocks["list_date"] <= "20251124") & stocks["delist_date"].isna()]
    assert 90 <= len(listed) <= 130
    assert (listed["market"] == "主板").sum() >= 60


def test_stock_basic_has_documented_fields_and_values(stocks):
    assert list(stocks.columns) == [
        "ts_code",
        "symbol",
        "name",
        "area",
        "industry",
        "fullname",
        "enname",
        "cnspell",
        "market",
        "exchange",
        "curr_type",
        "list_status",
        "list_date",
        "delist_date",
        "is_hs",
        "act_name",
        "act_ent_type",
    ]
    assert set(stocks["list_status"]) <= {"L", "D", "P"}
    assert set(stocks["is_hs"]) <= {"N", "H", "S"}
    assert stocks["name"].is_unique
    assert stocks["list_date"].str.fullmatch(r"\d{8}").all()
    assert (stocks["delist_date"].notna() == (stocks["list_status"] == "D")).all()


# --- prices -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bars(market, daily, stocks, names) -> pd.DataFrame:
    """daily joined with stk_limit, market and the point-in-time name."""
    limits = market.table("stk_limit")
    frame = daily.merge(limits, on=["ts_code", "trade_date"], suffixes=("", "_limit"))
    frame = frame.merge(stocks[["ts_code", "market", "list_date"]], on="ts_code")
    pit = name_on(names, frame[["ts_code", "trade_date"]])
    frame["name_then"] = pit.loc[list(zip(frame["ts_code"], frame["trade_date"]))].to_numpy()
    return frame


def test_limits_respected_by_market_rules(bars):
    assert len(bars) > 100_000
    st = bars["name_then"].str.match(r"^\*?ST")
    assert st.any(), "fixture should contain ST days"
    for row, is_st in zip(bars.itertuples(), st):
        percent = limit_percent(row.market, bool(is_st), row.trade_date)
        assert round(row.up_limit * 100) == half_up_cents(row.pre_close, percent), row
        assert round(row.down_limit * 100) == half_up_cents(row.pre_close, -percent), row
    for field in ("open", "high", "low", "close"):
        assert (bars[field] <= bars["up_limit"] + 1e-9).all() and (bars[field] >= bars["down_limit"] - 1e-9).all()


def test_each_board_uses_its_own_limit(bars):
    width = ((bars["up_limit"] - bars["pre_close"]) / bars["pre_close"]).round(2)
    typical = bars.assign(width=width).groupby(["market", bars["trade_date"] >= "20200824"])["width"].median()
    assert typical[("科创板", True)] == 0.2 and typical[("创业板", False)] == 0.1
    assert typical[("创业板", True)] == 0.2 and typical[("主板", True)] == 0.1 and typical[("北交所", True)] == 0.3
    assert (bars["close"] == bars["up_limit"]).mean() > 0.002  # limit-up days happen


def test_pre_close_is_the_stk_limit_pre_close(bars):
    assert (bars["pre_close"] == bars["pre_close_limit"]).all()


def test_ohlc_are_ordered_and_in_cents(daily):
    assert (daily["low"] <= daily[["open", "close"]].min(axis=1)).all()
    assert (daily["high"] >= daily[["open", "close"]].max(axis=1)).all()
    for field in ("open", "high", "low", "close", "pre_close"):
        assert np.allclose(daily[field] * 100, np.round(daily[field] * 100), atol=1e-6)
        assert (daily[field] > 0).all()


def test_change_and_pct_chg_follow_pre_close(daily):
    assert np.allclose(daily["change"], daily["close"] - daily["pre_close"], atol=1e-9)
    pct = (daily["close"] - daily["pre_close"]) / daily["pre_close"] * 100
    assert np.allclose(daily["pct_chg"], pct, atol=1e-4)


def test_vwap_inside_high_low(daily):
    assert (daily["vol"] > 0).all() and (daily["amount"] > 0).all()
    vwap = daily["amount"] * 10 / daily["vol"]  # 千元 and 手 → yuan per share
    assert (vwap >= daily["low"] - 1e-9).all() and (vwap <= daily["high"] + 1e-9).all()


def test_ex_rights_pre_close_matches_adj_factor_step(market, daily):
    adj = market.table("adj_factor")
    frame = daily.merge(adj, on=["ts_code", "trade_date"]).sort_values(["ts_code", "trade_date"])
    previous = frame.groupby("ts_code")[["close", "adj_factor"]].shift(1)
    has_prev = previous["close"].notna()
    step = frame["adj_factor"] / previous["adj_factor"]
    expected = (previous["close"] / step).round(2)
    assert np.allclose(frame.loc[has_prev, "pre_close"], expected[has_prev], atol=1e-9)
    ex_days = has_prev & (step > 1 + 1e-12)
    assert ex_days.sum() > 100
    assert (frame.loc[ex_days, "pre_close"] < previous.loc[ex_days, "close"]).all()
    assert (step[has_prev] >= 1 - 1e-12).all()  # the factor never steps down


def test_adj_factor_exists_on_every_listed_day_including_suspended(market, daily):
    adj = market.table("adj_factor")
    suspended = market.table("suspend_d").query("suspend_type == 'S'")
    listed = set(zip(adj["ts_code"], adj["trade_date"]))
    assert set(zip(daily["ts_code"], daily["trade_date"])) <= listed
    assert set(zip(suspended["ts_code"], suspended["trade_date"])) <= listed
    assert len(listed) == len(daily) + len(suspended)


def test_new_listings_trade_from_their_list_date(market, daily, stocks):
    first_bar = daily.groupby("ts_code")["trade_date"].min()
    adj = market.table("adj_factor").sort_values("trade_date").groupby("ts_code")["adj_factor"].first()
    new = stocks[stocks["list_date"] >= START.strftime("%Y%m%d")]
    assert len(new) > 20
    for row in new.itertuples():
        assert first_bar[row.ts_code] == row.list_date
        assert adj[row.ts_code] == 1.0
    old = stocks[(stocks["list_date"] < "20190102") & (stocks["list_status"] != "D")]
    assert (first_bar[old["ts_code"]] == "20190102").all()


def test_delisted_stocks_stop_trading(market, daily, stocks):
    gone = stocks[stocks["delist_date"].between("20190103", "20211231")]
    assert len(gone) >= 1
    adj = market.table("adj_factor")
    for row in gone.itertuples():
        own = daily[daily["ts_code"] == row.ts_code]
        assert len(own) and own["trade_date"].max() < row.delist_date
        assert adj.loc[adj["ts_code"] == row.ts_code, "trade_date"].max() < row.delist_date
    long_gone = stocks[stocks["delist_date"] < "20190102"]
    assert len(long_gone) and not set(long_gone["ts_code"]) & set(daily["ts_code"])


def test_paused_listing_is_a_long_suspension(market, daily, stocks):
    paused = stocks[stocks["list_status"] == "P"]
    assert len(paused) >= 1
    suspensions = market.table("suspend_d")
    for code in paused["ts_code"]:
        last_bar = daily.loc[daily["ts_code"] == code, "trade_date"].max()
        rows = suspensions[(suspensions["ts_code"] == code) & (suspensions["trade_date"] > last_bar)]
        after = [d for d in xshg_sessions(START, END) if d > last_bar]
        assert len(after) >= 1 and list(rows["trade_date"].sort_values()) == after
        assert set(rows["suspend_type"]) == {"S"}


def test_suspended_days_have_no_bar_and_a_suspend_row(market, daily):
    suspend = market.table("suspend_d")
    assert set(suspend["suspend_type"]) == {"S", "R"} and suspend["suspend_timing"].isna().all()
    bars = set(zip(daily["ts_code"], daily["trade_date"]))
    stopped = suspend[suspend["suspend_type"] == "S"]
    resumed = suspend[suspend["suspend_type"] == "R"]
    assert len(stopped) > 100 and len(resumed) > 50
    assert not set(zip(stopped["ts_code"], stopped["trade_date"])) & bars
    assert set(zip(resumed["ts_code"], resumed["trade_date"])) <= bars
    assert market.table("daily_basic").shape[0] == len(daily)


def test_resumption_follows_a_suspended_day(market):
    adj = market.table("adj_factor").sort_values(["ts_code", "trade_date"])
    suspend = market.table("suspend_d")
    kind = dict(zip(zip(suspend["ts_code"], suspend["trade_date"]), suspend["suspend_type"]))
    adj["kind"] = [kind.get(key, "") for key in zip(adj["ts_code"], adj["trade_date"])]
    adj["before"] = adj.groupby("ts_code")["kind"].shift(1)
    assert (adj.loc[adj["kind"] == "R", "before"] == "S").all()
    assert (adj.loc[(adj["before"] == "S") & (adj["kind"] != "S"), "kind"] == "R").all()


def test_never_suspended_on_first_trading_day_in_range(market, stocks):
    adj = market.table("adj_factor")
    first_day = adj.groupby("ts_code")["trade_date"].min()
    suspend = market.table("suspend_d")
    first_rows = set(zip(first_day.index, first_day))
    assert not first_rows & set(zip(suspend["ts_code"], suspend["trade_date"]))


# --- names ----------------------------------------------------------------------------------


def test_names_change_on_their_dates(names, stocks):
    assert list(names.columns) == ["ts_code", "name", "start_date", "end_date", "ann_date", "change_reason"]
    for code, history in names.sort_values("start_date").groupby("ts_code"):
        listed = stocks.set_index("ts_code").loc[code]
        assert history["start_date"].iloc[0] == listed["list_date"]
        assert history["end_date"].isna().sum() == 1 and pd.isna(history["end_date"].iloc[-1])
        nxt = pd.to_datetime(history["start_date"].iloc[1:]) - pd.Timedelta(days=1)
        assert list(history["end_date"].iloc[:-1]) == list(nxt.dt.strftime("%Y%m%d"))
        assert (history["ann_date"] <= history["start_date"]).all()
        assert history["name"].iloc[-1] == listed["name"]
    assert set(names["ts_code"]) == set(stocks["ts_code"])


def test_st_moves_carry_their_reasons(names):
    reasons = set(names["change_reason"])
    assert {"ST", "*ST"} <= reasons and reasons & {"撤销ST", "撤销*ST", "撤消*ST并实行ST"}
    marked = names["name"].str.match(r"^\*?ST")
    assert names.loc[names["change_reason"] == "*ST", "name"].str.startswith("*ST").all()
    assert names.loc[names["change_reason"] == "ST", "name"].str.startswith("ST").all()
    assert not marked[names["change_reason"].isin(["撤销ST", "撤销*ST"])].any()
    assert names.loc[names["change_reason"] == "撤消*ST并实行ST", "name"].str.startswith("ST").all()


def test_point_in_time_state_follows_the_clock(market):
    early = market.asof_table("stock_basic", dt.date(2019, 6, 28)).to_frame()
    late = market.table("stock_basic")
    assert early["list_date"].max() <= "20190628" and len(early) < len(late)
    assert early["delist_date"].isna().sum() >= (early["list_status"] != "D").sum()
    early_names = market.asof_table("namechange", dt.date(2019, 6, 28)).to_frame()
    assert early_names["start_date"].max() <= "20190628"
    current = early_names[early_names["end_date"].isna()].set_index("ts_code")["name"]
    assert (early.set_index("ts_code")["name"] == current.loc[early["ts_code"]]).all()


# --- daily_basic ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def basic(market, daily) -> pd.DataFrame:
    frame = market.table("daily_basic")
    return frame.merge(daily, on=["ts_code", "trade_date"], suffixes=("", "_daily"))


def test_daily_basic_units_are_consistent(basic):
    assert (basic["close"] == basic["close_daily"]).all()
    assert np.allclose(basic["total_mv"], basic["close"] * basic["total_share"], atol=1e-3)
    assert np.allclose(basic["circ_mv"], basic["close"] * basic["float_share"], atol=1e-3)
    turnover = basic["vol"] * 100 / (basic["float_share"] * 10000) * 100
    assert np.allclose(basic["turnover_rate"], turnover, atol=1e-4)
    assert np.allclose(basic["turnover_rate_f"], basic["vol"] / basic["free_share"], atol=1e-4)
    assert ((basic["free_share"] <= basic["float_share"]) & (basic["float_share"] <= basic["total_share"])).all()
    assert basic["turnover_rate"].between(0, 100).all()


def test_valuations_are_null_for_loss_makers_and_positive_otherwise(basic):
    for field in ("pe", "pe_ttm", "pb", "ps", "ps_ttm", "dv_ratio", "dv_ttm"):
        values = basic[field].dropna()
        assert (values > 0).all(), field
    assert basic["pe"].isna().mean() > 0.02 and basic["pe"].notna().mean() > 0.5
    assert basic["dv_ratio"].isna().any() and basic["dv_ratio"].notna().any()
    assert basic["volume_ratio"].notna().mean() > 0.9


def test_limit_status_codes_match_prices(basic, market):
    limits = market.table("stk_limit")[["ts_code", "trade_date", "up_limit", "down_limit"]]
    frame = basic.merge(limits, on=["ts_code", "trade_date"])
    assert frame["limit_status"].dtype.kind == "i"
    close = frame["close"]
    one_price = (frame["open"] == close) & (frame["high"] == close) & (frame["low"] == close)
    expected = np.select(
        [
            close == frame["up_limit"],
            close == frame["down_limit"],
            close > frame["pre_close"],
            close < frame["pre_close"],
        ],
        [np.where(one_price, 3, 2), np.where(one_price, 6, 5), 1, 4],
        0,
    )
    assert (frame["limit_status"] == expected).all()
    assert {0, 1, 2, 4, 5} <= set(frame["limit_status"])


# --- determinism ----------------------------------------------------------------------------

SERIES = ("daily", "daily_basic", "stk_limit", "adj_factor", "suspend_d")


def test_extending_end_keeps_history(market):
    short = SyntheticMarket(MarketSpec(START, dt.date(2020, 6, 30), n_stocks=SPEC.n_stocks, seed=SPEC.seed))
    for api in SERIES:
        early = short.table(api)
        later = market.table(api)
        later = later[later["trade_date"] <= "20200630"].reset_index(drop=True)
        pd.testing.assert_frame_equal(early, later, obj=api)
    old, new = short.table("namechange"), market.table("namechange")
    new_rows = new[new["start_date"] <= "20200630"].drop(columns="end_date").reset_index(drop=True)
    pd.testing.assert_frame_equal(old.drop(columns="end_date").reset_index(drop=True), new_rows)
    old_stocks = short.table("stock_basic")
    assert set(old_stocks["ts_code"]) <= set(market.table("stock_basic")["ts_code"])


def test_tomorrows_demo_keeps_todays_history():
    today, tomorrow = demo_market(dt.date(2026, 5, 29)), demo_market(dt.date(2026, 6, 1))
    for api in SERIES:
        old, new = today.table(api), tomorrow.table(api)
        assert set(new["trade_date"]) - set(old["trade_date"]) <= {"20260601"}
        pd.testing.assert_frame_equal(old, new[new["trade_date"] <= "20260529"].reset_index(drop=True), obj=api)


def test_same_seed_same_market():
    spec = MarketSpec(dt.date(2023, 3, 1), dt.date(2023, 5, 31), n_stocks=80, seed=11)
    first, second = SyntheticMarket(spec), SyntheticMarket(spec)
    for api in ("stock_basic", "namechange", *SERIES):
        pd.testing.assert_frame_equal(first.table(api), second.table(api), obj=api)
    other = SyntheticMarket(dataclasses.replace(spec, seed=12)).table("daily")
    assert not other["close"].equals(first.table("daily")["close"])


def test_tables_are_in_wire_form_with_every_documented_field(market):
    expected = {
        "daily": [
            "ts_code",
            "trade_date",
            "open",
            "high",
            "low",
            "close",
            "pre_close",
            "change",
            "pct_chg",
            "vol",
            "amount",
            "ah_vol",
            "ah_amount",
        ],
        "stk_limit": ["trade_date", "ts_code", "pre_close", "up_limit", "down_limit"],
        "adj_factor": ["ts_code", "trade_date", "adj_factor"],
        "suspend_d": ["ts_code", "trade_date", "suspend_timing", "suspend_type"],
    }
    for api, fields in expected.items():
        frame = market.table(api)
        assert list(frame.columns) == fields
        assert frame["trade_date"].str.fullmatch(r"\d{8}").all()
    basic = market.table("daily_basic")
    assert len(basic.columns) == 19 and basic.columns[-1] == "limit_status"
    assert basic["pe"].dtype == np.float64 and market.table("daily")["vol"].dtype == np.float64


def test_tables_are_cached_and_safe_to_modify(market):
    frame = market.table("adj_factor")
    frame.loc[0, "adj_factor"] = -1.0
    assert market.table("adj_factor").loc[0, "adj_factor"] > 0
