"""The Tushare-compatible server, read through the OFFICIAL `tushare` client (and raw HTTP).

The official client is the reference for what a real server looks like from the outside:
frames, field order, error messages raised as plain Exceptions, and its blind spots (a 500
becomes an empty DataFrame), which are why the project has its own client.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import httpx
import pandas as pd
import pytest
import requests
import six  # noqa: F401  (tushare imports it without declaring it)
from tushare.pro.client import DataApi

from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import SHANGHAI, FaultPlan, TushareServer

TOKEN = "demo-token"
SPEC = MarketSpec(dt.date(2024, 1, 2), dt.date(2024, 3, 29), n_stocks=60, seed=5)
EVENING = dt.datetime(2024, 3, 29, 20, 0, tzinfo=SHANGHAI)
QUOTA_MSG = "抱歉，您每分钟最多访问该接口{n}次，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
DENIED_MSG = "抱歉，您没有接口({api})访问权限，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SPEC)


@pytest.fixture()
def server(market):
    with TushareServer(market, clock=lambda: EVENING) as running:
        yield running


def official(url: str, token: str = TOKEN) -> DataApi:
    api = DataApi(token=token, timeout=10)
    api._DataApi__http_url = url
    return api


@pytest.fixture()
def pro(server) -> DataApi:
    return official(server.url)


def post(url: str, body: dict) -> dict:
    reply = requests.post(url, json=body, timeout=10)
    assert reply.status_code == 200
    return reply.json()


# --- frames, fields, order ------------------------------------------------------------------


def test_default_fields_come_in_documented_order(pro):
    assert list(pro.daily(trade_date="20240329").columns) == [
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
    ]
    assert list(pro.stock_basic().columns) == [
        "ts_code",
        "symbol",
        "name",
        "area",
        "industry",
        "cnspell",
        "market",
        "list_date",
        "act_name",
        "act_ent_type",
    ]
    assert list(pro.stk_limit(trade_date="20240329").columns) == ["trade_date", "ts_code", "up_limit", "down_limit"]
    assert list(pro.daily_basic(trade_date="20240329").columns)[-1] == "circ_mv"
    assert list(pro.trade_cal(start_date="20240101", end_date="20240105").columns) == [
        "exchange",
        "cal_date",
        "is_open",
        "pretrade_date",
    ]


def test_requested_fields_come_back_in_request_order(pro, server):
    frame = pro.daily_basic(trade_date="20240329", fields="limit_status,close,ts_code")
    assert list(frame.columns) == ["limit_status", "close", "ts_code"]
    assert frame["limit_status"].dtype.kind == "i"
    body = post(
        server.url,
        {
            "api_name": "stk_limit",
            "token": TOKEN,
            "params": {"trade_date": "20240329"},
            "fields": ["pre_close", "ts_code", "no_such_field"],
        },
    )
    assert body["data"]["fields"] == ["pre_close", "ts_code"] and body["code"] == 0 and body["msg"] == ""


def test_cross_section_matches_the_market_table(pro, market):
    expected = market.table("daily")
    expected = expected[expected["trade_date"] == "20240315"].drop(columns=["ah_vol", "ah_amount"])
    got = pro.daily(trade_date="20240315")
    assert list(got["ts_code"]) == sorted(got["ts_code"])
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)


def test_one_stock_comes_newest_first(pro, market):
    code = market.table("daily")["ts_code"].iloc[0]
    frame = pro.daily(ts_code=code, start_date="20240201", end_date="20240229")
    assert list(frame["trade_date"]) == sorted(frame["trade_date"], reverse=True)
    assert frame["trade_date"].min() >= "20240201" and frame["trade_date"].max() <= "20240229"
    assert set(frame["ts_code"]) == {code}


def test_several_codes_in_one_call(pro, market):
    codes = sorted(market.table("daily")["ts_code"].unique())[:3]
    frame = pro.adj_factor(ts_code=",".join(codes), start_date="20240311", end_date="20240315")
    assert set(frame["ts_code"]) == set(codes)
    assert list(zip(frame["trade_date"], frame["ts_code"])) == sorted(
        zip(frame["trade_date"], frame["ts_code"]), key=lambda k: (-int(k[0]), k[1])
    )


def test_unknown_params_nulls_and_empty_strings_are_ignored(server, pro):
    frame = pro.daily(trade_date="20240329", start_date="", end_date=None, limit="", offset=None)
    assert len(frame) > 0  # the SDK also slips in ts_type_name=<url>
    body = post(
        server.url,
        {
            "api_name": "daily",
            "token": TOKEN,
            "fields": "",
            "params": {"trade_date": "20240329", "whatever": 1, "limit": None},
        },
    )
    assert len(body["data"]["items"]) == len(frame)


def test_every_documented_path_routes_by_body(server):
    base = server.url.removesuffix("/dataapi")
    for path in ("/", "/dataapi", "/dataapi/daily", "/dataapi/anything"):
        body = post(
            base + path,
            {"api_name": "trade_cal", "token": TOKEN, "params": {"start_date": "20240102", "end_date": "20240102"}},
        )
        assert body["data"]["items"] == [["SSE", "20240102", 1, "20231229"]]
    assert requests.post(base + "/other", json={}, timeout=5).status_code == 404


# --- filters -----------------------------------------------------------------------------------


def test_stock_basic_defaults_to_listed_and_filters(pro, market):
    everything = market.table("stock_basic")
    listed = pro.stock_basic()
    assert set(listed["ts_code"]) == set(everything.loc[everything["list_status"] == "L", "ts_code"])
    delisted = pro.stock_basic(list_status="D", fields="ts_code,list_status,delist_date")
    assert len(delisted) and set(delisted["list_status"]) == {"D"} and delisted["delist_date"].notna().all()
    gem = pro.stock_basic(market="创业板", exchange="SZSE", fields="ts_code,market,exchange")
    assert len(gem) and gem["ts_code"].str.startswith("30").all()
    assert pro.stock_basic(market="CDR").empty
    one = pro.stock_basic(ts_code=listed["ts_code"].iloc[0], fields="ts_code,name")
    assert list(one["name"]) == [listed["name"].iloc[0]]


def test_trade_cal_descends_with_int_is_open(pro):
    frame = pro.trade_cal(exchange="SSE", start_date="20240201", end_date="20240229")
    assert list(frame["cal_date"]) == sorted(frame["cal_date"], reverse=True)
    assert frame["is_open"].dtype.kind == "i" and len(frame) == 29
    opened = pro.trade_cal(start_date="20240201", end_date="20240229", is_open="1")
    assert len(opened) == 15 and set(opened["is_open"]) == {1}
    assert set(pro.trade_cal(exchange="SZSE", start_date="20240201", end_date="20240202")["exchange"]) == {"SZSE"}
    future = pro.trade_cal(start_date="20251001", end_date="20251008")
    assert set(future["is_open"]) == {0}  # the National Day week, beyond the market's end


def test_trade_cal_reaches_back_to_the_first_session(pro):
    first = pro.trade_cal(start_date="19901201", end_date="19901220")
    assert list(first["cal_date"]) == ["19901220", "19901219"]
    assert first["pretrade_date"].iloc[0] == "19901219" and pd.isna(first["pretrade_date"].iloc[1])


def test_namechange_dates_filter_the_announcement(pro, market):
    names = market.table("namechange")
    window = pro.namechange(start_date="20230101", end_date="20240329")
    expected = names[names["ann_date"].between("20230101", "20240329")]
    assert len(window) == len(expected) > 0
    assert list(window["start_date"]) == sorted(window["start_date"], reverse=True)


def test_suspend_d_filters_by_type(pro, market):
    resumed = pro.suspend_d(suspend_type="R")
    table = market.table("suspend_d")
    assert len(resumed) == (table["suspend_type"] == "R").sum() > 0
    assert set(resumed["suspend_type"]) == {"R"} and resumed["suspend_timing"].isna().all()


# --- caps and paging -----------------------------------------------------------------------------


def test_row_cap_then_limit_and_offset(market):
    with TushareServer(market, clock=lambda: EVENING, row_caps={"adj_factor": 50}) as server:
        pro = official(server.url)
        assert len(pro.adj_factor(trade_date="20240329")) == 50
        assert len(pro.adj_factor(trade_date="20240329", limit=500)) == 50
        assert len(pro.adj_factor(trade_date="20240329", limit=7)) == 7
        whole = market.table("adj_factor").query("trade_date == '20240329'")["ts_code"].tolist()
        page = pro.adj_factor(trade_date="20240329", limit=10, offset=5)
        assert list(page["ts_code"]) == whole[5:15]


def test_paging_recovers_every_row_of_a_range(market):
    expected = market.table("stk_limit")
    expected = expected[expected["trade_date"] >= "20240301"]
    with TushareServer(market, clock=lambda: EVENING, row_caps={"stk_limit": 100}) as server:
        pro, pages, offset = official(server.url), [], 0
        while True:
            page = pro.stk_limit(start_date="20240301", end_date="20240329", offset=offset)
            pages.append(page)
            offset += len(page)
            if len(page) < 100:
                break
    got = pd.concat(pages, ignore_index=True)
    assert len(got) == len(expected) and not got.duplicated(["ts_code", "trade_date"]).any()
    assert list(got["trade_date"]) == sorted(got["trade_date"], reverse=True)


def test_full_market_day_over_6000_stocks_pages_without_losing_a_row():
    big = SyntheticMarket(MarketSpec(dt.date(2025, 6, 3), dt.date(2025, 6, 3), n_stocks=7000, seed=3))
    clock = lambda: dt.datetime(2025, 6, 3, 21, 0, tzinfo=SHANGHAI)  # noqa: E731
    with TushareServer(big, clock=clock) as server:
        pro = official(server.url)
        first = pro.daily(trade_date="20250603")
        second = pro.daily(trade_date="20250603", offset=6000)
        limits = pro.stk_limit(trade_date="20250603")
    expected = set(big.table("daily")["ts_code"])
    assert len(expected) > 6000 and len(first) == 6000 and len(limits) == 5800
    got = pd.concat([first, second])
    assert len(got) == len(expected) and set(got["ts_code"]) == expected


# --- errors ----------------------------------------------------------------------------------------


def test_bad_token_raises_the_exact_message(server):
    with pytest.raises(Exception, match=r"^您的token不对，请确认。$"):
        official(server.url, token="wrong").daily(trade_date="20240329")
    body = post(server.url, {"api_name": "daily", "token": "wrong", "params": {"trade_date": "20240329"}})
    assert body["code"] == 40101 and body["data"] is None


def test_unknown_interface_is_named_as_such(pro, server):
    with pytest.raises(Exception, match=r"^请指定正确的接口名$"):
        pro.query("fina_dividend")
    assert post(server.url, {"api_name": "fina_dividend", "token": TOKEN, "params": {}})["code"] == -2001


def test_denied_interface_answers_40203(market):
    with TushareServer(market, clock=lambda: EVENING, denied=("daily_basic",)) as server:
        pro = official(server.url)
        with pytest.raises(Exception) as raised:
            pro.daily_basic(trade_date="20240329")
        assert str(raised.value) == DENIED_MSG.format(api="daily_basic")
        assert len(pro.daily(trade_date="20240329")) > 0


def test_missing_code_and_date_is_refused(pro, server):
    with pytest.raises(Exception, match="ts_code 或 trade_date"):
        pro.daily(start_date="20240301", end_date="20240329")
    body = post(server.url, {"api_name": "daily_basic", "token": TOKEN, "params": {}})
    assert body["code"] == 40001 and "daily_basic" in body["msg"] and body["data"] is None


def test_malformed_body_is_an_internal_error(server):
    reply = requests.post(server.url, data=b"{not json", timeout=5)
    assert reply.status_code == 200 and reply.json()["code"] == -1000


def test_quota_per_minute_is_counted_per_interface(market):
    now = [EVENING]
    with TushareServer(market, clock=lambda: now[0], quota_per_min={"daily": 3}) as server:
        pro = official(server.url)
        for _ in range(3):
            pro.daily(trade_date="20240329")
        with pytest.raises(Exception) as raised:
            pro.daily(trade_date="20240329")
        assert str(raised.value) == QUOTA_MSG.format(n=3)
        assert len(pro.stk_limit(trade_date="20240329")) > 0  # other interfaces are unaffected
        now[0] = EVENING + dt.timedelta(seconds=61)
        assert len(pro.daily(trade_date="20240329")) > 0  # the window has moved on
        assert server.calls["daily"] == 5


# --- publication times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "before", "after"),
    [
        ("stk_limit", (8, 39), (8, 40)),
        ("adj_factor", (9, 14), (9, 15)),
        ("daily", (15, 59), (16, 0)),
        ("daily_basic", (16, 59), (17, 0)),
    ],
)
def test_todays_rows_appear_at_publication_time(market, api, before, after):
    at = lambda h, m: dt.datetime(2024, 3, 29, h, m, tzinfo=SHANGHAI)  # noqa: E731
    with TushareServer(market, clock=lambda: at(*before)) as server:
        pro = official(server.url)
        assert pro.query(api, trade_date="20240329").empty
        assert not pro.query(api, trade_date="20240328").empty
        server.set_clock(lambda: at(*after))
        assert not pro.query(api, trade_date="20240329").empty


def test_clock_in_utc_is_read_in_shanghai_time(market):
    utc_evening = dt.datetime(2024, 3, 29, 9, 0, tzinfo=dt.UTC)  # 17:00 in Shanghai
    with TushareServer(market, clock=lambda: utc_evening) as server:
        assert not official(server.url).daily_basic(trade_date="20240329").empty


def test_a_publication_schedule_sets_each_days_time(market):
    """A late day appears at its own time, a next-morning day only the next morning; other days and
    interfaces keep their documented times."""
    at = lambda d, h, m: dt.datetime(2024, 3, d, h, m, tzinfo=SHANGHAI)  # noqa: E731
    times = {
        ("daily_basic", dt.date(2024, 3, 27)): at(27, 21, 40),
        ("daily", dt.date(2024, 3, 28)): at(29, 8, 30),
        ("daily_basic", dt.date(2024, 3, 28)): at(29, 8, 50),
    }
    now = [at(27, 21, 39)]
    with TushareServer(market, clock=lambda: now[0], publication=lambda api, day: times.get((api, day))) as server:
        pro = official(server.url)
        assert pro.daily_basic(trade_date="20240327").empty and not pro.daily(trade_date="20240327").empty
        now[0] = at(27, 21, 40)
        assert not pro.daily_basic(trade_date="20240327").empty
        now[0] = at(28, 23, 59)
        assert pro.daily(trade_date="20240328").empty and not pro.stk_limit(trade_date="20240328").empty
        assert pro.daily(ts_code=market.table("daily")["ts_code"].iloc[0])["trade_date"].max() == "20240327"
        now[0] = at(29, 8, 30)
        assert not pro.daily(trade_date="20240328").empty and pro.daily_basic(trade_date="20240328").empty
        server.set_publication(None)
        assert not pro.daily_basic(trade_date="20240328").empty


def test_nothing_after_the_clock_date(market):
    earlier = dt.datetime(2024, 2, 1, 20, 0, tzinfo=SHANGHAI)
    with TushareServer(market, clock=lambda: earlier) as server:
        pro = official(server.url)
        code = market.table("daily")["ts_code"].iloc[0]
        history = pro.daily(ts_code=code)
        assert history["trade_date"].max() == "20240201"
        assert pro.daily(trade_date="20240301").empty
        listed = set(pro.stock_basic(fields="ts_code,list_date")["list_date"])
        assert max(listed) <= "20240201"
        assert not pro.trade_cal(start_date="20240301", end_date="20240301").empty


# --- knobs ------------------------------------------------------------------------------------------


def test_faults_reach_the_official_client_as_it_handles_them(market):
    plan = FaultPlan()
    with TushareServer(market, clock=lambda: EVENING, faults=plan) as server:
        pro = official(server.url)
        for kind in ("http_500", "http_429", "http_403"):
            plan.fail_next(kind, api="daily")
            assert pro.daily(trade_date="20240329").shape == (0, 0)  # silently empty: the SDK's flaw
        plan.fail_next("not_json")
        with pytest.raises(json.JSONDecodeError):
            pro.daily(trade_date="20240329")
        plan.fail_next("null_data")
        with pytest.raises(TypeError):
            pro.daily(trade_date="20240329")
        plan.fail_next("drop")
        with pytest.raises(requests.ConnectionError):
            pro.daily(trade_date="20240329")
        assert len(pro.daily(trade_date="20240329")) > 0
        assert server.calls["daily"] == 7


def test_scheduled_faults_only_hit_their_interface(market):
    plan = FaultPlan()
    plan.fail_next("http_500", count=2, api="adj_factor")
    with TushareServer(market, clock=lambda: EVENING, faults=plan) as server:
        pro = official(server.url)
        assert len(pro.daily(trade_date="20240329")) > 0
        assert pro.adj_factor(trade_date="20240329").empty and pro.adj_factor(trade_date="20240329").empty
        assert len(pro.adj_factor(trade_date="20240329")) > 0


@pytest.mark.parametrize(
    "kind, code, msg",
    [("internal_error", -1000, "系统内部错误"), ("unknown_error", 50101, "系统未知错误，欢迎上报！ 谢谢！request-id(")],
)
def test_tushare_faults_answer_as_the_real_server_words_them(market, kind, code, msg):
    plan = FaultPlan()
    plan.fail_next(kind, count=2, api="daily")
    with TushareServer(market, clock=lambda: EVENING, faults=plan) as server:
        reply = httpx.post(server.url, json={"api_name": "daily", "token": "demo-token", "params": {}})
        body = reply.json()
        assert reply.status_code == 200 and (body["code"], body["data"]) == (code, None)
        assert body["msg"].startswith(msg)
        with pytest.raises(Exception, match=msg.replace("(", r"\(")):  # the official SDK raises Exception(msg)
            official(server.url).daily(trade_date="20240329")
        plan.fail_next(kind)  # any interface
        assert httpx.post(server.url, json={"api_name": "trade_cal", "token": "x"}).json()["code"] == code


def test_a_fault_window_follows_the_server_clock(market):
    plan = FaultPlan()
    start = EVENING.replace(hour=21, minute=0)
    plan.fail_between("internal_error", start, start + dt.timedelta(minutes=20), api="daily")
    now = [start - dt.timedelta(minutes=1)]
    with TushareServer(market, clock=lambda: now[0], faults=plan) as server:

        def code(api="daily"):
            body = {"api_name": api, "token": "demo-token", "params": {"trade_date": "20240329"}}
            return httpx.post(server.url, json=body).json()["code"]

        assert code() == 0
        now[0] = start
        assert (code(), code(), code("adj_factor")) == (-1000, -1000, 0)
        now[0] = start + dt.timedelta(minutes=19, seconds=59)
        assert code() == -1000
        now[0] = start + dt.timedelta(minutes=20)
        assert code() == 0


def test_fault_rate_is_seeded_and_repeatable():
    def outcomes(seed):
        plan = FaultPlan(rate=0.3, kinds=("http_500", "drop"), seed=seed)
        return [plan.draw("daily") for _ in range(200)]

    first = outcomes(1)
    assert first == outcomes(1) and first != outcomes(2)
    assert 30 < sum(k is not None for k in first) < 90 and {"http_500", "drop", None} == set(first)
    with pytest.raises(ValueError):
        FaultPlan(kinds=("meteor",))


def test_latency_is_added_to_every_request(market):
    with TushareServer(market, clock=lambda: EVENING, latency=0.3) as server:
        started = time.perf_counter()
        official(server.url).trade_cal(start_date="20240102", end_date="20240102")
        assert time.perf_counter() - started >= 0.3


def test_restated_rows_answer_the_correction(server, pro, market):
    row = market.table("adj_factor").query("trade_date == '20240328'").iloc[0]
    server.restate("adj_factor", row["ts_code"], "20240328", adj_factor=9.876)
    got = pro.adj_factor(ts_code=row["ts_code"], start_date="20240327", end_date="20240328")
    assert got.set_index("trade_date").loc["20240328", "adj_factor"] == 9.876
    assert got.set_index("trade_date").loc["20240327", "adj_factor"] != 9.876
    with pytest.raises(KeyError):
        server.restate("adj_factor", row["ts_code"], "20240330", adj_factor=1.0)
    with pytest.raises(ValueError):
        server.restate("adj_factor", row["ts_code"], "20240328", close=1.0)


# --- stock_basic order, dropped fields ---------------------------------------------------------


def test_every_stock_basic_listing_comes_in_a_new_order(pro, market):
    first = list(pro.stock_basic(list_status="L,D,P")["ts_code"])
    second = list(pro.stock_basic(list_status="L,D,P")["ts_code"])
    assert first != second and sorted(first) == sorted(second) == sorted(market.table("stock_basic")["ts_code"])


def test_listing_orders_are_the_same_on_every_server(market):
    def two_listings():
        with TushareServer(market, clock=lambda: EVENING) as server:
            pro = official(server.url)
            return [list(pro.stock_basic(fields="ts_code")["ts_code"]) for _ in range(2)]

    assert two_listings() == two_listings()


def test_paging_a_listing_with_a_small_cap_returns_every_row_once(market):
    expected = sorted(market.table("stock_basic")["ts_code"])
    with TushareServer(market, clock=lambda: EVENING, row_caps={"stock_basic": 7}) as server:
        pro, pages = official(server.url), []
        while not pages or len(pages[-1]) == 7:
            pages.append(pro.stock_basic(list_status="L,D,P", fields="ts_code", offset=7 * len(pages)))
            pro.stock_basic(list_status="L", fields="ts_code")  # another listing meanwhile changes nothing
    got = list(pd.concat(pages)["ts_code"])
    assert len(pages) > 3 and sorted(got) == expected


def test_a_dropped_field_is_absent_even_when_requested(market):
    with TushareServer(market, clock=lambda: EVENING, drop_fields={"daily": {"vol"}}) as server:
        pro = official(server.url)
        asked = pro.daily(trade_date="20240329", fields="ts_code,vol,close")
        assert list(asked.columns) == ["ts_code", "close"] and len(asked) > 0
        assert "vol" not in pro.daily(trade_date="20240329").columns
        assert "amount" in pro.daily(trade_date="20240329").columns
        assert list(pro.daily_basic(trade_date="20240329", fields="ts_code,close").columns) == ["ts_code", "close"]
        body = post(
            server.url, {"api_name": "daily", "token": TOKEN, "fields": ["vol"], "params": {"trade_date": "20240329"}}
        )
        assert body["code"] == 0 and body["data"]["fields"] == [] and body["data"]["items"]


def test_dropping_a_field_an_interface_lacks_is_refused(market):
    with pytest.raises(ValueError, match=r"'daily' has no field\(s\) \['volume'\]"):
        TushareServer(market, drop_fields={"daily": {"volume"}})


def test_command_line_serves_until_stopped():
    command = [
        sys.executable,
        "-m",
        "sync.simulated.server",
        "--port",
        "0",
        "--stocks",
        "20",
        "--start",
        "20240102",
        "--end",
        "20240131",
        "--token",
        "cli-token",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/dataapi")
        frame = official(url, token="cli-token").trade_cal(start_date="20240102", end_date="20240105")
        assert len(frame) == 4
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_serves_holes_and_dropped_fields():
    command = [
        sys.executable,
        "-m",
        "sync.simulated.server",
        "--port",
        "0",
        "--stocks",
        "60",
        "--start",
        "20100104",
        "--end",
        "20100331",
        "--hole",
        "adj_factor:20100305:0.5",
        "--drop-field",
        "daily:vol",
        "--drop-field",
        "daily:amount",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pro = official(process.stdout.readline().strip())
        bars = set(pro.daily(trade_date="20100305")["ts_code"])
        factors = set(pro.adj_factor(trade_date="20100305")["ts_code"])
        assert abs(len(factors & bars) / len(bars) - 0.5) <= 1 / len(bars)
        assert bars <= set(pro.adj_factor(trade_date="20100304")["ts_code"])
        assert not {"vol", "amount"} & set(pro.daily(trade_date="20100305", fields="ts_code,vol,amount").columns)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_documents_and_checks_its_knobs():
    run = [sys.executable, "-m", "sync.simulated.server"]
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=60)
    assert "--hole API:YYYYMMDD:COVERAGE" in helped.stdout and "--drop-field API:FIELD" in helped.stdout
    assert "2007-01-04" in helped.stdout
    saturday = ["--hole", "adj_factor:20240106:0.5", "--start", "20240102", "--end", "20240131"]
    for bad, words in (
        (["--hole", "adj_factor:0.5"], "is not API:YYYYMMDD:COVERAGE"),
        (["--drop-field", "daily"], "is not API:FIELD"),
        (saturday, "not SSE trading days: 20240106"),
    ):
        refused = subprocess.run([*run, *bad], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
