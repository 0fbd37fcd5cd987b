"""Fault matrix: whatever the Tushare side does wrong, a full or delta sync ends with the correct
dataset (equal, value for value, to a fault-free golden run) or with a clear error and the repo
unchanged (same head). Runs against our Tushare-compatible server; the client's sleeps are
skipped, and where a fault is about time (quota windows) they advance a fake clock instead."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from dataset_script.schema import DAYS_PATH, LAST_UPDATE_PATH, shard_month
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.publish.head import Head
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.replies import FaultPlan, Reply
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.client import TushareClient
from tests.support.expected import assert_same_rows, expected_rows

pytestmark = pytest.mark.slow  # the fault matrix: a golden run and a full and a delta per fault

TOKEN = "fault-matrix-token"
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)  # a month end and the Spring Festival closure
SETTINGS = Settings(markets=("主板",))
NOW = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)
SLOW_REPLY_S, CLIENT_TIMEOUT_S = 1.5, 0.5
BASE_BACK = 8  # the delta's starting repo is published through days[-BASE_BACK]


# -- the server side: our server plus the faults FaultPlan does not model ----------------------------
class FaultyServer(TushareServer):
    """`TushareServer` that also answers HTTP 502/503 and replies slower than the client's timeout.

    `extra` entries are [api or None, kind, remaining], like FaultPlan's schedule.
    """

    def __init__(self, market: SyntheticMarket, *, extra: list[list] = (), **knobs) -> None:
        super().__init__(market, **knobs)
        self.extra = [list(entry) for entry in extra]
        self._extra_lock = threading.Lock()

    def answer(self, path: str, body: bytes) -> Reply:
        kind = self._draw_extra(body)
        if kind in ("http_502", "http_503"):
            status = int(kind[-3:])
            return Reply(status, f"<html><body>{status}</body></html>".encode(), "text/html")
        if kind == "slow":
            time.sleep(SLOW_REPLY_S)
        return super().answer(path, body)

    def _draw_extra(self, body: bytes) -> str | None:
        try:
            api = json.loads(body).get("api_name")
        except ValueError:
            return None
        with self._extra_lock:
            for entry in self.extra:
                if entry[0] in (None, api) and entry[2] > 0:
                    entry[2] -= 1
                    return entry[1]
        return None


class FakeTime:
    """One clock for the client's waits and the server's quota window: `sleep` moves it forward."""

    def __init__(self, start: dt.datetime, frozen_server: bool = False):
        self.start, self.frozen_server, self.offset = start, frozen_server, 0.0
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds

    def monotonic(self) -> float:
        return 1_000.0 + self.offset

    def now(self) -> dt.datetime:
        return self.start if self.frozen_server else self.start + dt.timedelta(seconds=self.offset)


@dataclasses.dataclass(frozen=True)
class Case:
    """One fault. `expect`: "golden" (the fault-free rows), "error" (repo unchanged; the message
    contains every `says`), "held" (published through the day before the fresh hole), "partial"."""

    name: str
    expect: str
    says: tuple[str, ...] = ()
    faults: tuple[tuple[str | None, str, int], ...] = ()  # FaultPlan schedule
    extra: tuple[tuple[str | None, str, int], ...] = ()  # FaultyServer schedule
    server: dict = dataclasses.field(default_factory=dict)  # other TushareServer knobs
    hole: tuple[str, int] | None = None  # (api, index into the trading days) at 50%
    quota_clock: str | None = None  # "moving" or "frozen": FakeTime for quotas
    timeout: float = 30.0


PERSISTENT = 100_000
CASES = [
    Case("http_500", "golden", faults=(("daily", "http_500", 2),)),
    Case("http_502", "golden", extra=(("daily", "http_502", 2),)),
    Case("http_503", "golden", extra=(("daily_basic", "http_503", 2),)),
    Case("http_429", "golden", faults=(("adj_factor", "http_429", 2),)),
    Case("first_requests_500", "golden", faults=((None, "http_500", 3),)),  # trade_cal / stock_basic
    Case(
        "quota_40203_waits_out", "golden", server={"quota_per_min": {"daily": 6, "stk_limit": 6}}, quota_clock="moving"
    ),
    Case("timeout", "golden", extra=(("stk_limit", "slow", 2),), timeout=CLIENT_TIMEOUT_S),
    Case("dropped_connection", "golden", faults=(("daily", "drop", 2),)),
    Case("not_json", "golden", faults=(("daily", "not_json", 2),)),
    Case("data_null", "golden", faults=(("daily_basic", "null_data", 2),)),
    Case(
        "row_cap",
        "golden",
        server={
            "row_caps": {
                "daily": 7,
                "daily_basic": 7,
                "stk_limit": 7,
                "adj_factor": 7,
                "suspend_d": 3,
                "stock_basic": 9,
                "namechange": 5,
            }
        },
    ),
    Case(
        "http_500_persistent",
        "error",
        ("Tushare daily failed after", "HTTP 500", "Retrying later may help"),
        faults=(("daily", "http_500", PERSISTENT),),
    ),
    Case(
        "http_503_persistent",
        "error",
        ("HTTP 503", "Retrying later may help"),
        extra=(("adj_factor", "http_503", PERSISTENT),),
    ),
    Case(
        "dropped_connection_persistent",
        "error",
        ("network error", "Retrying later may help"),
        faults=(("stk_limit", "drop", PERSISTENT),),
    ),
    Case(
        "timeout_persistent",
        "error",
        ("no reply within", "Retrying later may help"),
        extra=(("daily", "slow", PERSISTENT),),
        timeout=0.2,
    ),
    Case(
        "not_json_persistent",
        "error",
        ("is not JSON", "Retrying later may help"),
        faults=(("daily", "not_json", PERSISTENT),),
    ),
    Case(
        "data_null_persistent",
        "error",
        ('"data" is null', "Retrying later may help"),
        faults=(("daily", "null_data", PERSISTENT),),
    ),
    Case(
        "quota_40203_never_clears",
        "error",
        ("kept refusing daily", "40203", "Retrying later may help"),
        server={"quota_per_min": {"daily": 3}},
        quota_clock="frozen",
    ),
    Case(
        "permission_40203",
        "error",
        ("denied access to the interface daily_basic", "Tushare points", "Retrying will not help"),
        server={"denied": ("daily_basic",)},
    ),
    Case(
        "field_missing",
        "error",
        ("lacks the requested field(s) vol", "check the Tushare docs for daily"),
        server={"drop_fields": {"daily": ["vol"]}},
    ),
    Case("hole_on_a_fresh_day", "held", ("daily_basic",), hole=("daily_basic", -2)),
    Case("hole_on_a_settled_day", "partial", hole=("adj_factor", -7)),
]


# -- golden runs, built once -------------------------------------------------------------------------
def shard_rows(repo) -> pd.DataFrame:
    head = repo.head()
    frames = [from_parquet(repo.read(p, head)).to_pandas() for p in sorted(repo.list_files(head)) if shard_month(p)]
    return pd.concat(frames, ignore_index=True)


def spec(hole: tuple[str, int] | None = None) -> MarketSpec:
    base = MarketSpec(start=START, end=END, n_stocks=40, seed=21)
    if hole is None:
        return base
    days = SyntheticMarket(base).trade_dates()
    return dataclasses.replace(base, holes={(hole[0], days[hole[1]]): 0.5})


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(spec())


@pytest.fixture(scope="module")
def days(market):
    return market.trade_dates()


def client_for(server: TushareServer, case: Case | None = None, fake: FakeTime | None = None) -> TushareClient:
    timing = {"sleep": fake.sleep, "clock": fake.monotonic} if fake else {"sleep": lambda s: None}
    # the client pages at the caps it is told (a short page ends a listing): the server's own caps
    return TushareClient(
        TOKEN,
        server.url,
        rate_per_min=1_000_000,
        rate_overrides={},
        row_caps=case.server.get("row_caps") if case else None,
        timeout=case.timeout if case else 30.0,
        **timing,
    )


@pytest.fixture(scope="module")
def golden(market, days, tmp_path_factory):
    """(the fault-free full run's rows, a folder published through days[-BASE_BACK] to start deltas from)."""
    home = tmp_path_factory.mktemp("golden")
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as server, client_for(server) as client:
        source = Source(client, "fault matrix", START)
        full = open_repo(str(home / "full" / "dataset"))
        run_full(full, source, SETTINGS, NOW)
        base = open_repo(str(home / "base" / "dataset"))
        run_full(base, source, SETTINGS, NOW, end=days[-BASE_BACK])
    rows = shard_rows(full)
    assert_same_rows(rows, expected_rows(market, days))  # the golden run itself matches the independent oracle
    return rows, home / "base"


def clone(folder: Path, into: Path) -> Path:
    """A copy of a published folder target (its symlink and its hidden version store)."""
    shutil.copytree(folder, into, symlinks=True)
    return into / "dataset"


def assert_rows(actual: pd.DataFrame, wanted: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual.reset_index(drop=True), wanted.reset_index(drop=True), check_exact=True)


# -- the matrix --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["full", "delta"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_ends_with_the_golden_dataset_or_a_clear_error_and_the_repo_unchanged(
    case, kind, golden, market, days, tmp_path, hf_home
):
    golden_rows, base = golden
    repo = open_repo(str(clone(base, tmp_path / "target")))
    head_before, rows_before = repo.head(), shard_rows(repo)
    source_market = SyntheticMarket(spec(case.hole)) if case.hole else market
    fake = FakeTime(NOW, frozen_server=case.quota_clock == "frozen") if case.quota_clock else None
    plan = FaultPlan()
    for api, fault, count in case.faults:
        plan.fail_next(fault, count, api)
    server = FaultyServer(
        source_market,
        tokens=(TOKEN,),
        clock=fake.now if fake else (lambda: NOW),
        faults=plan,
        extra=[list(e) for e in case.extra],
        **case.server,
    )
    run: Callable = run_full if kind == "full" else run_delta
    with server, client_for(server, case, fake) as client:
        source = Source(client, "fault matrix", START)
        if case.expect == "error":
            with pytest.raises(SyncError) as raised:
                run(repo, source, SETTINGS, NOW)
        else:
            result = run(repo, source, SETTINGS, NOW)

    if case.expect == "error":
        message = f"{raised.value}; {raised.value.hint or ''}"
        for text in case.says:
            assert text in message, f"{case.name}: {text!r} not in {message!r}"
        assert TOKEN not in message
        assert repo.head() == head_before, "a failed run leaves the repo unchanged"
        assert_rows(shard_rows(repo), rows_before)
        return

    assert verify_repo(repo) == []
    rows = shard_rows(repo)
    if case.expect == "golden":
        assert result.published and result.watermark == days[-1] and result.stopped is None
        assert_rows(rows, golden_rows)
        assert repo.read(LAST_UPDATE_PATH, repo.head()) == days[-1].strftime("%Y%m%d").encode()
    elif case.expect == "held":
        hole_day = days[case.hole[1]]
        assert result.stopped[0] == hole_day and all(text in result.stopped[1] for text in case.says)
        assert result.watermark == days[case.hole[1] - 1]
        assert_rows(rows, golden_rows[pd.to_datetime(golden_rows["date"]) < pd.Timestamp(hole_day)])
    else:  # partial: published with the hole, marked partial, and every other day untouched
        hole_day = days[case.hole[1]]
        assert result.published and result.watermark == days[-1] and result.stopped is None
        on_hole = pd.to_datetime(rows["date"]) == pd.Timestamp(hole_day)
        assert_rows(rows[~on_hole], golden_rows[pd.to_datetime(golden_rows["date"]) != pd.Timestamp(hole_day)])
        wanted = expected_rows(source_market, days)
        assert_same_rows(rows, wanted)
        manifest = from_parquet(repo.read(DAYS_PATH, repo.head())).to_pandas()
        assert manifest.loc[manifest["status"] == "partial", "date"].tolist() == [hole_day]
    assert Head.read(repo).state.watermark == result.watermark
