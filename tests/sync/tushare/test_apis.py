"""The one table of Tushare interface facts, checked against docs/tushare.md.

Every expected value here is copied by hand from docs/tushare.md (section names in comments) or
from docs/dataset.md and docs/operations.md, never from `sync.tushare.apis`.
"""

import datetime as dt

import pytest

from sync.core.config import DEFAULT_RATE_PER_MIN, OFFICIAL_URL
from sync.tushare.apis import APIS, DAY_APIS, available, board_of

# -- board_of: real codes (docs/tushare.md: fields, boards) -----------------------------------------


@pytest.mark.parametrize(
    "code, exchange, board",
    [
        # SSE main board: 600, 601, 603, 605
        ("600000.SH", "SSE", "主板"),
        ("601226.SH", "SSE", "主板"),
        ("603288.SH", "SSE", "主板"),
        ("605499.SH", "SSE", "主板"),
        # SZSE main board: 000, 001, 002 (the old SME board), 003
        ("000001.SZ", "SZSE", "主板"),
        ("001979.SZ", "SZSE", "主板"),
        ("002594.SZ", "SZSE", "主板"),
        ("003816.SZ", "SZSE", "主板"),
        # ChiNext: 300, 301, 302 (boards: 创业板 1,398 = 300 (937) + 301 (460) + 302 (1))
        ("300750.SZ", "SZSE", "创业板"),
        ("301269.SZ", "SZSE", "创业板"),
        ("302132.SZ", "SZSE", "创业板"),
        # STAR market: 688, 689 (689009.SH 九号公司-WD is 科创板, boards)
        ("688433.SH", "SSE", "科创板"),
        ("689009.SH", "SSE", "科创板"),
        # Beijing: 920 since the 2025-10-09 migration; 43/83/87 before it (boards)
        ("920001.BJ", "BSE", "北交所"),
        ("430047.BJ", "BSE", "北交所"),
        ("830799.BJ", "BSE", "北交所"),
        ("871981.BJ", "BSE", "北交所"),
    ],
)
@pytest.mark.parametrize("label", ["", None, "未知"])
def test_board_of_derives_an_empty_or_unknown_label_from_code_prefix_and_exchange(code, exchange, board, label):
    assert board_of(code, exchange, label) == board


@pytest.mark.parametrize(
    "code, board",
    [
        ("600000.SH", "主板"),
        ("000001.SZ", "主板"),
        ("300750.SZ", "创业板"),
        ("688433.SH", "科创板"),
        ("920001.BJ", "北交所"),
        ("430047.BJ", "北交所"),
        ("302132.SZ", "创业板"),
    ],
)
def test_board_of_derives_the_exchange_from_the_code_suffix_when_it_is_missing(code, board):
    assert board_of(code, None, "") == board
    assert board_of(code, "", None) == board


@pytest.mark.parametrize(
    "code, exchange, label",
    [
        ("000001.SZ", "SZSE", "主板"),
        ("300750.SZ", "SZSE", "创业板"),
        ("688433.SH", "SSE", "科创板"),
        ("920001.BJ", "BSE", "北交所"),
        ("689009.SH", "SSE", "CDR"),  # a current label is trusted as is
    ],
)
def test_board_of_keeps_a_current_label(code, exchange, label):
    assert board_of(code, exchange, label) == label


def test_board_of_trims_a_current_label():
    assert board_of("000001.SZ", "SZSE", " 主板 ") == "主板"


@pytest.mark.parametrize("code", ["002001.SZ", "002594.SZ", "002415.SZ"])
def test_board_of_maps_the_legacy_sme_label_to_the_main_board(code):
    # boards: 中小板 merged into the Shenzhen main board in 2021.
    assert board_of(code, "SZSE", "中小板") == "主板"


@pytest.mark.parametrize(
    "code, exchange",
    [
        ("900901.SH", "SSE"),  # an SSE B share
        ("200002.SZ", "SZSE"),  # an SZSE B share
        ("600000.SZ", "SZSE"),  # an SSE prefix on the wrong exchange
        ("300750.SH", "SSE"),  # a ChiNext prefix on the wrong exchange
    ],
)
def test_board_of_gives_no_board_for_codes_outside_the_a_share_boards(code, exchange):
    assert board_of(code, exchange, "") is None


# -- available: when an interface's history starts (docs/tushare.md#history-start-dates) ------------


@pytest.mark.parametrize(
    "day, has_history",
    [
        (dt.date(2005, 1, 4), False),
        (dt.date(2006, 12, 29), False),  # the last trading day of 2006
        (dt.date(2007, 1, 3), False),  # the day before
        (dt.date(2007, 1, 4), True),  # the first day of stk_limit's history
        (dt.date(2007, 1, 5), True),
        (dt.date(2024, 4, 15), True),
    ],
)
def test_stk_limit_is_available_from_2007_01_04(day, has_history):
    assert available("stk_limit", day) is has_history


@pytest.mark.parametrize("api", ["daily", "daily_basic", "adj_factor"])
@pytest.mark.parametrize("day", [dt.date(1990, 12, 19), dt.date(2005, 1, 4), dt.date(2024, 4, 15)])
def test_the_other_day_interfaces_are_available_on_every_day(api, day):
    assert available(api, day) is True


# -- the table itself -------------------------------------------------------------------------


def test_the_day_interfaces_include_the_four_a_row_is_built_from():
    # docs/dataset.md#day-status: coverage per interface for daily, daily_basic, stk_limit, adj_factor.
    assert {"adj_factor", "daily", "daily_basic", "stk_limit"} <= set(DAY_APIS)
    assert set(DAY_APIS) <= set(APIS)
    assert len(set(DAY_APIS)) == len(DAY_APIS)


@pytest.mark.parametrize("api", DAY_APIS)
def test_every_day_interface_has_a_positive_row_cap(api):
    assert isinstance(APIS[api].row_cap, int) and APIS[api].row_cap > 0


@pytest.mark.parametrize("api", sorted(APIS))
def test_requested_fields_are_a_subset_of_the_interface_fields(api):
    facts = APIS[api]
    assert set(facts.requested) <= set(facts.fields), set(facts.requested) - set(facts.fields)
    assert len(set(facts.requested)) == len(facts.requested)
    assert len(set(facts.fields)) == len(facts.fields)
    assert set(facts.returned_by_default) <= set(facts.fields)


@pytest.mark.parametrize("api", sorted(APIS))
def test_every_interface_requests_its_key_fields(api):
    keys = {
        "stock_basic": {"ts_code", "list_date"},
        "trade_cal": {"cal_date", "is_open"},
        "namechange": {"ts_code", "name", "start_date", "end_date"},
        "suspend_d": {"ts_code", "trade_date"},
        "index_basic": {"ts_code", "name", "list_date"},
        "index_weight": {"index_code", "con_code", "trade_date", "weight"},
    }
    assert keys.get(api, {"ts_code", "trade_date"}) <= set(APIS[api].requested)


@pytest.mark.parametrize(
    "api, cap",
    [
        # docs/tushare.md#row-caps-and-paging, documented caps
        ("stock_basic", 6000),
        ("daily", 6000),
        ("daily_basic", 6000),
        ("stk_limit", 5800),
        ("suspend_d", 5000),
        ("namechange", 10000),
        ("index_basic", 8000),
        ("index_daily", 8000),
        ("index_weight", 6000),
    ],
)
def test_documented_row_caps(api, cap):
    assert APIS[api].row_cap == cap


def test_daily_fields_and_defaults_follow_the_reference():
    # docs/tushare.md#fields: ah_vol and ah_amount are not returned by default.
    daily = APIS["daily"]
    assert daily.fields == (
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
    )
    assert "ah_vol" not in daily.returned_by_default and "ah_amount" not in daily.returned_by_default


def test_stk_limit_pre_close_is_not_returned_by_default():
    # docs/tushare.md#fields: stk_limit's pre_close is not default.
    assert "pre_close" in APIS["stk_limit"].fields
    assert "pre_close" not in APIS["stk_limit"].returned_by_default
    assert {"up_limit", "down_limit"} <= set(APIS["stk_limit"].requested)


def test_stock_basic_requests_the_fields_it_does_not_get_by_default():
    # docs/tushare.md#fields: exchange, list_status and delist_date are N; the sync needs all three.
    facts = APIS["stock_basic"]
    for field in ("exchange", "list_status", "delist_date"):
        assert field not in facts.returned_by_default
        assert field in facts.requested


def test_daily_basic_requests_every_price_table_column_it_feeds():
    # docs/dataset.md#columns: the daily_basic columns of the price table.
    wanted = {
        "turnover_rate",
        "turnover_rate_f",
        "volume_ratio",
        "pe",
        "pe_ttm",
        "pb",
        "ps",
        "ps_ttm",
        "dv_ratio",
        "dv_ttm",
        "total_share",
        "float_share",
        "free_share",
        "total_mv",
        "circ_mv",
    }
    assert wanted <= set(APIS["daily_basic"].requested)


def test_only_stk_limit_has_a_history_start_among_the_day_interfaces():
    starts = {api: APIS[api].history_start for api in DAY_APIS}
    assert starts.pop("stk_limit") == dt.date(2007, 1, 4)
    assert set(starts.values()) == {None}


def test_pre_open_interfaces_publish_before_the_open():
    # docs/tushare.md#publication-times: stk_limit ~08:40 and adj_factor 09:15, both before the 09:30 open.
    assert APIS["stk_limit"].published_at <= dt.time(9, 30)
    assert APIS["adj_factor"].published_at <= dt.time(9, 30)


def test_stock_basic_has_its_own_lower_quota():
    assert APIS["stock_basic"].rate_per_min == 50  # docs/tushare.md#quotas-and-points: 50/min


def test_the_official_url_and_default_quota():
    assert OFFICIAL_URL == "http://api.waditu.com/dataapi"  # docs/tushare.md#endpoint-and-envelope
    assert DEFAULT_RATE_PER_MIN == 200  # docs/operations.md#configuration


def test_index_daily_returns_close_first_as_the_reference_gives_it():
    # docs/tushare.md#indexes: ts_code, trade_date, close, open, high, low, pre_close, change, pct_chg, vol, amount
    assert APIS["index_daily"].fields[:6] == ("ts_code", "trade_date", "close", "open", "high", "low")
    assert APIS["index_daily"].fields[6:] == ("pre_close", "change", "pct_chg", "vol", "amount")


def test_the_index_interfaces_take_one_code_per_call_and_are_never_paged():
    assert APIS["index_daily"].one_code and APIS["index_weight"].one_code
    assert not any(APIS[api].one_code for api in ("daily", "daily_basic", "stk_limit", "adj_factor", "suspend_d"))
