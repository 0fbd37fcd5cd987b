"""The one table of facts about the Tushare Pro interfaces this project uses.

Fields, row caps, the first day of each interface's history, the time of day its data for a
trading day appears, and default quotas, described with their sources in docs/tushare.md. The client,
the source binding, the fetch planner, the day-status rule and the synthetic market's server all
read this table; none of them restates a fact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

import numpy as np

from dataset_script.schema import DAILY_BASIC_COLUMNS

DEFAULT_ROW_CAP = 5000  # for an interface whose cap is not documented


@dataclasses.dataclass(frozen=True)
class Api:
    """Facts about one interface.

    `fields`: every output field, in the server's order. `default_fields`: what the server returns
    when no `fields` are requested. `requested`: what this project asks for (a reply lacking one
    of them is an error). `history_start`: the first trading day with data (None: as old as the
    market). `published_at`: Asia/Shanghai time from which day T's rows exist (None: not per
    day). `published_window`: the documented range of that time on day T, (earliest, latest), where
    the sources give one (the replay in tests/support/freshness_replay.py draws each day's time from it).
    `rate_per_min`: a documented quota lower than the account's (None: the account's).
    """

    name: str
    fields: tuple[str, ...]
    requested: tuple[str, ...]
    row_cap: int = DEFAULT_ROW_CAP
    default_fields: tuple[str, ...] | None = None
    history_start: dt.date | None = None
    published_at: dt.time | None = None
    published_window: tuple[dt.time, dt.time] | None = None
    rate_per_min: int | None = None
    sparse: bool = False  # rows only for a few codes per day (suspensions): one page per call
    one_code: bool = False  # one code per call, cut silently at the cap: asked for one page, never paged

    @property
    def returned_by_default(self) -> tuple[str, ...]:
        return self.default_fields or self.fields


_DAILY = (
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
_INDEX_BASIC = (
    "ts_code",
    "name",
    "fullname",
    "market",
    "publisher",
    "index_type",
    "category",
    "base_date",
    "base_point",
    "list_date",
    "weight_rule",
    "desc",
    "exp_date",
)
_INDEX_DAILY = (
    "ts_code",
    "trade_date",
    "close",
    "open",
    "high",
    "low",
    "pre_close",
    "change",
    "pct_chg",
    "vol",
    "amount",
)
_DAILY_BASIC = ("ts_code", "trade_date", "close", *DAILY_BASIC_COLUMNS, "limit_status")  # the documented order

APIS: Mapping[str, Api] = {
    api.name: api
    for api in (
        Api(
            "stock_basic",
            fields=(
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
            ),
            default_fields=(
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
            ),
            requested=(
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
            ),
            row_cap=6000,
            rate_per_min=50,
        ),
        Api(
            "trade_cal",
            fields=("exchange", "cal_date", "is_open", "pretrade_date"),
            requested=("exchange", "cal_date", "is_open", "pretrade_date"),
            row_cap=10000,
        ),
        Api(
            "namechange",
            fields=("ts_code", "name", "start_date", "end_date", "ann_date", "change_reason"),
            requested=("ts_code", "name", "start_date", "end_date", "ann_date", "change_reason"),
            row_cap=10000,
        ),
        Api(
            "daily",
            fields=_DAILY,
            default_fields=_DAILY[:11],
            requested=(
                "ts_code",
                "trade_date",
                "open",
                "high",
                "low",
                "close",
                "pre_close",
                "pct_chg",
                "vol",
                "amount",
            ),
            row_cap=6000,
            published_at=dt.time(16, 0),
            published_window=(dt.time(15, 0), dt.time(17, 0)),
        ),
        Api(
            "daily_basic",
            fields=_DAILY_BASIC,
            default_fields=_DAILY_BASIC[:18],
            requested=("ts_code", "trade_date", *DAILY_BASIC_COLUMNS),
            row_cap=6000,
            published_at=dt.time(17, 0),
            published_window=(dt.time(15, 0), dt.time(19, 0)),
        ),
        Api(
            "stk_limit",
            fields=("trade_date", "ts_code", "pre_close", "up_limit", "down_limit"),
            default_fields=("trade_date", "ts_code", "up_limit", "down_limit"),
            requested=("ts_code", "trade_date", "up_limit", "down_limit"),
            row_cap=5800,
            history_start=dt.date(2007, 1, 4),
            published_at=dt.time(8, 40),
        ),
        Api(
            "adj_factor",
            fields=("ts_code", "trade_date", "adj_factor"),
            requested=("ts_code", "trade_date", "adj_factor"),
            row_cap=6000,
            published_at=dt.time(9, 15),
        ),
        Api(
            "suspend_d",
            fields=("ts_code", "trade_date", "suspend_timing", "suspend_type"),
            requested=("ts_code", "trade_date", "suspend_timing", "suspend_type"),
            row_cap=5000,
            published_at=dt.time(0, 0),
            sparse=True,
        ),
        # Index interfaces (docs/tushare.md, indexes): one code per call, no cross-section.
        Api(
            "index_basic",
            fields=_INDEX_BASIC,
            requested=("ts_code", "name", "market", "base_date", "list_date"),
            row_cap=8000,
        ),
        Api(
            "index_daily",
            fields=_INDEX_DAILY,  # close first, unlike the stock daily
            requested=tuple(f for f in _INDEX_DAILY if f != "change"),
            row_cap=8000,
            published_at=dt.time(19, 0),  # "updated at 9:00 and 19:00"
            published_window=(dt.time(17, 0), dt.time(19, 0)),
            one_code=True,
        ),
        Api(
            "index_weight",
            fields=("index_code", "con_code", "trade_date", "weight"),
            requested=("index_code", "con_code", "trade_date", "weight"),
            row_cap=6000,  # silently keeps the newest dates of a longer reply: windows must stay under it
            one_code=True,
        ),
    )
}

# stk_limit covers the whole exchange market, "A/B股和基金" (doc_id=183): funds and B shares too,
# which stock_basic does not list. How many is not documented; this is our estimate of such codes
# at each year's end (B shares ~100, closed-end funds until ~2015, LOFs, ETFs since 2005 and REITs
# since 2021, from the exchanges' yearly fund counts; graded-fund classes of 2013-2020 flattened
# into a plateau). UNCONFIRMED: the planner only uses its shape, and scales it to the non-stock
# rows it sees on one probed day. At the real market's size (FULL_MARKET_STOCKS listed by 2025),
# a day's stk_limit cross-section passes the 5,800-row cap from about 2022.
NONSTOCK_PER_YEAR: Mapping[int, int] = {
    2004: 160,
    2007: 200,
    2010: 350,
    2013: 600,
    2015: 900,
    2020: 900,
    2021: 1120,
    2022: 1270,
    2023: 1400,
    2024: 1520,
    2025: 1800,
}
FULL_MARKET_STOCKS = 5500  # stocks listed (delisted ones included) by 2025-12-31, the scale of the estimate


def year_fraction(day: dt.date) -> float:
    """2024-07-02 → ~2024.5: a date as a fractional year."""
    return day.year + (day.timetuple().tm_yday - 1) / 365.25


def nonstock_listed(year: float) -> float:
    """The estimated non-stock codes in stk_limit at fractional `year` (NONSTOCK_PER_YEAR counts at year ends)."""
    ends = sorted(NONSTOCK_PER_YEAR)
    return float(np.interp(year, [y + 1.0 for y in ends], [NONSTOCK_PER_YEAR[y] for y in ends]))


# The interfaces a dataset row is built from; each day's coverage is measured for each of them.
ROW_APIS = ("daily", "stk_limit", "daily_basic", "adj_factor")
# What is fetched per trading day: the row interfaces, plus suspensions, which say which listed
# stocks are not expected to trade (the denominator of `daily`'s coverage).
DAY_APIS = (*ROW_APIS, "suspend_d")
# The index interfaces (index_prices, index_weights): fetched per code, on their own quotas.
INDEX_APIS = ("index_basic", "index_daily", "index_weight")
ROW_CAPS: Mapping[str, int] = {name: api.row_cap for name, api in APIS.items()}
DEFAULT_RATE_OVERRIDES: Mapping[str, int] = {n: a.rate_per_min for n, a in APIS.items() if a.rate_per_min}

# Boards by code prefix and exchange (docs/tushare.md, boards). Old SME-board codes (002) are main
# board since 2021; stock_basic may still label them 中小板, or label a delisted stock with
# nothing at all, so the board is derived from here when the label is not a current one.
BOARD_PREFIXES: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("主板", "SSE"): ("600", "601", "603", "605"),
    ("主板", "SZSE"): ("000", "002", "001", "003"),
    ("创业板", "SZSE"): ("300", "301", "302"),
    ("科创板", "SSE"): ("688", "689"),
    ("北交所", "BSE"): ("920",),
}
EXCHANGE_SUFFIX: Mapping[str, str] = {"SSE": "SH", "SZSE": "SZ", "BSE": "BJ"}
BOARDS = ("主板", "创业板", "科创板", "北交所", "CDR")
LEGACY_BOARDS: Mapping[str, str] = {"中小板": "主板"}


def available(api: str, day: dt.date) -> bool:
    """Does `api` have history on `day`? Before its first day its columns are null, not missing."""
    start = APIS[api].history_start
    return start is None or day >= start


def board_of(code: str, exchange: str | None, label: str | None) -> str | None:
    """The normalised board of a stock: a current label as is, a legacy label mapped, else derived.

    >>> board_of("002001.SZ", "SZSE", "中小板"), board_of("600001.SH", None, ""), board_of("300001.SZ", "SZSE", None)
    ('主板', '主板', '创业板')
    """
    label = label.strip() if isinstance(label, str) else ""  # stock_basic gives null (NaN) labels too
    exchange = exchange if isinstance(exchange, str) and exchange else None
    if label in BOARDS:
        return label
    if label in LEGACY_BOARDS:
        return LEGACY_BOARDS[label]
    suffix = code.rsplit(".", 1)[-1].upper() if "." in code else ""
    exchange = exchange or next((e for e, s in EXCHANGE_SUFFIX.items() if s == suffix), None)
    if exchange == "BSE":
        return "北交所"  # before the 2025 code migration BSE codes started 43/83/87
    for (board, where), prefixes in BOARD_PREFIXES.items():
        if where == exchange and code.startswith(prefixes):
            return board
    return None
