"""The dataset contract: column order and types, shard layout and meta tables.

Everything that writes or reads the published files imports these definitions, so the
price table cannot drift between the sync engine, the dataset card and the tests.
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa

SCHEMA_VERSION = 2
REPO_ID = "ellendan/a-share-prices"  # the public dataset; also what a folder's card names

# The first 33 columns keep the names, order and units of the old CSV.
PRICE_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("date", pa.date32()),
        ("open", pa.float64()),
        ("high", pa.float64()),
        ("low", pa.float64()),
        ("close", pa.float64()),
        ("prev_close", pa.float64()),
        ("quote_rate", pa.float64()),
        ("volume", pa.float64()),
        ("turnover", pa.float64()),
        ("high_limit", pa.float64()),
        ("low_limit", pa.float64()),
        ("turnover_rate", pa.float64()),
        ("turnover_rate_f", pa.float64()),
        ("volume_ratio", pa.float64()),
        ("pe", pa.float64()),
        ("pe_ttm", pa.float64()),
        ("pb", pa.float64()),
        ("ps", pa.float64()),
        ("ps_ttm", pa.float64()),
        ("dv_ratio", pa.float64()),
        ("dv_ttm", pa.float64()),
        ("total_share", pa.float64()),
        ("float_share", pa.float64()),
        ("free_share", pa.float64()),
        ("total_mv", pa.float64()),
        ("circ_mv", pa.float64()),
        ("name", pa.string()),
        ("area", pa.string()),
        ("industry", pa.string()),
        ("market", pa.string()),
        ("exchange", pa.string()),
        ("list_date", pa.date32()),
        ("adj_factor", pa.float64()),
        ("avg_price", pa.float64()),
        ("is_st", pa.bool_()),
        ("is_paused", pa.bool_()),
    ]
)

# daily_basic fields copied one to one (Tushare name == column name).
DAILY_BASIC_COLUMNS = (
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
)

STOCKS_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("symbol", pa.string()),
        ("name", pa.string()),
        ("area", pa.string()),
        ("industry", pa.string()),
        ("market", pa.string()),
        ("exchange", pa.string()),
        ("list_status", pa.string()),
        ("list_date", pa.date32()),
        ("delist_date", pa.date32()),
    ]
)

CALENDAR_SCHEMA = pa.schema([("date", pa.date32()), ("is_open", pa.bool_()), ("prev_trade_date", pa.date32())])

# meta/days.parquet: one row per trading day in the dataset, with its coverage per interface
# (null where the interface's history has not started on that day).
DAY_STATUSES = ("complete", "partial")
COVERAGE_APIS = ("daily", "daily_basic", "stk_limit", "adj_factor")
DAYS_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("status", pa.string()),
        ("rows", pa.int64()),
        ("paused", pa.int64()),
        *[(f"coverage_{api}", pa.float64()) for api in COVERAGE_APIS],
        ("index_missing", pa.list_(pa.string())),  # index codes without a bar that day, after their first
    ]
)

SORT_KEYS = [("date", "ascending"), ("code", "ascending")]

# Dates are days in memory (date32: Python `date` values for the engine) and a temporal type in the
# published files, so that `load_dataset(...).to_pandas()` gives pandas datetime64 columns: they
# compare with "2024-01-02", have `.dt`, and allow `.loc["2024-03"]` on a DatetimeIndex, as the old
# CSV did. Parquet has no seconds unit, so milliseconds (read back as the same type). The trading
# day is the Shanghai calendar day, stored as midnight without a time zone.
DATE_TYPE = pa.date32()
PUBLISHED_DATE_TYPE = pa.timestamp("ms")


def published_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` as it is stored: every date32 field as PUBLISHED_DATE_TYPE."""
    return pa.schema([f.with_type(PUBLISHED_DATE_TYPE) if f.type == DATE_TYPE else f for f in schema])


def to_published(table: pa.Table) -> pa.Table:
    """The table as it is stored (dates as timestamps at midnight)."""
    return table.cast(published_schema(table.schema)) if DATE_TYPE in table.schema.types else table


def from_published(table: pa.Table) -> pa.Table:
    """A stored table in memory form: timestamp columns back to dates (refused if one holds a time of day)."""
    if PUBLISHED_DATE_TYPE not in table.schema.types:
        return table
    fields = [f.with_type(DATE_TYPE) if f.type == PUBLISHED_DATE_TYPE else f for f in table.schema]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


# Markets as stock_basic names them. `all` selects every A-share market.
MAIN_BOARD = "主板"
ALL_MARKETS = ("主板", "创业板", "科创板", "北交所", "CDR")
DEFAULT_MARKETS = (MAIN_BOARD,)

STOCKS_PATH = "meta/stocks.parquet"
CALENDAR_PATH = "meta/calendar.parquet"
DAYS_PATH = "meta/days.parquet"
STATE_PATH = ".sync/state.json"
LAST_UPDATE_PATH = ".last_update_date"
CARD_PATH = "README.md"
DATA_GLOB = "data/*/*.parquet"
# A local folder target keeps this many versions (the current one and the ones before it) in
# `.<name>.sync/versions/`; its tags.json names only tags whose version is still kept.
FOLDER_VERSIONS = 5

# The old pipeline's repo: `all-prices.csv` with no `.sync/state.json`, whatever else is beside it
# (its `.last_update_date`, the calendar flow's `calendar.csv`, the maintainer's own files). Such a
# target is migrated on purpose only (`python -m sync full --migrate-legacy`); the Hub keeps the old
# files at tag LEGACY_TAG.
LEGACY_CSV = "all-prices.csv"
LEGACY_TAG = "legacy-csv"
# The old calendar flow's file: header `cal_date`, one `YYYY-MM-DD` line per SSE trading day from
# 2005 through 31 December of the current year. Ours (regenerated on every publish) only where a
# migration found it; the state then lists it among its files.
CALENDAR_CSV = "calendar.csv"
CALENDAR_CSV_FIRST = dt.date(2005, 1, 1)

# The project's own paths: a publish writes or deletes nothing else (the README.md keeps the
# maintainer's front-matter keys). Extend OWN_FOLDERS when a layout adds a folder.
OWN_FOLDERS = ("data/", "meta/", ".sync/", "by_code/", "index/")
OWN_ROOT_FILES = ("README.md", ".last_update_date", ".gitattributes")
_NEVER_FOREIGN = frozenset({"README.md", ".gitattributes"})


def is_own_path(path: str, calendar_csv: bool = False) -> bool:
    """A path the sync may write or delete; `calendar.csv` only where the repo owns it (`calendar_csv`)."""
    return path in OWN_ROOT_FILES or path.startswith(OWN_FOLDERS) or (calendar_csv and path == CALENDAR_CSV)


def foreign_files(files) -> list[str]:
    """Paths that make a target without a state someone else's: anything but README.md, .gitattributes and
    dot-paths (a name starting with `.` anywhere in the path, e.g. `.last_update_date`, `.cache/...`)."""
    return sorted(
        p for p in files if p not in _NEVER_FOREIGN and not any(part.startswith(".") for part in p.split("/"))
    )


def maintainer_files(legacy_files) -> list[str]:
    """The files of a legacy layout that a migration keeps as they are: all but the project's own,
    `all-prices.csv` (deleted) and `calendar.csv` (from then on the project's)."""
    return sorted(p for p in legacy_files if not is_own_path(p, calendar_csv=True) and p != LEGACY_CSV)


def is_legacy_layout(files) -> bool:
    """The old pipeline's layout: `all-prices.csv` and no `.sync/state.json`, whatever else is there."""
    names = set(files)
    return LEGACY_CSV in names and STATE_PATH not in names


_SHARD_RE = re.compile(r"^data/(\d{4})/(\d{4})-(\d{2})\.parquet$")


def shard_path(day: dt.date) -> str:
    """Path of the monthly shard that holds `day`, e.g. ``data/2024/2024-01.parquet``.

    Zero-padded names sort chronologically, which is what makes the default config
    load as one date-sorted table.
    """
    return f"data/{day.year:04d}/{day.year:04d}-{day.month:02d}.parquet"


def shard_month(path: str) -> tuple[int, int] | None:
    """(year, month) of a shard path, or None when `path` is not a shard."""
    match = _SHARD_RE.match(path)
    if not match or match.group(1) != match.group(2):
        return None
    return int(match.group(2)), int(match.group(3))


# Config `by_code`: the default config's rows, each file sorted by (code, date) so that a reader
# filtering on one code reads one row group per file. Closed years are one file each; the months of
# the watermark's year are one file each, so a delta rewrites only small, recent files, and they are
# compacted into their year's file once the watermark enters the next year (docs/dataset.md).
BY_CODE_DIR = "by_code"
BY_CODE_GLOBS = (f"{BY_CODE_DIR}/*.parquet", f"{BY_CODE_DIR}/*/*.parquet")
BY_CODE_SORT_KEYS = [("code", "ascending"), ("date", "ascending")]
_BY_CODE_YEAR_RE = re.compile(r"^by_code/(\d{4})\.parquet$")
_BY_CODE_MONTH_RE = re.compile(r"^by_code/(\d{4})/(\d{4})-(\d{2})\.parquet$")


def by_code_path(year: int, month: int, watermark: dt.date) -> str:
    """The `by_code` file that holds month (`year`, `month`) when the dataset runs to `watermark`:
    ``by_code/2023.parquet`` for a closed year, ``by_code/2024/2024-03.parquet`` in the watermark's year."""
    if year < watermark.year:
        return f"{BY_CODE_DIR}/{year:04d}.parquet"
    return f"{BY_CODE_DIR}/{year:04d}/{year:04d}-{month:02d}.parquet"


def by_code_months(path: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The first and last (year, month) a `by_code` file can hold, or None when `path` is not one."""
    year = _BY_CODE_YEAR_RE.match(path)
    if year:
        return (int(year.group(1)), 1), (int(year.group(1)), 12)
    month = _BY_CODE_MONTH_RE.match(path)
    if month and month.group(1) == month.group(2) and 1 <= int(month.group(3)) <= 12:
        key = (int(month.group(2)), int(month.group(3)))
        return key, key
    return None


def is_by_code(path: str) -> bool:
    return by_code_months(path) is not None


def is_loading_script(path: str) -> bool:
    """A `.py` file at the repo root: `datasets` 4+ refuses to load a repo that has one."""
    return path.endswith(".py") and "/" not in path


# meta/runs.parquet: one row per publishing run (a failed run is recorded by the next publishing run).
# `commit` is the parent: the head the run read and planned on (None for the first publish). A
# commit's id depends on its files, this table among them, so no row can name its own commit; the
# run's commit is the one whose parent is `commit` (for a run that created a tag: the tag's commit).
RUNS_PATH = "meta/runs.parquet"
RUN_TRIGGERS = ("schedule", "button", "cli", "catch-up", "resume")
RUN_KINDS = ("full", "delta")
RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("trigger", pa.string()),  # one of RUN_TRIGGERS
        ("kind", pa.string()),  # one of RUN_KINDS
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("days_added", pa.int64()),
        ("rows_added", pa.int64()),
        ("rows_changed", pa.int64()),
        ("api_calls", pa.string()),  # JSON text: {interface: calls}
        ("commit", pa.string()),  # the parent commit the run was planned on (see above)
        ("message", pa.string()),
        ("watermark_before", pa.date32()),  # null: nothing was published before this run
        ("watermark_after", pa.date32()),  # null: a run that published nothing (failed, interrupted)
        ("tag", pa.string()),  # the date tag YYYYMMDD this run's commit created, else null
        ("files_changed", pa.list_(pa.string())),  # paths the commit added, changed or deleted
    ]
)

# meta/changes.parquet: the restatement log, one row per (code, date, column) whose published
# value a re-fetch changed. Numbers (float64 columns) in `old_value`/`new_value`; every other value
# (text, dates as YYYY-MM-DD, bools as True/False, and "present" for a whole row added or removed,
# column "(row)") as text in `old_text`/`new_text`; null when absent.
CHANGES_PATH = "meta/changes.parquet"
CHANGES_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("date", pa.date32()),
        ("column", pa.string()),
        ("old_value", pa.float64()),
        ("new_value", pa.float64()),
        ("old_text", pa.string()),
        ("new_text", pa.string()),
        ("run_id", pa.string()),
    ]
)

# What each schema version changed, newest last: (version, English, Chinese). The card prints it.
# Version 0 is the legacy single CSV (all-prices.csv) that version 1 replaced.
# A repo of an older version is rebuilt, not merged into: `python -m sync full --start <its first day>`.
CHANGELOG = (
    (
        0,
        "Legacy: one CSV file `all-prices.csv` with 33 columns, appended daily, unsorted, "
        "listed stocks only, current names.",
        "旧版：单个 CSV 文件 `all-prices.csv`，33 列，每日追加，未排序，仅含当前上市股票，使用当前简称。",
    ),
    (
        1,
        "Monthly Parquet shards `data/YYYY/YYYY-MM.parquet` sorted by (date, code), one row per "
        "(code, date); the first 33 columns keep the CSV's names, order and units; new columns "
        "adj_factor, avg_price, is_st, is_paused; delisted stocks and suspended days included; "
        "point-in-time names; meta tables stocks, calendar, days, runs and changes.",
        "按月分片的 Parquet 文件 `data/YYYY/YYYY-MM.parquet`，按 (date, code) 排序，每个 (code, date) 一行；"
        "前 33 列的列名、顺序和单位与 CSV 相同；新增 adj_factor、avg_price、is_st、is_paused 列；"
        "包含已退市股票和停牌日；使用当日有效的简称（时点数据）；元数据表 stocks、calendar、days、runs、changes。",
    ),
    (
        2,
        "Date columns (`date`, `list_date`; in the meta tables also `delist_date`, `prev_trade_date`) are "
        "timestamps at midnight (Parquet TIMESTAMP in milliseconds, no time zone) instead of date32, so "
        'pandas gives datetime64 columns: `df[df.date >= "2024-03-01"]`, `df.date.dt.year` and '
        '`.loc["2024-03"]` work as with the old CSV. The state records the data\'s source.',
        "日期列（`date`、`list_date`；元数据表中还有 `delist_date`、`prev_trade_date`）改为午夜时间戳"
        '（Parquet 毫秒 TIMESTAMP，无时区），不再是 date32，pandas 中为 datetime64：`df[df.date >= "2024-03-01"]`、'
        '`df.date.dt.year` 和 `.loc["2024-03"]` 与旧 CSV 一样可用。状态文件记录数据来源。',
    ),
)

# Index universes (docs/dataset.md#indexes): daily bars of SYNC_INDEXES and their constituents'
# snapshots, under index/ (prices in one file, weights one file per snapshot year).
INDEX_PRICES_PATH = "index/prices.parquet"
INDEX_WEIGHTS_GLOB = "index/weights/*.parquet"
INDEX_PREFIX = "index/"
INDEX_PRICES_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("date", DATE_TYPE),
        ("name", pa.string()),
        *[(name, pa.float64()) for name in ("open", "high", "low", "close", "prev_close", "quote_rate")],
        ("volume", pa.float64()),
        ("turnover", pa.float64()),
    ]
)
INDEX_PRICES_SORT = [("date", "ascending"), ("code", "ascending")]
INDEX_WEIGHTS_SCHEMA = pa.schema(
    [("index_code", pa.string()), ("date", DATE_TYPE), ("code", pa.string()), ("weight", pa.float64())]
)
INDEX_WEIGHTS_SORT = [("date", "ascending"), ("index_code", "ascending"), ("code", "ascending")]
WEIGHT_SUM_TOLERANCE = 0.5  # a snapshot whose weights sum outside 100 ± this is named in the run's message


def index_weights_path(year: int) -> str:
    return f"index/weights/{year}.parquet"
