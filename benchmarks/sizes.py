"""How big each benchmark runs: `tiny` (the smoke test), `default` (≤ ~10 min on 2 cores), `full`."""

from __future__ import annotations

import dataclasses
import datetime as dt

D = dt.date


@dataclasses.dataclass(frozen=True)
class MarketSize:
    stocks: int  # stocks listed by 2025 (the synthetic universe's scale; the full market is ~5,500)
    start: dt.date
    end: dt.date

    def label(self) -> str:
        return f"{self.stocks:,} stocks, {self.start:%Y-%m} .. {self.end:%Y-%m}"


@dataclasses.dataclass(frozen=True)
class Sizes:
    name: str
    full: MarketSize  # benchmarks 1-3: the full sync, the deltas on it, consumer loads of it
    quota_per_min: int
    latency_s: float
    growth: tuple[MarketSize, MarketSize, MarketSize]


SIZES = {
    "tiny": Sizes(
        "tiny",
        MarketSize(400, D(2006, 12, 1), D(2007, 1, 19)),
        6000,
        0.02,
        (
            MarketSize(150, D(2006, 12, 1), D(2006, 12, 29)),
            MarketSize(300, D(2006, 12, 1), D(2007, 1, 31)),
            MarketSize(450, D(2006, 11, 1), D(2007, 2, 28)),
        ),
    ),
    # The real quota (200/min): at 6,000/min the full market's per-day replies (≈1,400-5,000 rows of JSON)
    # cost this 2-core machine more CPU than the quota allows, so the run would measure the CPU, not the pacing.
    "default": Sizes(
        "default",
        MarketSize(5500, D(2005, 1, 4), D(2007, 3, 30)),
        200,
        0.02,
        (
            MarketSize(1500, D(2005, 1, 4), D(2005, 3, 31)),
            MarketSize(3000, D(2005, 1, 4), D(2005, 6, 30)),
            MarketSize(5500, D(2005, 1, 4), D(2005, 12, 30)),
        ),
    ),
    # The fund era: from about 2022 a full-market day's stk_limit (stocks, funds, B shares) needs two pages.
    "realistic": Sizes(
        "realistic",
        MarketSize(5500, D(2023, 7, 3), D(2024, 6, 28)),
        200,
        0.02,
        (
            MarketSize(1500, D(2023, 7, 3), D(2023, 9, 29)),
            MarketSize(3000, D(2023, 7, 3), D(2023, 12, 29)),
            MarketSize(5500, D(2023, 7, 3), D(2024, 6, 28)),
        ),
    ),
    "full": Sizes(
        "full",
        MarketSize(5500, D(2005, 1, 4), D(2024, 12, 31)),
        200,
        0.02,
        (
            MarketSize(1500, D(2005, 1, 4), D(2009, 12, 31)),
            MarketSize(3000, D(2005, 1, 4), D(2014, 12, 31)),
            MarketSize(5500, D(2005, 1, 4), D(2019, 12, 31)),
        ),
    ),
}
