"""The body of the dataset card, in English and Chinese, one function per section.

Each function takes data and returns Markdown; nothing here reads a clock or a file, so the card
is a pure function of the data it describes. `render_card` (card.py) puts the sections together.
Every ```python block of a card published to the Hub is run as written, alone, against the Hub it
is on (tests/dataset_script/test_card_snippets.py): a block imports what it uses, reads only
through what honours HF_ENDPOINT (`datasets`, `huggingface_hub`, `HfFileSystem`), and names only
codes and configs that exist (`Coverage.example_code`, the `configs` passed in). The lines of
`adjustment()` after ADJUSTING must stay runnable on any pandas DataFrame named `prices`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from dataset_script.card_facts import Coverage
from dataset_script.schema import (
    CALENDAR_PATH,
    CHANGELOG,
    CHANGES_PATH,
    DAYS_PATH,
    FOLDER_VERSIONS,
    LAST_UPDATE_PATH,
    LEGACY_CSV,
    LEGACY_TAG,
    PRICE_SCHEMA,
    RUNS_PATH,
    STATE_PATH,
    STOCKS_PATH,
    published_schema,
)

LEGACY_COLUMNS = 33  # the first 33 columns of PRICE_SCHEMA are the old CSV's

# column → (source, unit / rule in English, 单位 / 规则); the order follows PRICE_SCHEMA.
COLUMN_DOCS = {
    "code": ("daily.ts_code", "Tushare code, e.g. `600000.SH`", "证券代码，如 `600000.SH`"),
    "date": (
        "daily.trade_date",
        "trading day (SSE calendar), midnight; datetime64 in pandas",
        "交易日（上交所日历），午夜时间；pandas 中为 datetime64",
    ),
    "open": ("daily", "CNY, unadjusted", "元，不复权"),
    "high": ("daily", "CNY, unadjusted", "元，不复权"),
    "low": ("daily", "CNY, unadjusted", "元，不复权"),
    "close": ("daily", "CNY, unadjusted", "元，不复权"),
    "prev_close": ("daily.pre_close", "CNY, ex-rights reference price", "元，除权后的昨收价"),
    "quote_rate": ("daily.pct_chg", "%, change vs prev_close", "%，相对昨收的涨跌幅"),
    "volume": ("daily.vol", "手 (lots of 100 shares)", "手（100 股）"),
    "turnover": ("daily.amount", "千元 (thousand CNY)", "千元"),
    "high_limit": (
        "stk_limit.up_limit",
        "CNY; null if unknown or before 2007-01-04",
        "元，涨停价；未知或 2007-01-04 之前为空",
    ),
    "low_limit": (
        "stk_limit.down_limit",
        "CNY; null if unknown or before 2007-01-04",
        "元，跌停价；未知或 2007-01-04 之前为空",
    ),
    "turnover_rate": ("daily_basic", "%", "%，换手率"),
    "turnover_rate_f": ("daily_basic", "%, of free float", "%，换手率（自由流通股）"),
    "volume_ratio": ("daily_basic", "ratio", "量比"),
    "pe": ("daily_basic", "ratio; null for loss-makers", "市盈率；亏损为空"),
    "pe_ttm": ("daily_basic", "ratio, TTM; null for loss-makers", "市盈率 TTM；亏损为空"),
    "pb": ("daily_basic", "ratio", "市净率"),
    "ps": ("daily_basic", "ratio", "市销率"),
    "ps_ttm": ("daily_basic", "ratio, TTM", "市销率 TTM"),
    "dv_ratio": ("daily_basic", "%", "%，股息率"),
    "dv_ttm": ("daily_basic", "%, TTM", "%，股息率 TTM"),
    "total_share": ("daily_basic", "万股 (10k shares)", "万股，总股本"),
    "float_share": ("daily_basic", "万股", "万股，流通股本"),
    "free_share": ("daily_basic", "万股", "万股，自由流通股本"),
    "total_mv": ("daily_basic", "万元 (10k CNY)", "万元，总市值"),
    "circ_mv": ("daily_basic", "万元", "万元，流通市值"),
    "name": (
        "namechange, else stock_basic",
        "short name in force on `date` (point in time)",
        "当日有效的证券简称（时点数据）",
    ),
    "area": ("stock_basic", "current value", "当前值"),
    "industry": ("stock_basic", "current value", "当前值"),
    "market": ("stock_basic", "主板 / 创业板 / 科创板 / 北交所 / CDR; 中小板 → 主板", "当前值；中小板归入主板"),
    "exchange": ("stock_basic", "SSE / SZSE / BSE", "交易所"),
    "list_date": (
        "stock_basic",
        "listing day, midnight; datetime64 in pandas",
        "上市日期，午夜时间；pandas 中为 datetime64",
    ),
    "adj_factor": (
        "adj_factor",
        "cumulative adjustment factor; carried forward when missing",
        "累计复权因子；缺失时沿用前值",
    ),
    "avg_price": (
        "derived",
        "CNY per share = turnover × 10 / volume; null when volume is 0",
        "元/股 = 成交额 × 10 / 成交量；成交量为 0 时为空",
    ),
    "is_st": ("derived", "`name` starts with ST, *ST, SST or S*ST", "当日简称以 ST、*ST、SST 或 S*ST 开头"),
    "is_paused": ("derived", "listed on `date` but no daily bar (suspended)", "当日已上市但无日线（停牌）"),
}


_TYPE_NAMES = {"double": "float64", "timestamp[ms]": "timestamp"}


def intro(coverage: Coverage) -> str:
    markets = ", ".join(coverage.markets)
    return f"""# A-share daily prices · A股日线行情

Daily prices of Chinese A-shares ({markets}): one row per stock and trading day, with valuation
fields, price limits and the adjustment factor. Delisted stocks and suspended days are included and
names are point in time, so the table has no survivorship or look-ahead bias. The data comes from the
[Tushare Pro](https://tushare.pro) API (`daily`, `daily_basic`, `stk_limit`, `adj_factor`,
`suspend_d`, `stock_basic`, `namechange`, `trade_cal`) and is kept fresh automatically every trading evening.

中国 A 股（{markets}）日线行情：每只股票每个交易日一行，含估值指标、涨跌停价和复权因子。
包含已退市股票和停牌日，证券简称为当日有效的简称，因此没有幸存者偏差和未来信息。数据来自
[Tushare Pro](https://tushare.pro) 接口（`daily`、`daily_basic`、`stk_limit`、`adj_factor`、
`suspend_d`、`stock_basic`、`namechange`、`trade_cal`），每个交易日晚间自动更新。
"""


def freshness(coverage: Coverage, repo_id: str) -> str:
    tag = f"{coverage.watermark:%Y%m%d}"
    return f"""## Freshness and coverage · 数据新鲜度与覆盖范围

| | |
| --- | --- |
| complete through (trading day) · 完整至交易日 | **{coverage.watermark.isoformat()}** (tag `{tag}`) |
| first trading day · 首个交易日 | {coverage.first_date.isoformat()} |
| trading days · 交易日数 | {coverage.trading_days:,} |
| partial days · 不完整交易日 | {coverage.partial_days:,} |
| rows · 行数 | {coverage.rows:,} |
| stocks with price rows · 有行情的股票数 | {coverage.codes:,} |
{_stocks_row(coverage)}| markets · 市场 | {", ".join(coverage.markets)} |
| schema version · 数据结构版本 | {coverage.schema_version} |
| content fingerprint · 内容指纹 | `{coverage.fingerprint}` |
{_last_run_rows(coverage)}
Every trading day from the first one through **{coverage.watermark.isoformat()}** is published, and
`{LAST_UPDATE_PATH}` holds that day as `YYYYMMDD`. A day is `complete` when every interface whose
history has started covers at least the completeness threshold (98% by default) of the stocks it
should cover. An older day that stays below it is published as `partial`: its missing values are null
(never 0). The status and the coverage of each interface for every day are in `{DAYS_PATH}`
(the `days` config); the newest days are only published once they are complete.

截至 **{coverage.watermark.isoformat()}** 的每个交易日均已发布，`{LAST_UPDATE_PATH}` 以 `YYYYMMDD`
记录该日。若某日每个已开始提供历史的接口覆盖率都达到阈值（默认 98%），该日为 `complete`（完整）；
较早且始终未达到阈值的交易日以 `partial`（不完整）发布，缺失值为空（不是 0）。每个交易日的状态和各接口
覆盖率见 `{DAYS_PATH}`（`days` 配置）；最新的交易日只有在完整后才会发布。

```python
from datasets import load_dataset

days = load_dataset("{repo_id}", "days", split="train").to_pandas()
print(days[days["status"] == "partial"])    # partial days and their coverage · 不完整交易日
```
"""


def _stocks_row(coverage: Coverage) -> str:
    if coverage.stocks is None:
        return ""
    return (
        f"| stocks in `stocks` (every stock ever seen, incl. delisted before the first day) · "
        f"`stocks` 表中的股票（含首个交易日前已退市的） | {coverage.stocks:,} |\n"
    )


def _last_run_rows(coverage: Coverage) -> str:
    run = coverage.last_run
    if run is None:
        return ""
    finished = run.finished_at
    finished = finished.replace(tzinfo=dt.UTC) if finished.tzinfo is None else finished
    counts = [
        f"{label} {value:,}"
        for label, value in (
            ("days added", run.days_added),
            ("rows added", run.rows_added),
            ("rows changed", run.rows_changed),
        )
        if value is not None
    ]
    facts = [
        f"{run.kind} ({run.trigger})",
        run.status,
        f"finished {finished.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC",
        *counts,
    ]
    return f"| last run · 最近一次更新 (`runs`) | {', '.join(facts)} |\n"


def loading(coverage: Coverage, repo_id: str, configs: Sequence[str] = ()) -> str:
    """How to load: `datasets`, then pandas, polars and DuckDB through `HfFileSystem`, which honours
    HF_ENDPOINT (a mirror); polars' and DuckDB's own `hf://` readers always call huggingface.co.
    `configs`: the other configs that load today (an empty table is not one yet)."""
    hf = f"hf://datasets/{repo_id}"
    tag = f"{coverage.watermark:%Y%m%d}"
    month = f"{coverage.watermark:%Y/%Y-%m}"
    code = coverage.example_code
    day = coverage.watermark
    others = ", ".join(f'"{name}"' for name in configs)
    return f"""## Loading · 加载

With 🤗 `datasets` (the default config is one table sorted by (`date`, `code`)) ·
使用 `datasets`（默认配置是按 (`date`, `code`) 排序的一张表）:

```python
from datasets import load_dataset

prices = load_dataset("{repo_id}", split="train")                 # all prices · 全部行情
# first load up to twice as fast: add writer_batch_size=100_000 (bigger batches into the local cache)
# 首次加载最多快一倍：加上 writer_batch_size=100_000（以更大批次写入本地缓存）
stocks = load_dataset("{repo_id}", "stocks", split="train")       # every stock ever listed · 全部股票
# other configs · 其他配置: {others}

# streaming: no full download · 流式读取，无需完整下载
stream = load_dataset("{repo_id}", split="train", streaming=True)
for row in stream.filter(lambda r: r["code"] == "{code}").take(5):
    print(row["date"], row["close"])

# pin a version: the tag is the trading day it is complete through · 固定版本：标签为完整至的交易日
pinned = load_dataset("{repo_id}", split="train", revision="{tag}")
```

Through a mirror (`HF_ENDPOINT`), `datasets` still sends a download-count request to s3.amazonaws.com
(its failure is ignored); set `HF_UPDATE_DOWNLOAD_COUNTS=0` to stop it · 通过镜像（`HF_ENDPOINT`）使用时，
`datasets` 仍会向 s3.amazonaws.com 发送下载计数请求（失败会被忽略）；设置 `HF_UPDATE_DOWNLOAD_COUNTS=0` 可关闭。

With pandas, polars or DuckDB (one shard per month under `data/YYYY/`). These recipes read through
`huggingface_hub`'s `HfFileSystem`, so they also work through a mirror (`HF_ENDPOINT`, e.g. in mainland
China); polars' and DuckDB's own `hf://` readers ignore `HF_ENDPOINT` (and polars reads a whole file
object, so it scans through pyarrow here). Add `@<tag>` after the repo name
to pin a version. `date` is a timestamp at midnight: pandas compares it with `"{day.isoformat()}"`, polars
with `pl.datetime({day.year}, {day.month}, {day.day})` (comparing with a string raises), DuckDB with
`DATE '{day.isoformat()}'` ·
使用 pandas、polars 或 DuckDB（每月一个分片，位于 `data/YYYY/`）。以下示例通过 `huggingface_hub` 的
`HfFileSystem` 读取，因此经镜像（`HF_ENDPOINT`，如中国大陆）也能使用；polars 和 DuckDB 自带的 `hf://`
读取器会忽略 `HF_ENDPOINT`。在仓库名后加 `@<标签>` 可固定版本。`date` 为午夜时间戳：pandas 可直接与
`"{day.isoformat()}"` 比较，polars 用 `pl.datetime({day.year}, {day.month}, {day.day})`（与字符串比较会报错），
DuckDB 用 `DATE '{day.isoformat()}'`:

```python
import pandas as pd

month = pd.read_parquet("{hf}/data/{month}.parquet")             # hf:// goes through HfFileSystem
one_day = month[month["date"] == "{day.isoformat()}"]
one_stock = pd.read_parquet(  # config by_code: one row group per stock per file, the others skipped
    "{hf}/by_code",
    columns=["date", "code", "close", "adj_factor"],
    filters=[("code", "==", "{code}")],
    storage_options={{"block_size": 64 * 1024}},  # small reads: about the stock's rows, not whole files
)
pinned = pd.read_parquet("{hf}@{tag}/data/{month}.parquet")
```

```python
import polars as pl
import pyarrow.dataset as ds
from huggingface_hub import HfFileSystem

fs = HfFileSystem(block_size=64 * 1024)  # honours HF_ENDPOINT; small reads fetch little beyond what a filter needs


def scan(pattern):  # polars through pyarrow, which reads only the row groups a filter needs
    files = sorted(fs.glob("datasets/{repo_id}/" + pattern))
    return pl.scan_pyarrow_dataset(ds.dataset(files, filesystem=fs, format="parquet"))


one_stock = (
    scan("by_code/**/*.parquet")  # config by_code: one row group per stock per file, the others skipped
    .filter(pl.col("code") == "{code}")
    .select("date", "close", "adj_factor")
    .collect()
    .sort("date")
)
one_day = scan("data/*/*.parquet").filter(pl.col("date") == pl.datetime({day.year}, {day.month}, {day.day})).collect()
```

```python
import duckdb
from huggingface_hub import HfFileSystem

duckdb.register_filesystem(HfFileSystem(block_size=64 * 1024))  # hf:// through HfFileSystem (honours HF_ENDPOINT)
one_stock = duckdb.sql(\"\"\"
    SELECT date, close, adj_factor
    FROM read_parquet('{hf}/by_code/**/*.parquet')
    WHERE code = '{code}'
    ORDER BY date
\"\"\").df()
one_day = duckdb.sql(\"\"\"
    SELECT * FROM read_parquet('{hf}/data/{month}.parquet')
    WHERE date = DATE '{day.isoformat()}'
\"\"\").df()
```
"""


def files(empty_tables: Collection[str] = ()) -> str:
    rows = [
        (
            "default",
            "data/YYYY/YYYY-MM.parquet",
            "prices, one shard per calendar month, rows sorted by (`date`, `code`)",
            "行情，每个自然月一个分片，按 (`date`, `code`) 排序",
        ),
        (
            "by_code",
            "by_code/YYYY.parquet, by_code/YYYY/YYYY-MM.parquet",
            "the same prices for one-stock reads: one file per closed year and per month of the current year, "
            "rows sorted by (`code`, `date`), each stock in one row group per file",
            "同样的行情，便于读取单只股票：已结束的年份每年一个文件、当年每月一个文件，按 (`code`, `date`) 排序，"
            "每个文件中每只股票只在一个行组内",
        ),
        (
            "stocks",
            STOCKS_PATH,
            "every stock ever seen: listed, delisted, paused listing",
            "出现过的全部股票：上市、退市、暂停上市",
        ),
        ("calendar", CALENDAR_PATH, "SSE trading calendar", "上交所交易日历"),
        (
            "days",
            DAYS_PATH,
            "one row per trading day: status and coverage per interface",
            "每个交易日一行：状态和各接口覆盖率",
        ),
        ("runs", RUNS_PATH, "run history: one row per publishing run", "更新记录：每次发布一行"),
        (
            "changes",
            CHANGES_PATH,
            "restatement log: published values a later run changed",
            "修订记录：已发布数值的后续更正",
        ),
        ("", LAST_UPDATE_PATH, "`YYYYMMDD` of the newest complete trading day", "最新完整交易日 `YYYYMMDD`"),
        (
            "",
            STATE_PATH,
            "written by the sync: watermark, per-shard checksums, last run",
            "同步程序的状态：水位、分片校验和、最近一次更新",
        ),
    ]
    table = "\n".join(f"| {_config_cell(name, empty_tables)} | `{path}` | {en} · {zh} |" for name, path, en, zh in rows)
    note = _EMPTY_NOTE if empty_tables else ""
    return f"""## Configs and files · 配置与文件

| config | path | content · 内容 |
| --- | --- | --- |
{table}
{note}"""


_EMPTY_NOTE = """
\\* No rows yet, so not a config yet: the file is published, and the config appears in this card with
the publish that gives the table its first row (for `changes`: the first correction of a published
value); `datasets` cannot load a table without rows. Read the file with pandas meanwhile ·
暂无数据，因此暂不是配置：文件已发布，表中有第一行数据的那次发布（`changes`：第一次更正已发布的数值）
会把它加入本卡片的配置；`datasets` 无法加载没有数据的表。在此之前可用 pandas 读取该文件。
"""


def _config_cell(name: str, empty_tables: Collection[str]) -> str:
    if not name:
        return ""
    return f"`{name}`\\*" if name in empty_tables else f"`{name}`"


def columns() -> str:
    lines = []
    for i, field in enumerate(published_schema(PRICE_SCHEMA)):
        source, en, zh = COLUMN_DOCS[field.name]
        legacy = "✓" if i < LEGACY_COLUMNS else "new"
        kind = _TYPE_NAMES.get(str(field.type), field.type)
        lines.append(f"| `{field.name}` | {kind} | {en} | {zh} | {source} | {legacy} |")
    table = "\n".join(lines)
    return f"""## Columns · 字段

Prices are in CNY and unadjusted; see below for adjusted prices. The last column says whether the
column was in the old `{LEGACY_CSV}` (same name, position and unit).
价格单位为元、不复权（复权方法见下文）。最后一列表示该字段是否存在于旧版 `{LEGACY_CSV}`（名称、位置和单位不变）。

| column | type | unit / rule | 单位 / 规则 | source · 来源 | in CSV |
| --- | --- | --- | --- | --- | --- |
{table}
"""


def rows() -> str:
    return """## Rows and rules · 行与规则

- **One row per (`code`, `date`)** for every SSE trading day and every stock of the markets above that
  is listed on that day (`list_date <= date`, and `date < delist_date` once delisted). Delisted stocks
  keep all their history (no survivorship bias).
- **Suspended days** (`is_paused = true`): the stock is listed but has no daily bar. `open`, `high`,
  `low`, `close` and `prev_close` equal the last close before `date`; `volume`, `turnover` and
  `quote_rate` are 0; `avg_price` is null; price limits and `daily_basic` fields are as Tushare gives
  them for that day, else null; `adj_factor` is carried forward. A stock that has not traded yet has no
  suspended rows.
- **Point-in-time names**: `name` is the short name in force on `date` (from `namechange`), and `is_st`
  follows it. `area`, `industry`, `market`, `exchange` and `list_date` are current values.
- **Markets**: `中小板` (merged into the Shenzhen main board in 2021) is reported as `主板`; an empty or
  unknown label is derived from the code prefix and the exchange.
- **Nulls before an interface's history starts**: `high_limit` / `low_limit` (`stk_limit`) are null
  before 2007-01-04; `daily_basic` fields are null where Tushare has no value (for example gaps in
  2005–2006, or `pe` of a loss-maker). A missing value is null, never 0.

- **每个 (`code`, `date`) 一行**：每个上交所交易日、所列市场中当日已上市的每只股票
  （`list_date <= date`；已退市股票还需 `date < delist_date`）各一行。已退市股票保留全部历史（无幸存者偏差）。
- **停牌日**（`is_paused = true`）：股票已上市但当日无日线。`open`、`high`、`low`、`close`、`prev_close`
  等于该日之前最后一个收盘价；`volume`、`turnover`、`quote_rate` 为 0；`avg_price` 为空；涨跌停价和
  `daily_basic` 字段取 Tushare 当日数据，没有则为空；`adj_factor` 沿用前值。尚未开始交易的股票没有停牌行。
- **时点简称**：`name` 为当日有效的简称（来自 `namechange`），`is_st` 据此判断。`area`、`industry`、
  `market`、`exchange`、`list_date` 为当前值。
- **市场**：`中小板`（2021 年并入深市主板）记为 `主板`；为空或未知时按代码前缀和交易所推断。
- **接口历史开始前为空**：`high_limit` / `low_limit`（`stk_limit`）在 2007-01-04 之前为空；`daily_basic`
  字段在 Tushare 无数据时为空（如 2005–2006 年的缺口、亏损股的 `pe`）。缺失值为空，而不是 0。
"""


def meta_tables() -> str:
    return f"""## Meta tables · 元数据表

- `stocks` (`{STOCKS_PATH}`): `code`, `symbol`, `name` (current), `area`, `industry`, `market`
  (normalised as above), `exchange`, `list_status` (`L` listed, `D` delisted, `P` paused listing),
  `list_date`, `delist_date` · 全部股票，`list_status`：L 上市、D 退市、P 暂停上市。
- `calendar` (`{CALENDAR_PATH}`): `date`, `is_open`, `prev_trade_date` · 上交所交易日历。
- `days` (`{DAYS_PATH}`): `date`, `status` (`complete` / `partial`), `rows`, `paused` (suspended rows),
  `coverage_daily`, `coverage_daily_basic`, `coverage_stk_limit`, `coverage_adj_factor` (fraction 0–1;
  null before the interface's history starts), `index_missing` (index codes without a bar that day,
  after their first; it never changes the status) · 每个交易日的状态、行数、停牌行数和各接口覆盖率（0–1；
  接口历史开始前为空），以及当日缺少日线的指数代码。
- `runs` (`{RUNS_PATH}`): `run_id`, `trigger` (`schedule` / `button` / `cli` / `catch-up` / `resume`), `kind`
  (`full` / `delta`), `started_at`, `finished_at` (UTC), `status`, `days_added`, `rows_added`,
  `rows_changed`, `api_calls` (JSON text: calls per interface), `commit` (the parent commit the run
  was planned on: a commit cannot name itself, so the run's own commit is the one after it, for a
  tagging run the tag's), `message`, `watermark_before`, `watermark_after` (the newest complete day
  before and after the run), `tag` (the date tag the run's commit created, else null), `files_changed`
  (the paths the commit added, changed or deleted). Runs recorded before the last four columns existed
  have them null. One row per publishing run; a failed run (`status` `failed`) or one cut off by a
  restart (`interrupted`, then rerun with trigger `resume`) is recorded by the next publishing run ·
  每次发布一行；`commit` 为父提交；`tag` 为本次创建的标签；`files_changed` 为改动的文件；失败或被重启中断的更新由下一次发布记录。
- `changes` (`{CHANGES_PATH}`): `code`, `date`, `column`, `old_value`, `new_value` (float64: the old and
  new number of a number column, null when absent), `old_text`, `new_text` (the values of any other
  column as text: names, dates as `YYYY-MM-DD`, `True`/`False`; column `(row)` with `present` for a
  whole row added or removed), `run_id`. One row per published value that a later re-fetch changed (for
  example a restated `adj_factor`) · 已发布数值被后续重新获取更正时，每个 (code, date, column) 记录一行；
  数值列的新旧值为 float64（`old_value`、`new_value`），其他列为文本（`old_text`、`new_text`）。
"""


ADJUSTING = "# adjusted prices · 复权价格"  # the line after which the adjustment snippet needs only `prices`


def adjustment(coverage: Coverage, repo_id: str) -> str:
    return f"""## Adjusted prices · 复权价格

`adj_factor` is cumulative. Back-adjusted (后复权, hfq) price = price × `adj_factor`; forward-adjusted
(前复权, qfq) price = price × `adj_factor` / the latest `adj_factor` of that code. hfq prices stay
put as new days are added; qfq prices are relative to the newest day you loaded, so they move after
each dividend or split. The lines after `{ADJUSTING}` work on any pandas DataFrame `prices` from the
examples above, in date order:

`adj_factor` 为累计复权因子。后复权价 = 价格 × `adj_factor`；前复权价 = 价格 × `adj_factor` / 该股票最新的
`adj_factor`。后复权价不随新交易日的加入而变化；前复权价以所加载数据中最新的交易日为基准，每次分红送转后都会变化。
`{ADJUSTING}` 之后的代码适用于上文任一示例得到的按日期排序的 pandas DataFrame `prices`：

```python
import pandas as pd

prices = pd.read_parquet(
    "hf://datasets/{repo_id}/data",
    columns=["date", "code", "open", "high", "low", "close", "adj_factor"],
    filters=[("code", "==", "{coverage.example_code}")],
)
{ADJUSTING}
latest = prices.groupby("code")["adj_factor"].transform("last")  # latest factor of each code · 最新复权因子
for column in ["open", "high", "low", "close"]:
    prices[f"hfq_{{column}}"] = prices[column] * prices["adj_factor"]           # 后复权
    prices[f"qfq_{{column}}"] = prices[column] * prices["adj_factor"] / latest  # 前复权
```
"""


def versions(coverage: Coverage, repo_id: str, folder: str | None = None) -> str:
    """Tags; `folder`: the name of the local folder this card is published to (None: the Hub), whose
    card then shows how to load a tagged version from the folder's store."""
    tag = f"{coverage.watermark:%Y%m%d}"
    hub = f"""## Versions and tags · 版本与标签

Every publish is one commit. The first commit complete through a trading day is tagged with that
day (`YYYYMMDD`), and a tag never moves: tag `{tag}` means "complete through
{coverage.watermark.isoformat()}, nothing later", and gives the same bytes forever. A later commit with the
same newest day (a late correction from Tushare re-published) gets no date tag; its changes are logged in
`changes`. Pin a version with `load_dataset("{repo_id}", revision="{tag}")`, or
`hf://datasets/{repo_id}@{tag}/...`.

每次发布是一个提交。第一个完整至某交易日的提交以该日（`YYYYMMDD`）打标签，标签永不移动：标签 `{tag}`
表示“完整至 {coverage.watermark.isoformat()}，不含之后的数据”，其内容永远不变。之后同一最新交易日的提交
（Tushare 的后续更正）不再打日期标签，其更正记录在 `changes` 中。

A copy published to a local folder `<name>` keeps the newest {FOLDER_VERSIONS} versions beside it in
`.<name>.sync/versions/<version id>`, and `.<name>.sync/tags.json` maps each tag whose version is still
kept to its version id · 发布到本地文件夹 `<name>` 时，最新的 {FOLDER_VERSIONS} 个版本保存在旁边的
`.<name>.sync/versions/<版本号>`，`.<name>.sync/tags.json` 记录仍保存的版本的标签（标签 → 版本号）。
"""
    if folder is None:
        return hub
    return (
        hub
        + f"""
This copy is the folder `{folder}`; from the folder that holds it · 本副本即文件夹 `{folder}`，在其所在目录下运行:

```python
import json
from datasets import load_dataset

tags = json.load(open(".{folder}.sync/tags.json"))                # tag → version id · 标签 → 版本号
pinned = load_dataset(f".{folder}.sync/versions/{{tags['{tag}']}}", split="train")
```
"""
    )


def changes_since(coverage: Coverage, repo_id: str) -> str:
    """The tested recipe for "what changed since tag X": new rows and corrected cells."""
    tag = f"{coverage.watermark:%Y%m%d}"
    return f"""## What changed since a tag · 某个标签之后的变化

Each row of `runs` names the tag its commit created (`tag`, or null), the watermark before and after
(`watermark_before`, `watermark_after`) and the files it added, changed or deleted (`files_changed`);
`commit` is the parent commit the run was planned on (a commit cannot name itself). Since tag `X`, the
**new rows** are the (`code`, `date`) on main that are not at `X`, and the **corrected cells** are the
`changes` rows of the runs after `X` (the runs on main that are not in `runs` at `X`) ·
`runs` 的每一行记录本次提交创建的标签（`tag`，无则为空）、更新前后的水位（`watermark_before`、
`watermark_after`）以及新增、修改或删除的文件（`files_changed`）；`commit` 为本次更新所基于的父提交。
自标签 `X` 以来，**新增行**是 main 上有而 `X` 中没有的 (`code`, `date`)，**更正的数值**是 `X` 之后各次
更新（main 的 `runs` 中有而 `X` 中没有的）在 `changes` 中的行:

```python
import pandas as pd
from huggingface_hub import HfApi, HfFileSystem

repo, tag = "{repo_id}", "{tag}"  # the version you have · 你已有的版本
refs = HfApi().list_repo_refs(repo, repo_type="dataset")
then = next(ref.target_commit for ref in refs.tags if ref.name == tag)
now = next(ref.target_commit for ref in refs.branches if ref.name == "main")
fs = HfFileSystem()


def read(path, revision, columns=None):
    url = f"datasets/{{repo}}@{{revision}}/{{path}}"
    return pd.read_parquet(fs.open(url), columns=columns) if fs.exists(url) else None


runs_then, runs_now = read("meta/runs.parquet", then), read("meta/runs.parquet", now)
later = runs_now[~runs_now["run_id"].isin(runs_then["run_id"])]
touched = later.loc[later["status"] == "success", "files_changed"]
if touched.isna().any():  # a run from before files_changed was recorded: look at every shard
    touched = [[p.split("/", 3)[3] for p in fs.glob(f"datasets/{{repo}}@{{now}}/data/*/*.parquet")]]
shards = sorted({{p for paths in touched for p in paths if p.startswith("data/")}})

new_rows = []
for path in shards:
    rows = read(path, now)
    if rows is None:  # a shard deleted since
        continue
    old = read(path, then, columns=["code", "date"])
    if old is not None:
        rows = rows.merge(old, on=["code", "date"], how="left", indicator=True)
        rows = rows[rows["_merge"] == "left_only"].drop(columns="_merge")
    new_rows.append(rows)
new_rows = pd.concat(new_rows, ignore_index=True) if new_rows else pd.DataFrame(columns=["code", "date"])

changes = read("meta/changes.parquet", now)
corrections = changes[changes["run_id"].isin(later["run_id"])]  # old_value/new_value: numbers
print(len(new_rows), "new rows;", len(corrections), "corrected cells since", tag)
```
"""


def changelog(schema_version: int) -> str:
    entries = [f"- **{version}**: {en}\n  {zh}" for version, en, zh in reversed(CHANGELOG) if version <= schema_version]
    body = "\n".join(entries)
    return f"""## Schema version and changelog · 数据结构版本与变更记录

Schema version · 数据结构版本: **{schema_version}** (also in `{STATE_PATH}`, key `schema_version`).

{body}
"""


def migration(repo_id: str) -> str:
    return f"""## Migrating from `{LEGACY_CSV}` · 从 `{LEGACY_CSV}` 迁移

- The old file stays downloadable at tag `{LEGACY_TAG}`, the last commit of the old layout:
  `hf_hub_download("{repo_id}", "{LEGACY_CSV}", repo_type="dataset", revision="{LEGACY_TAG}")`, or
  `load_dataset("{repo_id}", data_files="{LEGACY_CSV}", revision="{LEGACY_TAG}")`.
- The first {LEGACY_COLUMNS} columns keep the names, order and units of the old CSV (prices in CNY
  unadjusted, `volume` in 手, `turnover` in 千元, shares in 万股, market values in 万元);
  `adj_factor`, `avg_price`, `is_st` and `is_paused` are appended after them.
- The single CSV is replaced by monthly Parquet shards `data/YYYY/YYYY-MM.parquet`, sorted by
  (`date`, `code`), with exactly one row per (`code`, `date`): no duplicates, no unsorted appends.
  `load_dataset("{repo_id}")` or `pd.read_parquet("hf://datasets/{repo_id}/data")` gives the whole table.
- Delisted stocks and suspended days are included (filter `is_paused` to drop suspended rows), and
  `name` is the name in force on `date`, not today's.
- `{LAST_UPDATE_PATH}` is kept and still holds `YYYYMMDD`; it now moves only when every trading day up to
  it is published, in the same commit as the data.
- `calendar.csv`, where the repo had it, stays in its old format (`cal_date`, one `YYYY-MM-DD` line per
  SSE trading day from 2005 through 31 December of the current year) and is regenerated on every publish.

Type changes against the CSV (a CSV has only text; these are the types a reader infers from it) ·
与 CSV 相比的类型变化（CSV 只有文本，以下为读取时推断的类型）:

- `date`, `list_date`: timestamps at midnight, datetime64 in pandas, as `load_dataset` inferred from
  the CSV's ISO dates (it gave timestamp[s], now timestamp[ms]: same values); `pandas.read_csv` gave text
  unless called with `parse_dates`. `df[df.date >= "2024-03-01"]`, `df[df.date == "2024-01-02"]`,
  `df.date.dt.year` and `df.set_index("date").loc["2024-03"]` work.
- `open` … `circ_mv`, `adj_factor`, `avg_price`: always float64; a CSV reader could infer int64 for a
  column that held only whole numbers (e.g. `volume`, `total_share`). Missing values are null (NaN).
- `code`, `name`, `area`, `industry`, `market`, `exchange`: text, as before (`code` keeps its suffix,
  e.g. `600000.SH`; it is never read as a number).
- `is_st`, `is_paused`: new bool columns.

- 旧文件仍可在标签 `{LEGACY_TAG}`（旧格式的最后一个提交）下载：`revision="{LEGACY_TAG}"`。
- 前 {LEGACY_COLUMNS} 列的列名、顺序和单位与旧 CSV 完全相同（价格为元、不复权，`volume` 为手，`turnover`
  为千元，股本为万股，市值为万元）；其后新增 `adj_factor`、`avg_price`、`is_st`、`is_paused`。
- 单个 CSV 改为按月分片的 Parquet 文件 `data/YYYY/YYYY-MM.parquet`，按 (`date`, `code`) 排序，
  每个 (`code`, `date`) 恰好一行：没有重复，也没有乱序追加。
- 包含已退市股票和停牌日（按 `is_paused` 过滤可去掉停牌行）；`name` 为当日有效的简称，而非今天的简称。
- 保留 `{LAST_UPDATE_PATH}`，仍为 `YYYYMMDD`；只有在该日及之前的每个交易日都已发布时才会更新，并与数据在同一次提交中更新。
- 原有的 `calendar.csv` 保持旧格式（`cal_date`，2005 年起至当年 12 月 31 日的每个上交所交易日一行），每次发布时重新生成。
- 类型：`date`、`list_date` 为午夜时间戳（pandas 中为 datetime64，可与 "2024-03-01" 比较、使用 `.dt` 和
  `.loc["2024-03"]`）；数值列一律为 float64（CSV 读取时可能推断为 int64）；文本列不变；`is_st`、`is_paused` 为新增布尔列。
"""


def licence() -> str:
    return """## Licence and source · 许可与来源

The data is retrieved from [Tushare Pro](https://tushare.pro) and redistributed for research and
education. It is not under an open licence: use of the data is subject to Tushare Pro's terms, and
commercial users should obtain the data from Tushare or the exchanges directly. No warranty: verify
before trading.

数据取自 [Tushare Pro](https://tushare.pro)，用于研究和教学。本数据不适用开放许可，使用须遵守 Tushare Pro
的条款；商业用途请直接从 Tushare 或交易所获取数据。不提供任何担保，交易前请自行核实。
"""
