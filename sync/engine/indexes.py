"""The index tables in a run: check SYNC_INDEXES, plan and fetch beside the stocks, lay onto the head.

    indexes = IndexRun.prepare(source, settings, head, days, fresh, rebuild_from=None)  # config errors here
    indexes.start()                                       # fetches in a thread, each interface at its own quota
    tables, changes = indexes.tables(head, published_days, run_id)   # in the publish's build(head)

A delta re-fetches each code's bars from its newest bar (and the newest `SYNC_SETTLE_DAYS`
trading days, so a fresh day's missing bar is asked again) and its snapshots from the newest
published one minus 60 days (snapshots arrive late and dated in the past). A code the head does
not publish yet, or a full sync's range, is fetched from the start. A token without the points for
the index interfaces skips them: the head's index files stay, and the run says why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import threading
from collections.abc import Sequence

import pandas as pd

from dataset_script.schema import INDEX_PREFIX, INDEX_PRICES_PATH, INDEX_PRICES_SCHEMA, INDEX_WEIGHTS_SCHEMA
from sync.core.config import Settings
from sync.fetch import indexes as fetching
from sync.fetch.source import Source
from sync.publish.head import Head
from sync.tables import indexes as index_tables
from sync.tushare.errors import TusharePermissionError

log = logging.getLogger(__name__)

WEIGHTS_LOOKBACK = dt.timedelta(days=60)


@dataclasses.dataclass
class IndexRun:
    source: Source
    codes: tuple[str, ...]
    infos: dict[str, fetching.IndexInfo]
    work: dict[str, tuple[dt.date, dt.date, dt.date]]  # code: (bars from, snapshots from, through)
    days: list[dt.date]
    skipped: str | None = None
    planned: dict[str, int] = dataclasses.field(default_factory=dict)
    _thread: threading.Thread | None = None
    _result: fetching.Fetched | BaseException | None = None

    @classmethod
    def prepare(
        cls,
        source: Source,
        settings: Settings,
        head: Head | None,
        days: Sequence[dt.date],
        fresh: set[dt.date],
        rebuild_from: dt.date | None = None,
    ) -> IndexRun:
        """Check the configured codes (index_basic) and plan the fetch over trading `days` (first ..
        newest). `rebuild_from`: a full sync, which fetches every code from there."""
        codes, days = tuple(settings.indexes), list(days)
        run = cls(source, codes, {}, {}, days)
        if not codes or not days:
            return run
        try:
            run.infos = fetching.resolve(source, codes)
        except TusharePermissionError as error:
            run.skipped = (
                f"indexes skipped: this Tushare token lacks the points for {error.api_name or 'the index interfaces'} "
                "(index_basic, index_daily and index_weight need 2,000 points); the stock table was published"
            )
            log.warning(run.skipped)
            return run
        prices, weights = published(head)
        newest = days[-1]
        recent = [d for d in days if d in fresh] or days[-1:]
        for code in codes:
            bars = prices[prices["code"] == code]["date"] if len(prices) else pd.Series(dtype=object)
            snaps = weights[weights["index_code"] == code]["date"] if len(weights) else pd.Series(dtype=object)
            bars_from = weights_from = rebuild_from or days[0]
            if rebuild_from is None and len(bars):
                bars_from = min(bars.max() + dt.timedelta(days=1), recent[0])
            if rebuild_from is None and len(snaps):
                weights_from = snaps.max() - WEIGHTS_LOOKBACK
            run.work[code] = (max(bars_from, days[0]), max(weights_from, days[0]), newest)
        run.planned = fetching.estimate_calls(
            codes,
            {c: [d for d in days if w[0] <= d] for c, w in run.work.items()},
            {c: [d for d in days if w[1] <= d] for c, w in run.work.items()},
            source.client.row_caps,
        )
        log.info(run.describe(source.rate_per_min))
        return run

    def describe(self, rate_per_min: int | None) -> str:
        """The index part of the printed plan."""
        if self.skipped or not self.planned:
            return self.skipped or "no indexes configured (SYNC_INDEXES is empty)"
        calls = ", ".join(f"{api} {n:,}" for api, n in self.planned.items())
        pace = ""
        if rate_per_min:
            minutes = math.ceil(max(self.planned.values()) / rate_per_min)
            pace = f"; ~{minutes} min at {rate_per_min}/min, on their own quotas beside the stock interfaces"
        return (
            f"planned index fetch for {len(self.codes)} index(es): {calls} API calls "
            f"(index_weight in windows under its {self.source.client.row_caps['index_weight']:,}-row cut; "
            f"a window that hits it is split and counted when it happens){pace}"
        )

    def start(self) -> None:
        """Fetch in a background thread (the stock interfaces are fetched meanwhile)."""
        if not self.work or self._thread is not None:
            return

        def work() -> None:
            try:
                self._result = fetching.fetch(self.source, self.work, self.days)
            except BaseException as error:  # handed to the publishing thread
                self._result = error

        self._thread = threading.Thread(target=work, name="index-fetch", daemon=True)
        self._thread.start()

    def _fetched(self) -> fetching.Fetched | None:
        if self._thread is None:
            return None
        self._thread.join()
        if isinstance(self._result, TusharePermissionError):
            self.skipped = f"indexes skipped: this Tushare token lacks the points for {self._result.api_name}"
            return None
        if isinstance(self._result, BaseException):
            raise self._result
        return self._result

    def tables(self, head: Head, days: Sequence[dt.date], run_id: str) -> tuple[index_tables.IndexTables, pd.DataFrame]:
        """The index tables to publish on `head` (published trading `days`) and meta/changes rows
        for late snapshots."""
        fetched = self._fetched()
        old_prices, old_weights = published(head)
        if fetched is None:  # skipped, or nothing configured
            codes = self.codes if not self.skipped else tuple(sorted(set(self.codes) | set(old_prices["code"])))
            if not self.skipped:
                old_prices, old_weights = old_prices.iloc[0:0], old_weights.iloc[0:0]
            prices = old_prices[old_prices["date"].isin(set(days))]
            tables = index_tables.to_tables(prices, old_weights)
            return index_tables.IndexTables(*tables, codes=codes, note=self.skipped or ""), late_none()
        names = {code: info.name for code, info in self.infos.items()}
        refetched = {code: (w[0], w[2]) for code, w in self.work.items()}
        new_prices = index_tables.price_rows(fetched.daily, names)
        prices = index_tables.merge_prices(old_prices, new_prices, self.codes, refetched, days)
        new_weights = index_tables.weight_rows(fetched.weights)
        weights = index_tables.merge_weights(old_weights, new_weights, self.codes)
        if days:  # snapshots dated after the newest published day wait for it (asked again next delta)
            weights = weights[weights["date"] <= max(days)]
        watermark = head.state.watermark if head.state else None
        late = index_tables.late_snapshots(old_weights, new_weights, watermark)
        notes = []
        odd = index_tables.odd_sums(new_weights)
        if odd:
            notes.append(f"index snapshots whose weights do not sum to 100 ± 0.5, published as given: {', '.join(odd)}")
        if late:
            notes.append("late index snapshots: " + ", ".join(f"{c} {d.isoformat()}" for c, d, _ in late))
        if fetched.splits:
            notes.append(f"{fetched.splits} index_weight window(s) hit the row cut and were fetched again in halves")
        tables = index_tables.to_tables(prices, weights)
        note = "; ".join(notes)
        return index_tables.IndexTables(*tables, codes=self.codes, note=note), index_tables.late_changes(late, run_id)


def late_none() -> pd.DataFrame:
    return index_tables.late_changes([], "")


def published(head: Head | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The head's index_prices and index_weights rows (empty frames when there are none)."""
    prices = pd.DataFrame({n: pd.Series(dtype=object) for n in INDEX_PRICES_SCHEMA.names})
    weights = pd.DataFrame({n: pd.Series(dtype=object) for n in INDEX_WEIGHTS_SCHEMA.names})
    if head is None or head.commit is None:
        return prices, weights
    table = head.table(INDEX_PRICES_PATH)
    if table is not None:
        prices = table.to_pandas()
    parts = [head.table(p) for p in sorted(head.files) if p.startswith(f"{INDEX_PREFIX}weights/")]
    frames = [t.to_pandas() for t in parts if t is not None]
    if frames:
        weights = pd.concat(frames, ignore_index=True)
    return prices, weights
