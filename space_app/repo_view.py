"""What the dashboard reads from the published repo, cached per head so a timer tick costs little.

Explore reads one stock from config `by_code`: per file that overlaps the range, its footer and the
one row group holding the stock, by ranged reads (`space_app.by_code_reader`). On a Hub target
what it read is kept on disk by the file's sha256 in `.sync/state.json` and the code
(`SliceCache`), so a new head re-reads only the files it changed (after a one-day delta, the
recent month). A repo published before `by_code` existed is read from the monthly shards, kept by
their sha256 (`ShardCache`); a local folder is read in place.

Reading the head is one `readlink` on a folder and one API call on the Hub, so it is done at most
every `ttl` seconds; everything else is re-read only when the head moved. A caller (a page, an
uptime monitor on /healthz) waits at most `wait_s` for a read: while the Hub is slow or failing
and retrying, it gets the facts already known and the read goes on in the background. Tables from the
history work (`meta/days.parquet`, `meta/runs.parquet`) are optional: without them the view
says "unknown" instead of failing.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import io
import logging
import threading
import time

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import dataset_script.schema as schema
from space_app import explore
from space_app.by_code_reader import fetcher, read_code
from space_app.shard_cache import ShardCache, SliceCache
from sync.engine.retry import is_passing
from sync.publish.head import Head
from sync.publish.verify import status_at
from sync.targets import DatasetRepo

log = logging.getLogger(__name__)
DAYS_PATH, RUNS_PATH = schema.DAYS_PATH, schema.RUNS_PATH
PRICE_CACHE = 32  # (code, range) results kept for the Explore tab
PRICE_COLUMNS = ["code", *explore.TABLE_COLUMNS]  # what Explore shows or computes with; a shard has ~40


@dataclasses.dataclass(frozen=True)
class Facts:
    """The published repo at one head."""

    head: str | None = None
    published: bool = False
    watermark: dt.date | None = None
    first_date: dt.date | None = None
    rows: int | None = None
    markets: tuple[str, ...] = ()
    open_days: tuple[dt.date, ...] = ()
    days: pd.DataFrame | None = None  # meta/days.parquet, when published by this version
    runs: pd.DataFrame | None = None  # meta/runs.parquet, likewise
    stocks: pd.DataFrame | None = None  # code, name, market, list_status
    shards: tuple[str, ...] = ()
    shard_sha: dict = dataclasses.field(default_factory=dict)  # shard path -> sha256, from the state
    by_code: dict = dataclasses.field(default_factory=dict)  # by_code path -> (sha256, bytes), from the state
    error: str | None = None  # why the repo could not be read
    error_passing: bool = False  # ... and it may pass by itself (a Hub outage): worth reading again soon
    index_prices: pd.DataFrame | None = None  # index/prices.parquet (dates as datetime.date), when published

    @property
    def partial_days(self) -> int | None:
        if self.days is None or "status" not in self.days:
            return None
        return int((self.days["status"] == "partial").sum())


WAIT_S = 2.0  # the longest a non-forced `get` waits for a read


class RepoView:
    def __init__(
        self,
        repo: DatasetRepo,
        ttl: float,
        cache: ShardCache | None = None,
        slices: SliceCache | None = None,
        wait_s: float = WAIT_S,
    ):
        """`cache`, `slices`: where Hub shards and by_code slices are kept (default: `ShardCache()` and
        `SliceCache()` for a Hub repo, none for a folder)."""
        self.repo, self.ttl, self.wait_s = repo, ttl, wait_s
        self.reader: threading.Thread | None = None  # a background read that a caller stopped waiting for
        self.cache = cache if cache is not None else (explore_cache() if _is_remote(repo) else None)
        self.slices = slices if slices is not None else (SliceCache() if _is_remote(repo) else None)
        self.guard = threading.Lock()  # the reader thread and the price cache
        self.reading = threading.Lock()  # one read of the repo at a time
        self.facts = Facts()
        self.checked = float("-inf")
        self.read_once = False  # a read (or a failed read) has finished
        self.prices_cache: collections.OrderedDict[tuple, pd.DataFrame] = collections.OrderedDict()

    def get(self, force: bool = False) -> Facts:
        """The facts, re-read when the head moved; a read error is kept in `Facts.error`, not raised.

        `force`: read now and wait for it (the scheduler). Otherwise wait at most `wait_s`, then
        answer with the facts already known while the read finishes in the background."""
        if force:
            return self._refresh(force=True)
        if time.monotonic() - self.checked < self.ttl or self.reading.locked():
            return self.facts  # fresh, or being read (perhaps through a Hub outage): what is known
        with self.guard:  # one background reader at a time
            reader = self.reader
            if reader is None or not reader.is_alive():
                reader = self.reader = threading.Thread(target=self._refresh, name="repo-view-read", daemon=True)
                reader.start()
        reader.join(self.wait_s)
        return self.facts

    def _refresh(self, force: bool = False) -> Facts:
        with self.reading:
            if not force and time.monotonic() - self.checked < self.ttl:
                return self.facts
            try:
                head = self.repo.head()
                if force or head != self.facts.head or self.facts.error:
                    self.facts = self._read(head)
            except Exception as error:  # shown on the dashboard; the next tick tries again
                log.warning("could not read the published repo: %s", error)
                passing = is_passing(error)
                self.facts = dataclasses.replace(
                    self.facts, error=str(error) or type(error).__name__, error_passing=passing
                )
            self.checked = time.monotonic()
            self.read_once = True
            return self.facts

    def held(self) -> Facts | None:
        """The facts as last read, without reading anything (None before the first read): what a
        stranger's request may be answered from at no cost. Never waits for a read in progress."""
        return self.facts if self.read_once else None

    def _read(self, head: str | None) -> Facts:
        if head is None:
            return Facts()
        published = Head.at(self.repo, head)
        status = status_at(published, dt.datetime.now(dt.UTC))  # the clock only feeds its lag, unused here
        if not status.get("published"):
            return Facts(head=head)
        calendar = _frame(published, schema.CALENDAR_PATH)
        open_days = (
            ()
            if calendar is None
            else tuple(d.date() for d in pd.to_datetime(calendar.loc[calendar["is_open"], "date"]).sort_values())
        )
        stocks = _frame(published, schema.STOCKS_PATH)
        shard_sha = {path: info.sha256 for path, info in published.state.shards.items()} if published.state else {}
        if self.cache is not None and shard_sha:
            self.cache.prune(set(shard_sha.values()))  # months a newer commit replaced
        by_code = {p: (i.sha256, i.bytes) for p, i in published.state.by_code.items()} if published.state else {}
        if self.slices is not None and by_code:
            self.slices.prune({sha for sha, _ in by_code.values()})  # files a newer commit replaced
        return Facts(
            head=head,
            published=True,
            watermark=dt.date.fromisoformat(status["watermark"]),
            first_date=dt.date.fromisoformat(status["first_date"]),
            rows=status.get("rows"),
            markets=tuple(status.get("markets") or ()),
            open_days=open_days,
            days=_frame(published, DAYS_PATH),
            runs=_frame(published, RUNS_PATH),
            stocks=None if stocks is None else stocks[["code", "name", "market", "list_status"]],
            shards=tuple(item["path"] for item in status.get("shard_files", [])),
            shard_sha=shard_sha,
            index_prices=_frame(published, schema.INDEX_PRICES_PATH),
            by_code=by_code,
        )

    def prices(self, facts: Facts, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Rows of `code` in [start, end] from the monthly shards, plus its newest adj_factor in `.attrs`."""
        key = (facts.head, code, start, end)
        with self.guard:
            if key in self.prices_cache:
                self.prices_cache.move_to_end(key)
                return self.prices_cache[key]
        if facts.by_code:
            frame = self._rows_by_code(facts, [p for p in sorted(facts.by_code) if _overlaps(p, start, end)], code)
        else:
            frame = self._rows(facts, [p for p in facts.shards if _shard_overlaps(p, start, end)], code)
        frame = frame[(frame["date"] >= start) & (frame["date"] <= end)].reset_index(drop=True)
        frame.attrs["latest_adj_factor"] = self._latest_factor(facts, code, frame)
        with self.guard:
            self.prices_cache[key] = frame
            while len(self.prices_cache) > PRICE_CACHE:
                self.prices_cache.popitem(last=False)
        return frame

    def _rows(self, facts: Facts, paths: list[str], code: str, columns: list[str] = PRICE_COLUMNS) -> pd.DataFrame:
        """The rows of `code` in the shards `paths`, with only `columns`, sorted by date."""
        tables = []
        if facts.head and paths:
            code_filter = ds.field("code") == code
            if self.cache is not None and all(p in facts.shard_sha for p in paths):
                local = self.cache.fetch(self.repo, facts.head, {p: facts.shard_sha[p] for p in paths})
                if local:
                    dataset = ds.dataset([str(local[p]) for p in paths if p in local], format="parquet")
                    tables.append(dataset.to_table(columns=_present(columns, dataset.schema), filter=code_filter))
            else:
                for path in paths:
                    data = self.repo.read(path, facts.head)
                    if data:
                        file = pq.ParquetFile(io.BytesIO(data))
                        table = file.read(columns=_present(columns, file.schema_arrow))
                        tables.append(ds.dataset(table).to_table(filter=code_filter))
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return pd.DataFrame(columns=columns)
        table = schema.from_published(pa.concat_tables(tables, promote_options="default"))  # dates as days
        return table.to_pandas().sort_values("date", ignore_index=True)

    def _rows_by_code(self, facts: Facts, paths: list[str], code: str) -> pd.DataFrame:
        """The rows of `code` in the by_code files `paths`, with Explore's columns, sorted by date."""
        if not facts.head or not paths:
            return pd.DataFrame(columns=PRICE_COLUMNS)
        head = facts.head
        if self.slices is not None:
            local = self.slices.fetch(
                {p: facts.by_code[p] for p in paths}, code, PRICE_COLUMNS, lambda p: fetcher(self.repo, head, p)
            )
            tables = [pq.read_table(local[p]) for p in paths]
        else:
            tables = [
                read_code(fetcher(self.repo, head, p), facts.by_code[p][1], code, PRICE_COLUMNS)[0] for p in paths
            ]
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return pd.DataFrame(columns=PRICE_COLUMNS)
        table = schema.from_published(pa.concat_tables(tables, promote_options="default"))
        return table.to_pandas().sort_values("date", ignore_index=True)

    def _latest_factor(self, facts: Facts, code: str, loaded: pd.DataFrame) -> float | None:
        """The code's newest adj_factor in the whole dataset (qfq divides by it), searching back from the newest file."""
        if facts.by_code:
            newest = loaded["date"].iloc[-1] if len(loaded) else dt.date.min
            for path in sorted(facts.by_code, key=_last_month, reverse=True):
                if _last_month(path) <= (newest.year, newest.month):
                    break  # nothing newer than what is loaded
                factors = self._rows_by_code(facts, [path], code)["adj_factor"].dropna()
                if len(factors):
                    return float(factors.iloc[-1])
            factors = loaded["adj_factor"].dropna() if len(loaded) else []
            return float(factors.iloc[-1]) if len(factors) else None
        for path in reversed(facts.shards):
            if len(loaded) and path <= schema.shard_path(loaded["date"].iloc[-1]):
                break  # nothing newer than what is loaded
            factors = self._rows(facts, [path], code, ["code", "date", "adj_factor"])["adj_factor"].dropna()
            if len(factors):
                return float(factors.iloc[-1])
        factors = loaded["adj_factor"].dropna() if len(loaded) else []
        return float(factors.iloc[-1]) if len(factors) else None


STOCK_ROW_GROUP = 8192  # rows: ~400 stocks' month; a one-stock read decodes one group per month


def by_stock(data: bytes) -> bytes:
    """A published shard re-laid for one-stock reads, as the shard cache keeps it: Explore's columns
    only, sorted by (code, date) in row groups of `STOCK_ROW_GROUP` rows. A filter on `code` then
    skips every row group but one by its statistics, instead of decoding the whole month (a
    published shard is sorted by date first, so one stock's rows are spread over all of it)."""
    file = pq.ParquetFile(io.BytesIO(data))
    table = file.read(columns=_present(PRICE_COLUMNS, file.schema_arrow)).sort_by(
        [("code", "ascending"), ("date", "ascending")]
    )
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=STOCK_ROW_GROUP, compression="zstd")
    return out.getvalue()


def explore_cache(folder=None) -> ShardCache:
    """The shard cache as Explore keeps it: by sha256, re-laid `by_stock`."""
    return ShardCache(folder, prepare=by_stock)


def _present(columns: list[str], schema_: pa.Schema) -> list[str]:
    return [c for c in columns if c in schema_.names]


def _is_remote(repo: DatasetRepo) -> bool:
    from sync.targets.hub import HubRepo

    return isinstance(repo, HubRepo)


def _frame(head: Head, path: str) -> pd.DataFrame | None:
    table = head.table(path)
    return None if table is None else table.to_pandas()


def _last_month(path: str) -> tuple[int, int]:
    span = schema.by_code_months(path)
    return span[1] if span else (0, 0)


def _overlaps(path: str, start: dt.date, end: dt.date) -> bool:
    """A by_code file holds a month in [start, end]."""
    span = schema.by_code_months(path)
    return span is not None and span[0] <= (end.year, end.month) and span[1] >= (start.year, start.month)


def _shard_overlaps(path: str, start: dt.date, end: dt.date) -> bool:
    month = schema.shard_month(path)
    if month is None:
        return False
    first = dt.date(month[0], month[1], 1)
    return first <= end and (first.year, first.month) >= (start.year, start.month)
