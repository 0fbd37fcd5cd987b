"""The dataset card (README.md): YAML `configs:` that give the date-sorted unified view, plus docs.

`datasets` 4+ no longer runs loading scripts, so the card's configs are what make
`load_dataset("ellendan/a-share-prices")` return one table: the default config globs the monthly
shards, whose names sort chronologically and whose rows are sorted by (date, code).
The card depends only on the data it describes (no run timestamps), so re-publishing the same
data yields the same bytes and no commit; and it changes whenever any row changes (the content
fingerprint), which is what invalidates `datasets`' cache of a local folder, keyed by its card.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import yaml

from dataset_script.schema import CALENDAR_PATH, DATA_GLOB, DAYS_PATH, REPO_ID, STOCKS_PATH

# column → (unit or rule, source); the order follows PRICE_SCHEMA.
COLUMN_DOCS = {
    "code": ("Tushare code, e.g. `600000.SH`", "daily.ts_code"),
    "date": ("trading day", "daily.trade_date"),
    "open": ("CNY, unadjusted", "daily"),
    "high": ("CNY, unadjusted", "daily"),
    "low": ("CNY, unadjusted", "daily"),
    "close": ("CNY, unadjusted", "daily"),
    "prev_close": ("CNY, ex-rights reference price", "daily.pre_close"),
    "quote_rate": ("%, change vs prev_close", "daily.pct_chg"),
    "volume": ("手 (lots of 100 shares)", "daily.vol"),
    "turnover": ("千元 (thousand CNY)", "daily.amount"),
    "high_limit": ("CNY, null if unknown", "stk_limit.up_limit"),
    "low_limit": ("CNY, null if unknown", "stk_limit.down_limit"),
    "turnover_rate": ("%", "daily_basic"),
    "turnover_rate_f": ("%, of free float", "daily_basic"),
    "volume_ratio": ("ratio", "daily_basic"),
    "pe": ("ratio, null for loss-makers", "daily_basic"),
    "pe_ttm": ("ratio, null for loss-makers", "daily_basic"),
    "pb": ("ratio", "daily_basic"),
    "ps": ("ratio", "daily_basic"),
    "ps_ttm": ("ratio", "daily_basic"),
    "dv_ratio": ("%", "daily_basic"),
    "dv_ttm": ("%", "daily_basic"),
    "total_share": ("万股 (10k shares)", "daily_basic"),
    "float_share": ("万股", "daily_basic"),
    "free_share": ("万股", "daily_basic"),
    "total_mv": ("万元 (10k CNY)", "daily_basic"),
    "circ_mv": ("万元", "daily_basic"),
    "name": ("short name in force on `date` (point in time)", "namechange, else stock_basic"),
    "area": ("current value", "stock_basic"),
    "industry": ("current value", "stock_basic"),
    "market": ("主板 / 创业板 / 科创板 / 北交所 / CDR", "stock_basic"),
    "exchange": ("SSE / SZSE / BSE", "stock_basic"),
    "list_date": ("listing day", "stock_basic"),
    "adj_factor": ("cumulative; hfq = price × adj_factor; qfq = price × adj_factor / latest adj_factor", "adj_factor"),
    "avg_price": ("CNY per share = turnover × 10 / volume; null when volume is 0", "derived"),
    "is_st": ("name starts with ST, *ST, SST or S*ST", "derived"),
    "is_paused": ("listed but no daily bar: prices = last close, volume 0", "derived"),
}


@dataclasses.dataclass(frozen=True)
class Coverage:
    first_date: dt.date
    watermark: dt.date
    rows: int
    codes: int
    trading_days: int
    markets: tuple[str, ...]
    fingerprint: str  # digest of every shard's sha256: changes whenever any row changes
    data_bytes: int   # total size of the shards
    partial_days: int = 0  # published days below the completeness threshold (see meta/days.parquet)


def card_configs() -> list[dict]:
    """YAML `configs:`; the default config never mixes the meta tables in."""
    def single(name: str, path: str, default: bool = False) -> dict:
        config = {"config_name": name, "data_files": [{"split": "train", "path": path}]}
        return {**config, "default": True} if default else config

    return [
        single("default", DATA_GLOB, default=True),
        single("stocks", STOCKS_PATH),
        single("calendar", CALENDAR_PATH),
        single("days", DAYS_PATH),
    ]


def render_card(coverage: Coverage, repo_id: str = REPO_ID) -> str:
    """README.md text for the dataset repo."""
    header = {
        "pretty_name": "A-share daily prices",
        "language": ["zh", "en"],
        "tags": ["finance", "stocks", "china", "a-shares", "time-series"],
        "task_categories": ["time-series-forecasting"],
        "size_categories": [_size_category(coverage.rows)],
        "configs": card_configs(),
        # Exact facts about the default config. `datasets` keys its cache of a local folder on
        # these (not on file times), so they must change when the data does; num_examples is
        # verified on load, and this card is rewritten in the same commit as the shards.
        "dataset_info": [{
            "config_name": "default",
            "download_size": coverage.data_bytes,
            "splits": [{"name": "train", "num_examples": coverage.rows}],
        }],
    }
    front = yaml.safe_dump(header, allow_unicode=True, sort_keys=False)
    columns = "\n".join(f"| `{name}` | {unit} | {source} |" for name, (unit, source) in COLUMN_DOCS.items())
    return f"""---
{front}---

# A-share daily prices

Daily prices of Chinese A-shares ({", ".join(coverage.markets)}), one row per stock and trading day,
including delisted stocks and suspended days, with point-in-time names. Kept fresh automatically
from the Tushare Pro API every trading evening.

## Coverage and freshness

| | |
| --- | --- |
| first trading day | {coverage.first_date.isoformat()} |
| newest complete trading day | {coverage.watermark.isoformat()} |
| trading days | {coverage.trading_days:,} |
| partial days (see `meta/days.parquet`) | {coverage.partial_days:,} |
| rows | {coverage.rows:,} |
| stocks | {coverage.codes:,} |
| content fingerprint | `{coverage.fingerprint}` |

Each publish is one commit, tagged with its newest complete trading day (`{coverage.watermark:%Y%m%d}`), so
you can pin a version with `revision=`. `.last_update_date` holds the same day as `YYYYMMDD`.

## Usage

```python
from datasets import load_dataset

prices = load_dataset("{repo_id}", split="train")          # sorted by (date, code)
stocks = load_dataset("{repo_id}", "stocks", split="train")  # every stock ever seen
calendar = load_dataset("{repo_id}", "calendar", split="train")
```

Forward-adjusted (qfq) close: `close * adj_factor / adj_factor of the code's latest row`;
back-adjusted (hfq): `close * adj_factor`.

## Layout

- `data/YYYY/YYYY-MM.parquet`: one shard per month, rows sorted by (`date`, `code`), one row per (`code`, `date`).
- `meta/stocks.parquet`: listed, delisted and paused-listing stocks.
- `meta/calendar.parquet`: SSE trading calendar.
- `meta/days.parquet`: one row per trading day: status (`complete` / `partial`), rows, paused rows, and the
  coverage of each interface (null before its history starts, e.g. `stk_limit` before 2007-01-04).
- `.sync/state.json`: watermark and per-shard checksums written by the sync.

## Columns

| column | unit / rule | source |
| --- | --- | --- |
{columns}

Rows: for every SSE trading day and every selected stock listed on that day, a row. Without a
daily bar the row has `is_paused = true`, prices equal to the last close, and zero volume.
"""


def _size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")):
        if rows < limit:
            return label
    return "100M<n<1B"
