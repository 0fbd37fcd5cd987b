"""Answer one Tushare query from a wire table: filter, order like the real server, then page.

Time series are indexed once (rows sorted by trade_date, plus a by-ts_code permutation), so a
day's cross-section or one stock's twenty years comes back in milliseconds even from a
full-market table. Order on the wire: time series newest first then by ts_code; trade_cal by
cal_date descending; namechange newest first; stock_basic in no documented order, so a new one
on every listing (see Listings). After ordering comes the row cap and `offset`/`limit`:
items[offset : offset + min(limit, cap)].
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Mapping

import numpy as np

from sync.simulated.wire import Coded, WireTable

CALENDAR_EXCHANGES = ("SSE", "SZSE", "BSE", "CFFEX", "SHFE", "CZCE", "DCE", "INE", "GFEX")


class QueryError(ValueError):
    """A request the server refuses; `code` and `msg` go into the reply envelope."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def param(params: Mapping, name: str) -> str | None:
    """A parameter as text; null, missing and "" all mean absent."""
    value = params.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def page_bounds(params: Mapping, cap: int) -> tuple[int, int]:
    """(offset, count): `limit` may be an int, a numeric string, "", or null; never above the cap."""

    def number(name: str) -> int | None:
        text = param(params, name)
        try:
            return max(int(float(text)), 0) if text is not None else None
        except ValueError:
            return None

    limit = number("limit")
    return number("offset") or 0, cap if limit is None else min(limit, cap)


def _labels(text: str | None) -> list[str] | None:
    return None if text is None else [part.strip() for part in text.split(",") if part.strip()]


class SeriesIndex:
    """Row positions of a (trade_date, ts_code)-ordered table by day and by stock."""

    def __init__(self, table: WireTable) -> None:
        codes, days = table.columns["ts_code"], table.columns["trade_date"]
        assert isinstance(codes, Coded) and isinstance(days, Coded)
        self.code_labels, self.day_labels = codes.labels.astype(str), days.labels.astype(str)
        self.code, self.day = codes.codes, days.codes
        self.day_start = np.searchsorted(self.day, np.arange(len(self.day_labels) + 1), side="left")
        self.by_code = np.argsort(self.code, kind="stable")
        self.code_start = np.searchsorted(self.code[self.by_code], np.arange(len(self.code_labels) + 1), side="left")

    def day_range(self, first: str | None, last: str | None) -> tuple[int, int]:
        """Label indices [lo, hi) of days within [first, last] (None = open)."""
        lo = 0 if first is None else int(np.searchsorted(self.day_labels, first, side="left"))
        hi = len(self.day_labels) if last is None else int(np.searchsorted(self.day_labels, last, side="right"))
        return lo, max(lo, hi)

    def code_ids(self, codes: list[str]) -> list[int]:
        slots = np.searchsorted(self.code_labels, codes)
        return sorted({int(s) for s, c in zip(slots, codes) if s < len(self.code_labels) and self.code_labels[s] == c})

    def rows_of_codes(self, ids: list[int], lo: int, hi: int) -> np.ndarray:
        """Rows of these stocks on days [lo, hi), in wire order (newest first, then ts_code)."""
        parts = []
        for c in ids:
            block = self.by_code[self.code_start[c] : self.code_start[c + 1]]
            days = self.day[block]
            parts.append(block[np.searchsorted(days, lo, side="left") : np.searchsorted(days, hi, side="left")])
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return rows[np.lexsort((self.code[rows], -self.day[rows].astype(np.int64)))]

    def rows_of_days(self, lo: int, hi: int, need: int) -> tuple[np.ndarray, int]:
        """The first `need` rows in wire order of days [lo, hi), walking back from the newest day."""
        total = int(self.day_start[hi] - self.day_start[lo])
        sizes = np.diff(self.day_start[lo : hi + 1])[::-1]
        n_days = int(np.searchsorted(np.cumsum(sizes), need, side="left")) + 1
        days = range(hi - 1, max(hi - 1 - n_days, lo - 1), -1)
        parts = [np.arange(self.day_start[d], self.day_start[d + 1]) for d in days]
        return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)), total


def select_series(
    table: WireTable, index: SeriesIndex, params: Mapping, upto: str | None, need: int
) -> tuple[np.ndarray, int]:
    """Rows (wire order, at least the first `need`) and the total number that match."""
    trade_date = param(params, "trade_date")
    first = trade_date or param(params, "start_date")
    last = trade_date or param(params, "end_date")
    if upto is not None:
        last = upto if last is None else min(last, upto)
    lo, hi = index.day_range(first, last)
    codes = _labels(param(params, "ts_code"))
    kind = param(params, "suspend_type") if table.api == "suspend_d" else None
    if codes is not None:
        rows = index.rows_of_codes(index.code_ids(codes), lo, hi)
    elif kind is not None:
        rows = np.arange(index.day_start[lo], index.day_start[hi])
        rows = rows[np.lexsort((index.code[rows], -index.day[rows].astype(np.int64)))]
    else:
        return index.rows_of_days(lo, hi, need)
    if kind is not None:
        rows = rows[table.columns["suspend_type"].take(rows) == kind]
    return rows, len(rows)


def _matches(values: np.ndarray, wanted: list[str] | None) -> np.ndarray:
    return np.ones(len(values), dtype=bool) if wanted is None else np.isin(values.astype(str), wanted)


def select_stock_basic(table: WireTable, params: Mapping) -> np.ndarray:
    """stock_basic rows by ts_code; list_status defaults to L (comma lists accepted)."""
    mask = np.ones(table.n_rows, dtype=bool)
    for name in ("ts_code", "name", "market", "exchange", "is_hs"):
        mask &= _matches(table.columns[name].take(slice(None)), _labels(param(params, name)))
    mask &= _matches(table.columns["list_status"].take(slice(None)), _labels(param(params, "list_status") or "L"))
    return np.flatnonzero(mask)


class Listings:
    """The order of stock_basic rows: a new one on every listing, kept while it is paged.

    Real stock_basic has no documented order and two calls may differ (docs/tushare.md, listing order). Each
    first page (offset 0) starts a listing with the next number of a per-server counter, which
    seeds its permutation; later pages with the same token and filters reuse that listing's
    order, so offset paging within one listing returns every row once.
    """

    PAGING = ("offset", "limit", "ts_type_name")  # not part of what a listing is
    KEPT = 1024  # listings remembered (oldest forgotten first)

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._count = 0
        self._numbers: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def order(self, token: str, params: Mapping, offset: int, n_rows: int) -> np.ndarray:
        """A permutation of `n_rows` for this page of this listing."""
        filters = {k: param(params, k) for k in sorted(params) if k not in self.PAGING and param(params, k)}
        key = (token, json.dumps(filters, ensure_ascii=False))
        with self._lock:
            if offset == 0 or key not in self._numbers:
                self._count += 1
                self._numbers.pop(key, None)
                self._numbers[key] = self._count
                while len(self._numbers) > self.KEPT:
                    del self._numbers[next(iter(self._numbers))]
            number = self._numbers[key]
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=(number,))))
        return rng.permutation(n_rows)


def select_namechange(table: WireTable, params: Mapping) -> np.ndarray:
    """namechange rows; start_date/end_date filter the announcement date (ann_date)."""
    ann = table.columns["ann_date"].take(slice(None)).astype(str)
    mask = _matches(table.columns["ts_code"].take(slice(None)), _labels(param(params, "ts_code")))
    if param(params, "start_date"):
        mask &= ann >= param(params, "start_date")
    if param(params, "end_date"):
        mask &= ann <= param(params, "end_date")
    rows = np.flatnonzero(mask)
    start = table.columns["start_date"].take(rows).astype(np.int64)
    code = table.columns["ts_code"].take(rows).astype(str)
    return rows[np.lexsort((code, -start))]


def select_calendar(table: WireTable, params: Mapping) -> np.ndarray:
    """trade_cal rows, newest first; an exchange outside CALENDAR_EXCHANGES has no rows."""
    if (param(params, "exchange") or "SSE") not in CALENDAR_EXCHANGES:
        return np.zeros(0, dtype=np.int64)
    day = table.columns["cal_date"].take(slice(None)).astype(str)
    mask = np.ones(len(day), dtype=bool)
    if param(params, "start_date"):
        mask &= day >= param(params, "start_date")
    if param(params, "end_date"):
        mask &= day <= param(params, "end_date")
    if param(params, "is_open") is not None:
        mask &= table.columns["is_open"].take(slice(None)).astype(str) == param(params, "is_open")
    return np.flatnonzero(mask)[::-1]


@dataclasses.dataclass(frozen=True)
class Page:
    fields: list[str]
    items: list[list]
    has_more: bool
    count: int
