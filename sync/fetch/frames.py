"""`DayFrames`: what the fetch stage hands to the tables stage, the per-day interfaces' typed frames."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from sync.tushare.apis import APIS, DAY_APIS
from sync.tushare.frames import typed_frame


@dataclasses.dataclass(frozen=True)
class DayFrames:
    """The per-day interfaces (`DAY_APIS`), for one or more trading days (any subset of codes).

    Built and read by interface name (`DayFrames.of({"daily": ..., ...})`, `frames.by_api()`).
    """

    daily: pd.DataFrame
    stk_limit: pd.DataFrame
    daily_basic: pd.DataFrame
    adj_factor: pd.DataFrame
    suspend_d: pd.DataFrame = dataclasses.field(default_factory=lambda: typed_frame(APIS["suspend_d"].requested, []))

    @classmethod
    def of(cls, frames: Mapping[str, pd.DataFrame]) -> DayFrames:
        return cls(**{api: frames[api] for api in DAY_APIS})

    def by_api(self) -> dict[str, pd.DataFrame]:
        return {api: getattr(self, api) for api in DAY_APIS}

    def on(self, days: Sequence[dt.date]) -> DayFrames:
        """The same frames restricted to `days`."""
        wanted = _days(days)
        return DayFrames.of({api: f[f["trade_date"].isin(wanted)] for api, f in self.by_api().items()})

    @staticmethod
    def concat(parts: Sequence[DayFrames]) -> DayFrames:
        return DayFrames.of({api: pd.concat([p.by_api()[api] for p in parts], ignore_index=True) for api in DAY_APIS})


def _days(days: Sequence[dt.date]) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days)), dtype="datetime64[us]")
