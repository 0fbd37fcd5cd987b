"""The status of each fetched trading day: coverage per interface, complete or partial, or held back.

Pure; the rules are in docs/dataset.md#day-status. `daily` is measured against the stocks
expected to trade that day (listed, of the selected markets, not suspended); `daily_basic`,
`stk_limit` and `adj_factor` against the codes with a daily bar. An interface counts only from the first day of its history: before it,
its coverage is None and it does not affect the status. Every check groups by day once, so the
cost is linear in rows, never days × rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from sync.fetch.frames import DayFrames
from sync.fetch.listed_on_day import listed_pairs
from sync.tushare.apis import ROW_APIS, available

COMPLETE, PARTIAL = "complete", "partial"


@dataclasses.dataclass(frozen=True)
class DayCoverage:
    """One day's coverage per row interface: a fraction 0..1, or None before its history starts."""

    day: dt.date
    coverage: Mapping[str, float | None]
    has_bars: bool

    def shortfalls(self, threshold: float) -> list[str]:
        """What keeps the day from being complete, e.g. ['daily_basic covers 96% ...']."""
        if not self.has_bars:
            return ["daily has no rows"]
        short = []
        for api, value in self.coverage.items():
            if value is not None and value < threshold:
                base = "the stocks expected to trade" if api == "daily" else "the codes with a daily bar"
                short.append(f"{api} covers {_pct(value)} of {base}, below {_pct(threshold)}")
        return short

    def complete(self, threshold: float) -> bool:
        return not self.shortfalls(threshold)


@dataclasses.dataclass(frozen=True)
class Verdicts:
    """The outcome of judging fetched days in order: which to publish and where the run stops."""

    published: list[tuple[DayCoverage, str]]  # (coverage, COMPLETE or PARTIAL), in day order
    held_back: tuple[dt.date, str] | None  # the first fresh day not complete, and why
    leading_empty: list[dt.date]  # days before the source's data begins (no bars yet)


class NoBarsError(ValueError):
    """A settled trading day has no daily rows at all: a hole the run cannot publish over."""


def day_coverage(days: Sequence[dt.date], frames: DayFrames, stocks: pd.DataFrame) -> list[DayCoverage]:
    """Coverage of each of `days` from `frames` (several days at once) for the selected `stocks`."""
    selected = set(stocks["code"])
    bars = _pairs(frames.daily)
    bars = bars[bars["code"].isin(selected)]
    expected = listed_pairs(days, stocks)
    suspended = _pairs(frames.suspend_d[frames.suspend_d["suspend_type"].fillna("S") == "S"])
    expected = _anti_join(expected, suspended)
    daily = _share(expected, bars, days)
    others = {api: _share(bars, _pairs(getattr(frames, api)), days) for api in ROW_APIS if api != "daily"}
    with_bars = set(bars["date"].dt.date)
    result = []
    for day in days:
        coverage: dict[str, float | None] = {"daily": daily.get(day, 1.0 if day in with_bars else 0.0)}
        for api in ROW_APIS[1:]:
            coverage[api] = others[api].get(day, 0.0) if available(api, day) else None
        result.append(DayCoverage(day, coverage, day in with_bars))
    return result


def judge(
    coverages: Sequence[DayCoverage], threshold: float, fresh: set[dt.date], *, allow_leading_empty: bool
) -> Verdicts:
    """Walk the days in order: publish complete days, and settled days as partial; stop before the
    first fresh day that is not complete. A settled day without any daily row raises NoBarsError,
    except (with `allow_leading_empty`) days before the source's first bar, which are skipped."""
    published: list[tuple[DayCoverage, str]] = []
    leading: list[dt.date] = []
    for cov in coverages:
        short = cov.shortfalls(threshold)
        if not short:
            published.append((cov, COMPLETE))
        elif cov.day in fresh:
            return Verdicts(published, (cov.day, "; ".join(short)), leading)
        elif not cov.has_bars:
            if allow_leading_empty and not published:
                leading.append(cov.day)
                continue
            raise NoBarsError(
                f"{cov.day.isoformat()} is a trading day with no daily rows at all in the source; "
                "nothing was published. Check the Tushare status page, then run again"
            )
        else:
            published.append((cov, PARTIAL))
    return Verdicts(published, None, leading)


def fresh_days(trading_days: Sequence[dt.date], today: dt.date, settle_days: int) -> set[dt.date]:
    """The newest `settle_days` trading days up to `today`: their data may still be arriving."""
    return set([d for d in trading_days if d <= today][-settle_days:]) if settle_days else set()


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    pairs = frame[["ts_code", "trade_date"]].rename(columns={"ts_code": "code", "trade_date": "date"})
    return pairs.astype({"date": "datetime64[us]"}).drop_duplicates()


def _anti_join(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    merged = left.merge(right, on=["code", "date"], how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ["code", "date"]]


def _share(base: pd.DataFrame, covering: pd.DataFrame, days: Sequence[dt.date]) -> dict[dt.date, float]:
    """Per day, the share of `base` (code, date) pairs that `covering` has too."""
    if base.empty:
        return {}
    merged = base.merge(covering.assign(hit=True), on=["code", "date"], how="left")
    share = merged["hit"].notna().groupby(merged["date"]).mean()
    return {pd.Timestamp(day).date(): float(value) for day, value in zip(share.index, share)}


def _pct(value: float) -> str:
    return f"{value:.1%}" if 0.99 < value < 1 else f"{value:.0%}"
