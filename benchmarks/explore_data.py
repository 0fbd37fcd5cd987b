"""The Explore benchmark's dataset: the full synthetic market over 20 years, built once and kept.

Building it is a real `python -m sync full --markets all` against our Tushare-compatible server
(no quota, so the run is bound by CPU: ~15-25 min on 2 shared cores), published to a local
folder under /tmp that later runs reuse. The folder stops one trading day before the market's
last day, so the benchmark can add that day with a real delta.

    python -m benchmarks.explore_data            # build (or reuse) and print the folder
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.market import LoggingServer, run_sync, sync_env
from dataset_script.schema import SCHEMA_VERSION
from sync.simulated import MarketSpec, SyntheticMarket

log = logging.getLogger("benchmarks")
STOCKS, START, END = 5500, dt.date(2005, 1, 4), dt.date(2024, 12, 31)
CACHE = Path(tempfile.gettempdir()) / "a-share-explore"
NO_QUOTA = 1_000_000


def market(stocks: int = STOCKS, start: dt.date = START, end: dt.date = END) -> SyntheticMarket:
    return SyntheticMarket(MarketSpec(start, end, n_stocks=stocks))


def folder_for(stocks: int, start: dt.date, end: dt.date) -> Path:
    """Keyed by size and the dataset's schema version: a newer sync refuses an older layout."""
    return CACHE / f"{stocks}-{start:%Y%m%d}-{end:%Y%m%d}-schema{SCHEMA_VERSION}" / "dataset"


def built(stocks: int = STOCKS, start: dt.date = START, end: dt.date = END) -> tuple[Path, bool]:
    """(the dataset folder through the day before `end`'s last trading day, whether it was reused)."""
    folder = folder_for(stocks, start, end)
    if (folder / ".sync" / "state.json").exists():
        return folder, True
    sim = market(stocks, start, end)
    days = sim.trade_dates()
    partial = folder.with_name("building")
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(partial, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix="a-share-explore-build-"))
    try:
        with LoggingServer(sim) as server:
            env = sync_env(server.url, scratch / "hf-home", NO_QUOTA, now=f"{days[-2].isoformat()}T22:00")
            log.info("building the Explore dataset: %s stocks, %s .. %s (one-time, minutes)", stocks, days[0], days[-2])
            run_sync(
                [
                    "full",
                    "--markets",
                    "all",
                    "--start",
                    f"{days[0]:%Y%m%d}",
                    "--end",
                    f"{days[-2]:%Y%m%d}",
                    "--repo",
                    str(partial),
                ],
                env,
                scratch,
            )
        partial.replace(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder, False


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    path, reused = built()
    print(path, "(reused)" if reused else "(built)")
