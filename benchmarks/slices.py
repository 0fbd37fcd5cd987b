"""Benchmark 7: reading slices at real scale — one stock's 20 years through config `by_code`, one day
through the default config, Explore's cold chart, and what `by_code` adds to a delta's commit.

The dataset is benchmark 6's (`benchmarks.explore_data`: the full synthetic market over 20 years,
built once by a real full sync and kept under /tmp). A copy gets `by_code` the way a repo published
before it existed does: a real `python -m sync delta` with nothing new to fetch builds it from the
monthly shards. A second real delta then adds the market's last day. The copy is uploaded to the Hub
test server, which answers every request after 100 ms and counts the bytes it sends; each read runs
in its own process through `HF_ENDPOINT` (`benchmarks.slices_probe`), as a consumer's script would.

    nice -n 5 python -m benchmarks --only slices
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import explore_data
from benchmarks.explore import FULL_MARKET_20_YEARS, LATENCY_S, probe
from benchmarks.files import kind_of
from benchmarks.market import ROOT, LoggingServer, run_sync, sync_env
from benchmarks.measure import folder_files, load_average, written_files
from benchmarks.report import Figure, Section, mb, num, secs, table

REPO_ID = "bench/a-share-slices"
BLOCK = 64 * 1024  # the block size the card's recipes set (docs/performance.md)
GOAL = 0.02  # of the default config's bytes
READERS = ("pandas", "polars", "duckdb", "datasets")


def counting_hub(latency: float):
    """The Hub test server, every request delayed by `latency` seconds, counting the bytes of the
    files it serves (`sent`) and the requests for them (`gets`)."""
    from http.server import ThreadingHTTPServer

    from tests.support.hub_server import HubServer, _Handler

    class Handler(_Handler):
        def _handle(self, method: str) -> None:
            time.sleep(self.hub.latency)
            super()._handle(method)

        def _send(self, status, body, headers, method) -> None:
            if method == "GET" and "/resolve/" in self.path:
                with self.hub.guard:
                    self.hub.sent += len(body)
                    self.hub.gets += 1
            super()._send(status, body, headers, method)

    class CountingHub(HubServer):
        latency, sent, gets = 0.0, 0, 0
        guard = threading.Lock()

        def start(self):
            self._httpd = ThreadingHTTPServer(self._address, type("Handler", (Handler,), {"hub": self}))
            self._httpd.daemon_threads = True
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)
            self._thread.start()
            return self

        def counted(self) -> tuple[int, int]:
            with self.guard:
                sent, gets = self.sent, self.gets
                self.sent = self.gets = 0
            return sent, gets

    hub = CountingHub().start()
    hub.latency = latency
    return hub


def read(hub, home: Path, *args: str) -> dict:
    """One probe in a new process with a fresh HF_HOME: its seconds and rows, the bytes and GETs served."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=str(ROOT))
    hub.counted()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.slices_probe", *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode and not (lines and lines[-1].startswith("{")):
        raise RuntimeError(f"slices probe {args[0]} failed: {done.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result["bytes"], result["gets"] = hub.counted()
    return result


def bench_slices(scratch: Path, size: tuple = FULL_MARKET_20_YEARS) -> Section:
    load_before = load_average()
    source, reused = explore_data.built(*size)
    folder = scratch / "slices" / "dataset"
    shutil.copytree(source, folder, symlinks=False)
    market = explore_data.market(*size)
    days = market.trade_dates()
    with LoggingServer(market) as server:
        backfill = _delta(server, folder, scratch, days[-2], days[-1])
        one_day = _delta(server, folder, scratch, days[-1], days[-1])
    del market
    state = json.loads((folder / ".sync" / "state.json").read_text())
    default_bytes = sum(info["bytes"] for info in state["shards"].values())
    by_code_bytes = {path: info["bytes"] for path, info in state["by_code"].items()}
    code = _stock(folder)
    hub = counting_hub(0.0)
    try:
        uploaded = probe(hub.url, scratch / "hf-upload-slices", "upload", "--folder", str(folder), "--repo", REPO_ID)
        hub.latency = LATENCY_S
        home = scratch / "hf-slices"
        reads = {}
        for reader in READERS:
            for block in (None, BLOCK) if reader != "datasets" else (None,):
                extra = ["--block", str(block)] if block else []
                reads[(reader, block)] = read(
                    hub, home / f"{reader}-{block}", reader, "--repo", REPO_ID, "--code", code, *extra
                )
        before = read(hub, home / "before", "pandas", "--repo", REPO_ID, "--code", code, "--config", "default")
        last_month = max(p for p in state["shards"])
        one_day_read = read(hub, home / "day", "day", "--repo", REPO_ID, "--day", days[-1].isoformat())
        cache = scratch / "slices-explore"
        chart = probe(
            hub.url,
            scratch / "hf-chart",
            "chart",
            "--repo",
            f"hf://datasets/{REPO_ID}",
            "--cache",
            str(cache),
            "--years",
            "5",
        )
    finally:
        hub.stop()
    raw = {
        "reads": {f"{r}-{b}": v for (r, b), v in reads.items()},
        "before": before,
        "day": one_day_read,
        "chart": chart,
    }
    (scratch.parent / "slices-raw.json").write_text(json.dumps(raw, indent=1, default=str))
    return _section(
        size,
        reused,
        load_before,
        backfill,
        one_day,
        default_bytes,
        by_code_bytes,
        code,
        reads,
        before,
        (one_day_read, state["shards"][last_month]["bytes"], last_month, len(state["shards"])),
        chart,
        uploaded,
        days,
    )


def _delta(server: LoggingServer, folder: Path, scratch: Path, end, now_day) -> dict:
    """A real `python -m sync delta --end END` on the folder: what it wrote, by kind and by path."""
    env = sync_env(server.url, scratch / "hf-delta", explore_data.NO_QUOTA, now=f"{now_day.isoformat()}T22:00")
    before = folder_files(folder)
    run = run_sync(["delta", "--end", f"{end:%Y%m%d}", "--repo", str(folder)], env, scratch)
    written = written_files(before, folder_files(folder))
    kinds: collections.Counter = collections.Counter()
    for path, n in written.items():
        kinds[kind_of(path)] += n
    return {"run": run, "written": written, "kinds": kinds}


def _stock(folder: Path) -> str:
    """A main-board stock listed through the 20 years, as Explore's benchmark picks one."""
    import pandas as pd

    stocks = pd.read_parquet(folder / "meta" / "stocks.parquet")
    listed = stocks[(stocks["list_status"] == "L") & (stocks["market"] == "主板")].sort_values("code")
    return listed["code"].iloc[len(listed) // 3]


def _section(
    size,
    reused,
    load_before,
    backfill,
    one_day,
    default_bytes,
    by_code_bytes,
    code,
    reads,
    before,
    day,
    chart,
    uploaded,
    days,
) -> Section:
    day_read, shard_bytes, shard, shards = day
    section = Section(
        "8. Slices at real scale: one stock, one day, Explore, and a delta's bytes",
        f"Benchmark 6's dataset ({size[0]:,} stocks listed by 2025, {days[0]} .. {days[-1]}, all markets; "
        f"{'reused from /tmp' if reused else 'built now'}), given `by_code` by a real delta that had nothing new to fetch "
        f"(the path of a repo published before `by_code` existed), then one more real delta adding {days[-1]}; uploaded "
        f"to the Hub test server ({secs(uploaded['seconds'])}), which answers every request after {LATENCY_S * 1000:.0f} ms "
        "and counts the bytes of the files it serves. Each read is a new process with an empty HF_HOME through "
        f"`HF_ENDPOINT` (`benchmarks/slices_probe.py`): {code}, {days[0].year} .. {days[-1].year}, 5 columns (code, "
        f"date, close, adj_factor, volume). The default config is {mb(default_bytes)} in {num(shards)} shards; `by_code` "
        f"is {mb(sum(by_code_bytes.values()))} in {num(len(by_code_bytes))} files.",
        load=f"{load_before} → {load_average()}",
        commands=["nice -n 5 python -m benchmarks --only slices"],
    )
    goal = GOAL * default_bytes
    for (reader, block), result in reads.items():
        how = f"block_size {block // 1024} KiB" if block else "default block size"
        section.figures.append(
            Figure(
                f"one stock, all years via {reader} ({how})",
                f"{mb(result['bytes'])} ({100 * result['bytes'] / default_bytes:.2f}% of the default config), "
                f"{result['gets']} GETs, {secs(result['seconds'])}, {num(result['rows'])} rows",
                f"≤ 2% ({mb(goal)})" if reader != "datasets" else "",
                result["bytes"] <= goal if reader != "datasets" else None,
            )
        )
    section.figures += [
        Figure(
            "before: the same read via pandas on the default config (`data/`)",
            f"{mb(before['bytes'])} ({100 * before['bytes'] / default_bytes:.1f}%), {before['gets']} GETs, "
            f"{secs(before['seconds'])}, {num(before['rows'])} rows",
        ),
        Figure(
            f"one day ({days[-1]}) across all stocks via pandas on the default config (its month's shard, filtered)",
            f"{mb(day_read['bytes'])}, {day_read['gets']} GETs, {secs(day_read['seconds'])}, {num(day_read['rows'])} rows; "
            f"the shard {shard} is {mb(shard_bytes)}",
            "within one shard's bytes",
            day_read["bytes"] <= shard_bytes,
        ),
        Figure(
            "Explore's cold 5-year chart (empty caches), from by_code",
            f"{secs(chart['chart_s'])} ({chart['rows']} rows), {mb(chart['downloaded_bytes'])} read in "
            f"{chart['downloads']} ranged file reads; before (benchmark 6, monthly shards): 6.8 s, 462.8 MB",
        ),
    ]
    for name, delta in (("backfill: the first run on a repo without by_code", backfill), ("one-day delta", one_day)):
        kinds = delta["kinds"]
        total = sum(kinds.values())
        without = total - kinds.get("by_code", 0)
        section.figures.append(
            Figure(
                f"{name}: bytes written",
                f"{mb(total)} ({', '.join(f'{k} {mb(v)}' for k, v in sorted(kinds.items()))}); without by_code {mb(without)}"
                + (f": {total / without:.2f}×" if without else ""),
                "≤ 2× without by_code" if name == "one-day delta" else "",
                total <= 2 * without if name == "one-day delta" else None,
            )
        )
        section.figures.append(
            Figure(
                f"{name}: wall, peak RSS", f"{secs(delta['run'].timed.wall_s)}, {num(delta['run'].timed.max_rss_mb)} MB"
            )
        )
    years = {p: n for p, n in by_code_bytes.items() if p.count("/") == 1}
    section.tables.append(
        table(
            ["by_code file", "bytes"],
            [[p, mb(n)] for p, n in sorted(by_code_bytes.items()) if p in years and p[-12:-8] >= str(days[-1].year - 2)]
            + [[p, mb(n)] for p, n in sorted(by_code_bytes.items()) if p not in years][-3:],
        )
    )
    if day_read["bytes"] > shard_bytes:
        section.notes.append(
            f"The one-day read fetches the month's shard once plus {mb(day_read['bytes'] - shard_bytes)} more: pyarrow "
            "first reads the last 64 KiB of the file to find its footer, then the row group, and the two ranges overlap. "
            "A shard is one row group, so a day's rows cost the month's shard."
        )
    largest = max(years.values()) if years else 0
    section.notes.append(
        f"Once a year, the first delta of a new year compacts the closed year's month files into its year file: it "
        f"writes that file once (the largest here: {mb(largest)}) and deletes the month files. Every other delta "
        "rewrites only the month file(s) its days fall in."
    )
    return section


if __name__ == "__main__":
    import logging
    import tempfile

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    print(bench_slices(Path(tempfile.mkdtemp(prefix="a-share-slices-"))).render())
