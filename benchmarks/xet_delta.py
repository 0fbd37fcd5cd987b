"""Bytes a daily delta uploads to the Hub's Xet storage, at full-market shape.

The daily delta rewrites the month's shard (`data/YYYY/YYYY-MM.parquet`) with one more trading
day. On Xet, hf_xet splits the file into content-defined chunks (~64 KiB) and uploads only the
chunks the CAS does not hold yet. This benchmark replays a month day by day:

1. a real `python -m sync full --markets all` of one month of the synthetic full market (about
   5,000 listed stocks, every column) into a folder, against our Tushare-compatible server;
2. for each trading day k, the shard as the delta after day k writes it (the month's rows up to
   day k, through `sync.tables.shards`), uploaded with hf_xet to a fresh file-backed CAS
   (`local://`), one upload per day in order, as the Hub would receive them;
3. hf_xet's own dedup report per upload: the new bytes it sent (xorb bytes, after its compression).

Each layout of the shard is replayed into its own CAS. Run:

    python -m benchmarks.xet_delta [--stocks 5500] [--month 2024-11]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from benchmarks.market import LoggingServer, run_sync, sync_env
from benchmarks.report import mb
from dataset_script.schema import shard_path
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables import shards

log = logging.getLogger("benchmarks")
NO_QUOTA = 1_000_000
Writer = Callable[[pa.Table], bytes]

LAYOUTS: dict[str, Writer] = {  # the first is the baseline the others are compared with
    "one row group, zstd 3 (until this change)": shards.to_parquet,
    "one row group, zstd 3, no content-defined chunking": lambda t: shards.to_parquet(
        t, content_defined_chunking=False
    ),
    "one row group per trading day, zstd 3": lambda t: shards.to_parquet(t, row_group_key=lambda d: d),
    "one row group per ISO week, zstd 3": lambda t: shards.to_parquet(t, row_group_key=shards.iso_week),
    "one row group per ISO week, zstd 5 (published: `shard_to_parquet`)": shards.shard_to_parquet,
}


@dataclasses.dataclass(frozen=True)
class Replay:
    layout: str
    sizes: list[int]  # the shard's bytes after each day
    new: list[int]  # hf_xet's new chunk bytes per upload (the first one is the whole first day)
    sent: list[int]  # what the CAS grew by: compressed xorbs and the shard

    @property
    def daily(self) -> list[int]:
        return self.new[1:]

    @property
    def daily_sent(self) -> list[int]:
        return self.sent[1:]

    def share(self) -> list[float]:
        """New bytes of each daily upload as a share of that day's shard."""
        return [n / s for n, s in zip(self.new[1:], self.sizes[1:], strict=True)]


def month_rows(stocks: int, first: dt.date, last: dt.date, scratch: Path, keep: Path | None = None) -> pa.Table:
    """One month of the full market, as a real full sync publishes it (read from `keep` when it exists)."""
    if keep is not None and keep.exists():
        return shards.from_parquet(keep.read_bytes())
    sim = SyntheticMarket(MarketSpec(first, last, n_stocks=stocks))
    days = sim.trade_dates()
    folder = scratch / "dataset"
    with LoggingServer(sim) as server:
        env = sync_env(server.url, scratch / "hf-home", NO_QUOTA, now=f"{days[-1].isoformat()}T22:00")
        args = ["full", "--markets", "all", "--start", f"{days[0]:%Y%m%d}", "--end", f"{days[-1]:%Y%m%d}"]
        run_sync([*args, "--repo", str(folder)], env, scratch)
    data = (folder / shard_path(days[-1])).read_bytes()
    if keep is not None:
        keep.write_bytes(data)
    return shards.from_parquet(data)


def replay(layout: str, write: Writer, month: pa.Table, cas: Path) -> Replay:
    """Upload the shard after each day, in order, to a fresh CAS; hf_xet's new bytes per upload."""
    import hf_xet

    days = sorted(pc.unique(month.column("date")).to_pylist())
    sizes, new, sent = [], [], []
    for day in days:
        data = write(month.filter(pc.less_equal(month.column("date"), pa.scalar(day, pa.date32()))))
        session = hf_xet.XetSession()  # each delta is a new process
        stored = _stored(cas)
        with session.new_upload_commit(endpoint=f"local://{cas}") as commit:
            handle = commit.start_upload_bytes(data, sha256=hf_xet.SKIP_SHA256)
        sizes.append(len(data))
        new.append(handle.result().dedup_metrics.new_bytes)
        sent.append(_stored(cas) - stored)
    return Replay(layout, sizes, new, sent)


def _stored(cas: Path) -> int:
    """Bytes of the xorbs (compressed chunks) and shards the CAS holds (not its lookup database)."""
    store = cas / "xet" / "xorbs"
    files = [*store.glob("xorbs/default.*"), *store.glob("shards/*.mdb")]
    return sum(p.stat().st_size for p in files if p.suffix != ".tagset")


def section(month: pa.Table, replays: list[Replay], command: str, load: str, seconds: float) -> str:
    days = sorted(pc.unique(month.column("date")).to_pylist())
    stocks = pc.count_distinct(month.column("code")).as_py()
    base = replays[0]
    lines = [
        "## 7. Bytes per daily delta on the Hub's Xet storage",
        "",
        f"Run {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} on its own, on the machine above "
        f"({seconds:.0f} s). One month of the full synthetic market ({days[0]} .. {days[-1]}, {len(days)} trading "
        f"days, {stocks:,} stocks, {month.num_columns} columns, {month.num_rows:,} rows), from a real "
        "`python -m sync full --markets all`. Each day's shard (the month up to that day, as the delta writes it) "
        "is uploaded in order with hf_xet 1.8 to a fresh file-backed CAS; the figures are hf_xet's own count of "
        "new bytes per upload (new chunks, before compression) and the growth of the CAS folder per upload. Sizes "
        "and means are relative to the first layout.",
        "",
        "| layout | shard at month end | new bytes per daily upload: median (min .. max) | mean | share of the day's "
        "shard: median | CAS growth per day (compressed xorbs + shard): median |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in replays:
        share = r.share()
        lines.append(
            f"| {r.layout} | {mb(r.sizes[-1])} ({r.sizes[-1] / base.sizes[-1] - 1:+.0%}) | "
            f"{mb(statistics.median(r.daily))} ({mb(min(r.daily))} .. {mb(max(r.daily))}) | "
            f"{mb(statistics.mean(r.daily))} ({statistics.mean(r.daily) / statistics.mean(base.daily) - 1:+.0%}) | "
            f"{statistics.median(share):.0%} ({min(share):.0%} .. {max(share):.0%}) | "
            f"{mb(statistics.median(r.daily_sent))} |"
        )
    lines += ["", f"Load average (1/5/15 min) before → after: {load}", "", "```bash", command, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stocks", type=int, default=5500, help="stocks listed by 2025 (the full market: 5500)")
    parser.add_argument("--month", default="2024-11", help="YYYY-MM")
    parser.add_argument("--keep", type=Path, help="keep the month's shard here and reuse it on the next run")
    args = parser.parse_args(argv)
    year, month_no = map(int, args.month.split("-"))
    first = dt.date(year, month_no, 1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="a-share-xet-"))
    try:
        month = month_rows(args.stocks, first, last, scratch, args.keep)
        replays = [replay(name, write, month, scratch / f"cas-{i}") for i, (name, write) in enumerate(LAYOUTS.items())]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    command = f"nice -n 5 python -m benchmarks.xet_delta --stocks {args.stocks} --month {args.month}"
    print(section(month, replays, command, f"{before} → {after}", time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    raise SystemExit(main())
