"""Orders the benchmarks, shares what they build (the market, its server, the full-history repo),
and writes BENCHMARKS.md.

    nice -n 5 python -m benchmarks                  # default sizes, ≤ ~10 min on 2 cores
    nice -n 5 python -m benchmarks --full           # the real sizes (20 years of the full market)
    python -m benchmarks --size tiny --only full,delta --out /tmp/B.md
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import machine_section
from benchmarks.market import LoggingServer, build_market
from benchmarks.measure import load_average
from benchmarks.report import Section
from benchmarks.sizes import SIZES, Sizes

log = logging.getLogger("benchmarks")
BENCHMARKS = ("first", "full", "delta", "consumer", "growth", "space", "explore", "slices")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "gradio_client", "datasets", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if os.nice(0) < 5:
        os.nice(5 - os.nice(0))  # the server in this process competes with others' measurements too
    sizes = SIZES["full" if args.full else args.size]
    only = tuple(args.only.split(",")) if args.only else BENCHMARKS
    unknown = set(only) - set(BENCHMARKS)
    if unknown or ("delta" in only or "consumer" in only) and "full" not in only:
        raise SystemExit(f"--only takes {', '.join(BENCHMARKS)}; delta and consumer need full")
    command = " ".join(["nice -n 5 python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
    started, load = time.perf_counter(), load_average()
    scratch = Path(tempfile.mkdtemp(prefix="a-share-bench-"))
    os.environ.update(HF_HOME=str(scratch / "hf-home-runner"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

    def write(sections: list[Section], final: bool = False) -> None:
        """The file so far after every benchmark, so a long run shows its figures as it goes."""
        header = machine_section(command, sizes.name, time.perf_counter() - started, f"{load} → {load_average()}")
        footer = [] if final else ["_(still running)_", ""]
        Path(args.out).write_text("\n".join([header, *(s.render() for s in sections), *footer]))

    try:
        sections = run(sizes, only, scratch, write)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write(sections, final=True)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def run(sizes: Sizes, only: tuple[str, ...], scratch: Path, written=lambda sections: None) -> list[Section]:
    sections: list[Section] = []
    if "first" in only:
        from benchmarks.first_sync import bench_first_sync

        log.info("0. the predicted first full sync")
        sections.append(bench_first_sync())
        written(sections)
    if "full" in only:
        from benchmarks.consumer import bench_consumer
        from benchmarks.delta import bench_delta
        from benchmarks.full_sync import bench_full

        size = sizes.full
        log.info("simulating the market: %s", size.label())
        market, build_s = build_market(size.stocks, size.start, size.end)
        with LoggingServer(market, quota_per_min=sizes.quota_per_min, latency=sizes.latency_s) as server:
            log.info("1. full sync")
            full = bench_full(
                server,
                market.trade_dates(),
                size.stocks,
                sizes.quota_per_min,
                sizes.latency_s,
                build_s,
                scratch,
                sizes.name == "full",
            )
            sections.append(full.section)
            written(sections)
            if "delta" in only:
                log.info("2. delta")
                sections.append(bench_delta(server, full, sizes.quota_per_min, scratch))
                written(sections)
        del market
        if "consumer" in only:
            log.info("3. consumer load")
            sections.append(bench_consumer(full.repo, scratch))
            written(sections)
    if "growth" in only:
        from benchmarks.growth import bench_growth

        log.info("4. growth")
        sections.append(bench_growth(sizes.growth, scratch))
        written(sections)
    if "space" in only:
        from benchmarks.space import bench_space

        log.info("5. the Space")
        sections.append(bench_space(scratch))
        written(sections)
    if "explore" in only:
        from benchmarks.explore import EXPLORE_SIZES, bench_explore

        log.info("6. Explore on the Hub (builds its 20-year dataset once, ~30 min; kept under /tmp)")
        sections.append(bench_explore(scratch, EXPLORE_SIZES[sizes.name]))
        written(sections)
    if "slices" in only:
        from benchmarks.explore import EXPLORE_SIZES
        from benchmarks.slices import bench_slices

        log.info("7. slices at real scale (reuses benchmark 6's 20-year dataset under /tmp)")
        sections.append(bench_slices(scratch, EXPLORE_SIZES[sizes.name]))
    return sections


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the real sizes (hours; same as --size full)")
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--only", help=f"comma list of {', '.join(BENCHMARKS)} (default all)")
    parser.add_argument("--out", default="BENCHMARKS.md")
    return parser
