"""Test helpers shared by the end-to-end tests: a market served over HTTP, the clock, published rows."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator

import pandas as pd
import pyarrow as pa

from dataset_script.schema import shard_month
from sync.core.clock import SHANGHAI
from sync.fetch.source import Source
from sync.simulated import SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.tushare.client import TushareClient

TOKEN = "e2e-test-token"


def at(day: dt.date, hour: int = 20, minute: int = 0) -> dt.datetime:
    """`day` at `hour`:`minute` in Asia/Shanghai (20:00: after every interface has published)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


@contextlib.contextmanager
def served(
    market: SyntheticMarket,
    now: dt.datetime,
    sleep: Callable[[float], None] | None = None,
    monotonic: Callable[[], float] | None = None,
    **knobs,
) -> Iterator[tuple[TushareServer, Source]]:
    """Our Tushare server over `market` with its clock at `now`, and a Source talking to it (no quota;
    the client's waits go to `sleep`, by default skipped, and it measures time by `monotonic`)."""
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: now, **knobs) as server:
        with TushareClient(
            TOKEN,
            server.url,
            rate_per_min=1_000_000,
            rate_overrides={},
            sleep=sleep or (lambda s: None),
            clock=monotonic,
        ) as client:
            yield server, Source(client, "test market", market.spec.start)


def rows_of(repo) -> pd.DataFrame:
    """Every published price row at the repo's head, in shard order."""
    head = repo.head()
    shards = sorted(p for p in repo.list_files(head) if shard_month(p))
    return pa.concat_tables([from_parquet(repo.read(p, head)) for p in shards]).to_pandas()


def table_of(repo, path: str) -> pd.DataFrame:
    return from_parquet(repo.read(path, repo.head())).to_pandas()
