"""The benchmark's Tushare side: a server that keeps a log of every reply, and `python -m sync`
runs against it as separate, measured processes.

The server is the project's own `TushareServer` (quota, latency and history realities included);
this subclass only records (interface, time, reply code) per request, so quota errors (40203)
and the achieved rate are counted where they happen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks.measure import Timed, run_timed
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import PERMISSION_ERROR, TushareServer

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"
_CODE = re.compile(rb'"code": (-?\d+)')


@dataclasses.dataclass(frozen=True)
class Event:
    api: str
    at: float  # time.monotonic() when the request arrived
    code: int  # the envelope's code (0 = data)


class LoggingServer(TushareServer):
    """TushareServer that logs every reply; `events_since(mark)` gives one run's share."""

    def __init__(self, market: SyntheticMarket, **kwargs) -> None:
        super().__init__(market, tokens=(TOKEN,), **kwargs)
        self.events: list[Event] = []
        self._log_lock = threading.Lock()

    def answer(self, path: str, body: bytes):
        arrived = time.monotonic()
        reply = super().answer(path, body)
        try:
            api = str(json.loads(body).get("api_name") or path.rpartition("/")[2])
        except (ValueError, AttributeError):
            api = ""
        code = _CODE.search(reply.body[:200])
        with self._log_lock:
            self.events.append(Event(api, arrived, int(code.group(1)) if code else -1))
        return reply

    def mark(self) -> int:
        with self._log_lock:
            return len(self.events)

    def events_since(self, mark: int) -> list[Event]:
        with self._log_lock:
            return self.events[mark:]


def quota_errors(events: Sequence[Event]) -> int:
    return sum(e.code == PERMISSION_ERROR for e in events)


def build_market(n_stocks: int, start: dt.date, end: dt.date) -> tuple[SyntheticMarket, float]:
    """The simulated market and the seconds its simulation took (paid once, by the runner)."""
    market = SyntheticMarket(MarketSpec(start, end, n_stocks=n_stocks))
    started = time.perf_counter()
    _ = market.simulated  # the lazy build, timed here
    return market, time.perf_counter() - started


@dataclasses.dataclass
class SyncRun:
    """`python -m sync ...` as run, and the figures its output states."""

    timed: Timed
    command: str
    plan: dict[str, int]  # the plan line: estimated calls per interface
    strategy: str
    calls: dict[str, int]  # the summary's API calls per interface
    rows: int
    bytes_written: int


def sync_env(url: str, home: Path, rate_per_min: int, now: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a sync run: our server, our pace, a private HF_HOME, a pinned clock."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TUSHARE_", "SYNC_", "HF_")) and k != "DATASET_REPO"
    }
    env.update(
        TUSHARE_TOKEN=TOKEN,
        TUSHARE_API_URL=url,
        TUSHARE_RATE_PER_MIN=str(rate_per_min),
        HF_HOME=str(home),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    if now:
        env["SYNC_NOW"] = now
    return env


def run_sync(args: Sequence[str], env: Mapping[str, str], scratch: Path) -> SyncRun:
    """`python -m sync <args>` at nice 5 under /usr/bin/time; fails loudly when the sync fails."""
    argv = [sys.executable, "-m", "sync", *args]
    timed = run_timed(argv, env, ROOT, scratch).check()
    shown_env = " ".join(
        f"{k}={env[k]}" for k in ("TUSHARE_RATE_PER_MIN", "SYNC_NOW", "SYNC_RESTATEMENT_DAYS") if k in env
    )
    command = (
        f"TUSHARE_TOKEN={TOKEN} TUSHARE_API_URL=<server> {shown_env} nice -n 5 /usr/bin/time -v "
        f"python -m sync {' '.join(args)}"
    ).replace(str(scratch), "$TMP")
    plan = re.search(r"planned fetch: (.*?) API calls", timed.stderr)
    calls = re.search(r"API calls: (.*)", timed.stdout)
    rows = re.search(r"rows: ([\d,]+)", timed.stdout)
    written = re.search(r"bytes written: ([\d,]+)", timed.stdout)
    shapes = dict(re.findall(r"([a-z_]+) (per-day|per-stock|range) [\d,]+", plan.group(1))) if plan else {}
    strategy = ", ".join(f"{api} {shape}" for api, shape in shapes.items())
    return SyncRun(
        timed,
        command,
        _counts(plan.group(1)) if plan else {},
        strategy,
        _counts(calls.group(1)) if calls else {},
        _number(rows),
        _number(written),
    )


def _counts(text: str) -> dict[str, int]:
    return {
        name: int(n.replace(",", ""))
        for name, n in re.findall(r"([a-z_]+) (?:per-day |per-stock |range )?([\d,]+)", text)
    }


def _number(found: re.Match | None) -> int:
    return int(found.group(1).replace(",", "")) if found else 0
