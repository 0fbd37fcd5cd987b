"""Benchmark 6: Explore on the Hub at real scale — a 5-year chart of one stock, cold and warm, and what a
one-day delta costs the shard cache.

The dataset is the full synthetic market over 20 years (`benchmarks.explore_data`, built once and
kept under /tmp), uploaded to the Hub test server (`tests/support/hub_server.py`) that answers every
request after a fixed latency. Each measurement is its own process (a restarted Space):

- cold: an empty shard cache and an empty HF cache;
- warm: a new process on the same shard cache (the disk is warm, memory is not);
- after a real `python -m sync delta` that adds the market's last day: a new process on the same
  cache, counting the shards the Hub served.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import explore_data
from benchmarks.market import ROOT, LoggingServer, run_sync, sync_env
from benchmarks.measure import load_average
from benchmarks.report import Figure, Section, mb, secs

LATENCY_S = 0.1  # per request, before the server answers (a Space to the Hub, a CDN miss)
REPO_ID = "bench/a-share-prices"
YEARS = 5
WARM_GOAL_S, COLD_GOAL_S = 2.0, 15.0
FULL_MARKET_20_YEARS = (explore_data.STOCKS, explore_data.START, explore_data.END)
# (stocks, first day, last day) per runner size: the goal is set on the full market over 20 years,
# built once (~30 min on 2 shared cores) and reused from /tmp by every later run.
EXPLORE_SIZES = {
    "tiny": (300, dt.date(2022, 1, 4), dt.date(2024, 12, 31)),
    "default": FULL_MARKET_20_YEARS,
    "full": FULL_MARKET_20_YEARS,
}


def latent_hub(latency: float):
    """The Hub test server, every request delayed by `latency` seconds (outside its lock, so
    concurrent downloads overlap their waits as they do on the real Hub)."""
    from tests.support.hub_server import HubServer, _Handler

    class Handler(_Handler):
        def _handle(self, method: str) -> None:
            time.sleep(self.hub.latency)
            super()._handle(method)

    class LatentHub(HubServer):
        latency = 0.0

        def start(self):
            from http.server import ThreadingHTTPServer

            self._httpd = ThreadingHTTPServer(self._address, type("Handler", (Handler,), {"hub": self}))
            self._httpd.daemon_threads = True
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
            self._thread.start()
            return self

    hub = LatentHub().start()
    hub.latency = latency
    return hub


def probe(hub_url: str, home: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=hub_url,
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        PYTHONPATH=str(ROOT),
        HF_TOKEN="bench-hub-token",
    )
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.explore_probe", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"explore probe {args[0]} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def shard_gets(hub) -> list[str]:
    return [p for m, p in hub.requests if m == "GET" and "/resolve/" in p and ("/data/" in p or "/by_code/" in p)]


def bench_explore(scratch: Path, size: tuple = FULL_MARKET_20_YEARS) -> Section:
    """`size`: (stocks, first day, last day) of the market; the default is the full market over 20 years."""
    load_before = load_average()
    built_at = time.perf_counter()
    folder, reused = explore_data.built(*size)
    build_s = time.perf_counter() - built_at
    hub = latent_hub(0.0)
    try:
        uploaded = probe(hub.url, scratch / "hf-upload", "upload", "--folder", str(folder), "--repo", REPO_ID)
        hub.latency = LATENCY_S
        target = f"hf://datasets/{REPO_ID}"
        cache = scratch / "explore-shards"
        hub.requests.clear()
        cold = probe(
            hub.url, scratch / "hf-cold", "chart", "--repo", target, "--cache", str(cache), "--years", str(YEARS)
        )
        cold_gets = len(shard_gets(hub))
        hub.requests.clear()
        warm = probe(
            hub.url,
            scratch / "hf-warm",
            "chart",
            "--repo",
            target,
            "--cache",
            str(cache),
            "--years",
            str(YEARS),
            "--code",
            cold["code"],
        )
        warm_gets = len(shard_gets(hub))
        delta_s, delta_head = _one_day_delta(hub, target, scratch, size)
        hub.requests.clear()
        after = probe(
            hub.url,
            scratch / "hf-after",
            "chart",
            "--repo",
            target,
            "--cache",
            str(cache),
            "--years",
            str(YEARS),
            "--code",
            cold["code"],
        )
        after_gets = shard_gets(hub)
    finally:
        hub.stop()
    changed = sorted({p.split("/resolve/", 1)[1].split("/", 1)[1] for p in after_gets})
    section = Section(
        "6. Explore on the Hub: a 5-year chart of one stock",
        f"The synthetic market{' (the full market over 20 years)' if size == FULL_MARKET_20_YEARS else ''}: "
        f"{size[0]:,} stocks listed by 2025, {size[1]} .. {size[2]}, all markets ({cold['shards']} monthly shards; built once by "
        f"`python -m benchmarks.explore_data` with a real full sync and kept under /tmp: "
        f"{'reused' if reused else f'built in {secs(build_s)}'}), uploaded to the Hub test server, which answers every "
        f"request after {LATENCY_S * 1000:.0f} ms. The Space's own `RepoView` with its sha256-keyed shard cache "
        f"(`space_app/shard_cache.py`) draws {cold['code']} from {cold['start']} to {cold['end']} (qfq): the shards of "
        "the range, only the 14 columns Explore uses and only that stock's rows, then the figure as JSON. Each "
        "measurement is a new process; reading the head's facts (state, stocks, calendar, days, runs) is timed apart, "
        "since the Space reads them once per head before anyone asks for a chart.",
        load=f"{load_before} → {load_average()}",
        commands=[
            f"nice -n 5 python -m benchmarks --only explore  # upload of the dataset: {secs(uploaded['seconds'])}"
        ],
    )
    section.figures += [
        Figure(
            "cold chart (empty caches): time",
            f"{secs(cold['chart_s'])} ({cold['rows']} rows)",
            f"≤ {COLD_GOAL_S:.0f} s",
            cold["chart_s"] <= COLD_GOAL_S,
        ),
        Figure(
            "cold: reading the head's facts, then the chart",
            f"{secs(cold['facts_s'])} + {secs(cold['chart_s'])} = {secs(cold['facts_s'] + cold['chart_s'])}",
            f"≤ {COLD_GOAL_S:.0f} s",
            cold["facts_s"] + cold["chart_s"] <= COLD_GOAL_S,
        ),
        Figure(
            "cold chart: shards downloaded",
            f"{cold['downloads']} ({cold_gets} GETs at the server), "
            f"{mb(cold['downloaded_bytes'])}; kept on disk in Explore's layout: {mb(cold['cached_bytes'])}",
        ),
        Figure(
            "warm chart (new process, same shard cache): time",
            f"{secs(warm['chart_s'])}",
            f"≤ {WARM_GOAL_S:.0f} s",
            warm["chart_s"] <= WARM_GOAL_S,
        ),
        Figure("warm: reading the head's facts (once per head, before any chart)", secs(warm["facts_s"])),
        Figure("warm chart: shards downloaded", f"{warm['downloads']} ({warm_gets} GETs)", "0", warm["downloads"] == 0),
        Figure(
            "one-day delta on the Hub repo (`python -m sync delta`)", f"{secs(delta_s)}, new head {delta_head[:12]}"
        ),
        Figure(
            "after the delta: shards downloaded",
            f"{after['downloads']} ({mb(after['downloaded_bytes'])}): {', '.join(changed) or 'none'}",
            "only the changed month",
            after["downloads"] == 1
            and changed
            in (
                [f"data/{after['end'][:4]}/{after['end'][:7]}.parquet"],
                [f"by_code/{after['end'][:4]}/{after['end'][:7]}.parquet"],
            ),
        ),
        Figure("after the delta: chart time", f"{secs(after['chart_s'])} ({after['rows']} rows)"),
        Figure("figure sent to the browser", mb(cold["figure_bytes"])),
    ]
    section.notes += [
        f"Before the cache, every new head downloaded every shard of the range again into a temporary folder: after "
        f"this delta that was {cold['downloads']} shards ({mb(cold['downloaded_bytes'])}), now {after['downloads']} "
        f"({mb(after['downloaded_bytes'])}).",
        "The chart's goal is judged without the head's facts: the Space reads them once per head (on start and when "
        "a new commit lands, on its timer), not when a visitor asks for a chart. They are several sequential reads "
        f"({LATENCY_S * 1000:.0f} ms each here) through the shared head object.",
    ]
    return section


def _one_day_delta(hub, target: str, scratch: Path, size: tuple) -> tuple[float, str]:
    """`python -m sync delta` on the Hub repo, adding the market's last day (as in benchmark 2)."""
    market = explore_data.market(*size)
    days = market.trade_dates()
    with LoggingServer(market) as server:
        env = sync_env(server.url, scratch / "hf-delta", explore_data.NO_QUOTA, now=f"{days[-1].isoformat()}T22:00")
        env.update(DATASET_REPO=target, HF_ENDPOINT=hub.url, HF_TOKEN="bench-hub-token", HF_HUB_OFFLINE="0")
        run = run_sync(["delta", "--repo", target], env, scratch)
    del market
    repo = hub.repos.get(("dataset", REPO_ID))
    return run.timed.wall_s, repo.branches.get("main", "") if repo else ""


if __name__ == "__main__":
    import logging
    import tempfile

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    small = (300, dt.date(2018, 1, 2), dt.date(2024, 12, 31)) if "--small" in sys.argv else None
    print(bench_explore(Path(tempfile.mkdtemp(prefix="a-share-explore-")), *([small] if small else [])).render())
