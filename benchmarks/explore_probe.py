"""One Explore measurement in its own process (huggingface_hub reads HF_ENDPOINT at import, and a
fresh process is what a restarted Space is). Prints one JSON line.

    python -m benchmarks.explore_probe chart --repo hf://datasets/bench/prices --cache DIR --years 5
    python -m benchmarks.explore_probe upload --folder DIR --repo bench/prices
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def chart(repo_target: str, cache: Path, years: int, code: str | None) -> dict:
    import pandas as pd

    from space_app import explore
    from space_app.repo_view import RepoView, explore_cache
    from space_app.shard_cache import SliceCache
    from sync.targets import open_repo

    started = time.perf_counter()
    view = RepoView(open_repo(repo_target), ttl=0, cache=explore_cache(cache), slices=SliceCache(cache / "slices"))
    facts = view.get(force=True)
    facts_s = time.perf_counter() - started
    end = facts.watermark
    start = (pd.Timestamp(end) - pd.DateOffset(years=years)).date()
    code = code or _listed_through(facts.stocks, start)
    began = time.perf_counter()
    frame = view.prices(facts, code, start, end)
    adjusted = explore.adjust(frame, "qfq", frame.attrs.get("latest_adj_factor"))
    figure = explore.figure(adjusted, f"{code} · qfq")
    explore.table(frame)
    payload = len(figure.to_json())  # what Gradio sends to the browser
    chart_s = time.perf_counter() - began
    files = list(cache.rglob("*.parquet"))
    return {
        "code": code,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "rows": len(frame),
        "facts_s": facts_s,
        "chart_s": chart_s,
        "downloads": view.cache.downloads + view.slices.downloads,  # whole shards, or ranged reads of by_code files
        "downloaded_bytes": view.cache.downloaded_bytes + view.slices.downloaded_bytes,
        "cached_files": len(files),
        "cached_bytes": sum(f.stat().st_size for f in files),
        "shards": len(facts.shards),
        "figure_bytes": payload,
        "head": facts.head,
    }


def _listed_through(stocks, start) -> str:
    """A main-board stock listed before `start` and still listed (so the chart spans the whole range)."""
    listed = stocks[(stocks["list_status"] == "L") & (stocks["market"] == "主板")].sort_values("code")
    return listed["code"].iloc[len(listed) // 3]  # not the very first code: it is special in no way, nor is this


def upload(folder: Path, repo_id: str) -> dict:
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    started = time.perf_counter()
    info = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="dataset",
        allow_patterns=["README.md", ".last_update_date", ".sync/state.json", "meta/*", "data/*/*", "by_code/*"],
        commit_message="the Explore benchmark's dataset",
    )
    return {"seconds": time.perf_counter() - started, "commit": info.oid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.explore_probe")
    parser.add_argument("what", choices=("chart", "upload"))
    parser.add_argument("--repo", required=True)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--code")
    args = parser.parse_args(argv)
    result = (
        chart(args.repo, args.cache, args.years, args.code) if args.what == "chart" else upload(args.folder, args.repo)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
