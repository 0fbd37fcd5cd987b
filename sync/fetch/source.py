"""The data source: a Tushare client bound to the real API or to the embedded synthetic market.

Also the fetch helpers that say which fields each interface must return. Calls to different
interfaces run concurrently; each interface is paced by the client's own per-interface quota, so
a run is bounded by its busiest interface rather than by the sum of all calls.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from dataset_script.state import TUSHARE, SourceIdentity
from sync.core.clock import ymd
from sync.core.config import OFFICIAL_URL, Settings
from sync.core.errors import ConfigError, SyncError
from sync.core.scrub import display_url
from sync.tushare.apis import APIS
from sync.tushare.client import TushareClient
from sync.tushare.frames import typed_frame

log = logging.getLogger(__name__)

EMBEDDED_TOKEN = "embedded-demo"


@dataclasses.dataclass
class Source:
    client: TushareClient
    description: str
    default_start: dt.date | None  # the embedded market's first day; None for the real API
    rate_per_min: int | None = None  # the quota each interface is paced at; None: no quota
    workers: int = 8
    identity: SourceIdentity = TUSHARE  # recorded in the state; a Tushare-compatible server counts as Tushare
    explicit: bool = False  # chosen with SYNC_SOURCE (the one opt-in for the synthetic market on the Hub)

    def query(self, api: str, **params) -> pd.DataFrame:
        return with_columns(self.client.query(api, fields=list(APIS[api].requested), **params), api)

    def query_many(self, calls: Sequence[tuple[str, Mapping]]) -> list[pd.DataFrame]:
        """Run (api, params) calls concurrently; results in call order."""
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(self.query, api, **params) for api, params in calls]
            return [f.result() for f in futures]

    def stocks(self) -> pd.DataFrame:
        """Every stock ever listed: stock_basic for list_status L, D and P."""
        calls = [("stock_basic", {"list_status": status}) for status in ("L", "D", "P")]
        return pd.concat(self.query_many(calls), ignore_index=True).drop_duplicates("ts_code", keep="first")

    def names(self) -> pd.DataFrame:
        return self.query("namechange")

    def calendar(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        return self.query("trade_cal", exchange="SSE", start_date=ymd(start), end_date=ymd(end))


@contextlib.contextmanager
def open_source(settings: Settings, today: dt.date) -> Iterator[Source]:
    """The configured source: Tushare with TUSHARE_TOKEN, else (or with SYNC_SOURCE=synthetic) the
    embedded synthetic market, served locally. Whether it may publish to a target is decided by
    `sync.engine.guards`, not here."""
    explicit = settings.sync_source is not None
    if settings.source_kind == "tushare":
        if not settings.tushare_token:
            raise SyncError(
                "SYNC_SOURCE=tushare but TUSHARE_TOKEN is not set (an empty value counts as unset); "
                "set TUSHARE_TOKEN to your Tushare Pro token; nothing was published"
            )
        client = TushareClient(settings.tushare_token, settings.tushare_api_url, rate_per_min=settings.rate_per_min)
        with client:
            yield Source(
                client,
                f"Tushare Pro at {display_url(settings.tushare_api_url)}",
                None,
                settings.rate_per_min,
                identity=TUSHARE,
                explicit=explicit,
            )
        return
    if settings.tushare_api_url != OFFICIAL_URL and not explicit:
        raise ConfigError(
            "TUSHARE_API_URL is set but TUSHARE_TOKEN is not (an empty value counts as unset): "
            "set TUSHARE_TOKEN to the token of that server"
        )
    from sync.simulated import demo_market
    from sync.simulated.server import TushareServer

    market = demo_market(today)
    with TushareServer(market, tokens=(EMBEDDED_TOKEN,)) as server:
        client = TushareClient(EMBEDDED_TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={})
        with client:
            description = (
                f"embedded synthetic market ({market.spec.n_stocks} stocks from "
                f"{market.spec.start.isoformat()}; set TUSHARE_TOKEN for real data)"
            )
            yield Source(
                client, description, market.spec.start, identity=synthetic_identity(market.spec), explicit=explicit
            )


def synthetic_identity(spec) -> SourceIdentity:  # spec: sync.simulated.MarketSpec
    """What makes a synthetic market's prices: its seed, size and first day (not its last day,
    which follows the clock), and its holes when it has any."""
    facts = {"seed": spec.seed, "stocks": spec.n_stocks, "start": spec.start.isoformat()}
    if spec.holes:
        facts["holes"] = len(spec.holes)
    return SourceIdentity("synthetic", facts)


def with_columns(frame: pd.DataFrame, api: str) -> pd.DataFrame:
    """Guarantee the requested columns with their usual dtypes, even when a reply lacks them."""
    missing = [name for name in APIS[api].requested if name not in frame.columns]
    if not missing:
        return frame
    return frame.join(typed_frame(missing, []).reindex(frame.index))


def calls_since(source: Source) -> Callable[[], dict[str, int]]:
    """A function giving the API calls per interface made through `source` from now on."""
    before = collections.Counter(source.client.calls)
    return lambda: dict(collections.Counter(source.client.calls) - before)


def slowed_since(source: Source) -> Callable[[], dict[str, int]]:
    """A function giving the interfaces a quota refusal slowed from now on, and their lowest pace."""
    before = {api: record.refusals for api, record in source.client.slowed.items()}
    return lambda: {
        api: record.lowest for api, record in source.client.slowed.items() if record.refusals > before.get(api, 0)
    }
