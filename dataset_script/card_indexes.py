"""The dataset card's section on index universes (`index_prices`, `index_weights`), Chinese and English.

Shown only when SYNC_INDEXES names indexes and their tables have rows; it carries the
point-in-time rule and a runnable recipe (the CSI 300 universe on a past day, joined to that day's
prices), which tests/e2e/test_indexes.py runs against the test Hub.
"""

from __future__ import annotations

from dataset_script.card_facts import Coverage
from dataset_script.schema import INDEX_PRICES_PATH, INDEX_WEIGHTS_GLOB

CONFIGS = {"index_prices": INDEX_PRICES_PATH, "index_weights": INDEX_WEIGHTS_GLOB}


def section(coverage: Coverage, repo_id: str) -> str:
    """The index section, or "" when there are no index rows."""
    prices, weights = coverage.index_rows
    if not (prices or weights) or not coverage.indexes:
        return ""
    hf = f"hf://datasets/{repo_id}"
    listed = ", ".join(f"`{code}` {name}" for code, name in coverage.indexes)
    markets = "、".join(coverage.markets)
    return f"""## Index universes · 指数成分与行情

Indexes · 指数: {listed}. `index_prices` has {prices:,} rows, `index_weights` {weights:,}
(index data {coverage.index_fingerprint}) · `index_prices` 共 {prices:,} 行，`index_weights` 共 {weights:,} 行。

- `index_prices` (`{INDEX_PRICES_PATH}`): one row per (index, trading day) from Tushare `index_daily`,
  sorted by (`date`, `code`): `code`, `date`, `name` (from `index_basic`), `open`, `high`, `low`,
  `close`, `prev_close` (index points · 点), `quote_rate` (%), `volume` (手, lots of 100 shares),
  `turnover` (千元, thousand CNY). A day without an index's bar (a hole in the source) is listed in
  `days.index_missing` and never changes the day's status · 指数日线；缺失的日期列在
  `days.index_missing` 中，不影响当日状态。
- `index_weights` (`{INDEX_WEIGHTS_GLOB}`, one file per year): the constituents of each snapshot from
  Tushare `index_weight`, sorted by (`date`, `index_code`, `code`): `index_code`, `date` (the snapshot
  date), `code` (the member stock), `weight` (% of the index; each snapshot sums to about 100) ·
  指数成分及权重快照，`date` 为快照日期，`weight` 为权重（%）。
- Snapshots were daily until 2011-09, then monthly, and twice a month from 2016, with gaps. CSI 300's
  snapshots before 2020-03-31 come from its other code `399300.SZ` and are published under
  `000300.SH` · 快照在 2011-09 前为每日，之后每月，2016 年起每月两次，且有缺口；沪深300 在 2020-03-31
  之前的快照取自 `399300.SZ`，以 `000300.SH` 发布。

**Point in time, as dated · 按快照日期的时点成分**: the members of index I on day D are the rows of I's
latest snapshot dated on or before D; before I's first snapshot there are none. Snapshots arrive
late (weeks after their date), and rebalances between two snapshots are not seen, so this is the
universe as dated, not as it was known on D · 指数 I 在 D 日的成分为日期不晚于 D 的最近一次快照的各行；
首个快照之前没有成分。快照常晚数周才发布，两次快照之间的调整看不到，因此这是按日期而非按当时所知的成分。

The CSI 300 universe on a past day, joined to that day's prices. The index holds ChiNext (创业板)
and STAR (科创板) stocks too; this price table covers {markets}, so members on other boards have no
price row (`uncovered`) · 某一历史日期的沪深300成分，并与当日行情关联；沪深300 也含创业板和科创板股票，
本价格表覆盖 {markets}，其余板块的成分没有行情（`uncovered`）:

```python
import pandas as pd

day = pd.Timestamp("{coverage.watermark:%Y-%m-%d}")  # any trading day · 任一交易日
weights = pd.read_parquet(
    "{hf}/index/weights", filters=[("index_code", "==", "000300.SH"), ("date", "<=", day)]
)
members = weights[weights["date"] == weights["date"].max()]  # latest snapshot on or before the day
prices = pd.read_parquet("{hf}/data/" + day.strftime("%Y/%Y-%m") + ".parquet")
universe = members[["code", "weight"]].merge(prices[prices["date"] == day], on="code", how="left")
uncovered = universe.loc[universe["close"].isna(), "code"].tolist()  # members outside the price table
```
"""
