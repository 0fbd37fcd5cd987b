"""Fetched chunks of a full sync: staged in the repo to survive an interruption, spilled to local
month files so that each month is built by reading only that month.

A chunk holds one interface's calls; it is staged as `<chunk id>/<api>.parquet` plus `<chunk id>/meta.json` (its days, its codes,
when it was fetched). A later run reuses it only when the id, the days and the codes match
exactly and it was fetched within `max_age`; anything else is fetched again. The spill is a
temporary folder `<month>/<api>/<chunk id>.parquet`: memory holds one chunk while fetching and
one month while building, however long the history. A month is read only once every chunk that
holds its days has been spilled, so it can be built while later chunks are still being fetched.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from sync.core.clock import ymd
from sync.core.killpoints import reached
from sync.core.progress import Progress, ProgressCallback
from sync.fetch.frames import DayFrames
from sync.fetch.plan import Chunk, FetchPlan
from sync.fetch.source import Source
from sync.targets import DatasetRepo
from sync.tushare.apis import APIS, DAY_APIS
from sync.tushare.frames import typed_frame

log = logging.getLogger(__name__)


class Checkpoints:
    def __init__(self, repo: DatasetRepo, key: str, spill: Path, max_age: dt.timedelta, now: dt.datetime):
        self.repo, self.key, self.spill, self.max_age, self.now = repo, key, spill, max_age, now

    def fetch(
        self,
        plan: FetchPlan,
        source: Source,
        report: ProgressCallback,
        progress: bool = False,
        spilled: Callable[[int], None] = lambda _: None,
    ) -> None:
        """Every chunk of `plan` into the spill: from a reusable checkpoint, else from the source.

        The interfaces are fetched concurrently, one thread each, every one at its own quota (the
        client paces each interface), each through its chunks in order. `spilled(i)` is called once
        chunk `i` (its index in the plan) is in the spill, from the thread that fetched it (so the
        months it completes can be built while other chunks are fetched); an exception from it, or
        from any fetch, stops every thread after its current chunk and is raised here.
        """
        staged = set(self.repo.stage_files(self.key))
        by_api: dict[str, list[int]] = {}
        for index, chunk in enumerate(plan.chunks):
            by_api.setdefault(chunk.api, []).append(index)
        lock, stop = threading.Lock(), threading.Event()
        counts = {"done": 0, "reused": 0}
        bar = tqdm(total=len(plan.chunks), desc=f"full ({plan.strategy})", unit="chunk", disable=not progress)

        def work(indices: list[int]) -> None:
            try:
                fetch_all(indices)
            except BaseException:
                stop.set()  # the other interfaces stop after their current chunk
                raise

        def fetch_all(indices: list[int]) -> None:
            for index in indices:
                if stop.is_set():
                    return
                chunk = plan.chunks[index]
                frames = self._reusable(chunk, staged)
                if frames is None:
                    frames = _fetch(source, chunk)
                    files = {f"{chunk.id}/{api}.parquet": _encode(frame) for api, frame in frames.items()}
                    with lock:  # one staging write at a time (a Hub staging area commits)
                        self.repo.stage_write(self.key, {**files, f"{chunk.id}/meta.json": self._meta(chunk)})
                    reached("checkpoint.staged")
                else:
                    with lock:
                        counts["reused"] += 1
                self._spill(chunk, frames)
                del frames
                with lock:
                    counts["done"] += 1
                    bar.update(1)
                    report(Progress("fetch", counts["done"], len(plan.chunks), "chunk", source.client.total_calls))
                    spilled(index)

        report(Progress("fetch", 0, len(plan.chunks), "chunk", source.client.total_calls))
        with ThreadPoolExecutor(max_workers=max(1, len(by_api)), thread_name_prefix="fetch") as pool:
            futures = [pool.submit(work, indices) for indices in by_api.values()]
            errors = []
            for future in futures:
                try:
                    future.result()
                except BaseException as error:  # noqa: BLE001 - the first one is raised below
                    stop.set()
                    errors.append(error)
        bar.close()
        if errors:
            raise errors[0]
        if counts["reused"]:
            log.info("reusing %d of %d chunks already fetched by an earlier run", counts["reused"], len(plan.chunks))

    def month(self, days: Sequence[dt.date]) -> DayFrames:
        """The frames of one month (every chunk's rows for those days), read from the spill."""
        folder = self.spill / f"{days[0]:%Y-%m}"
        wanted = pd.Series(pd.to_datetime(list(days)), dtype="datetime64[us]")
        frames = {}
        for api in DAY_APIS:
            parts = [pd.read_parquet(p) for p in sorted((folder / api).glob("*.parquet"))]
            frame = pd.concat(parts, ignore_index=True) if parts else typed_frame(APIS[api].requested, [])
            frames[api] = frame[frame["trade_date"].isin(wanted)].reset_index(drop=True)
        return DayFrames.of(frames)

    def _reusable(self, chunk: Chunk, staged: set[str]) -> dict[str, pd.DataFrame] | None:
        needed = {f"{chunk.id}/{chunk.api}.parquet", f"{chunk.id}/meta.json"}
        if not needed <= staged:
            return None
        meta = json.loads(self.repo.stage_read(self.key, f"{chunk.id}/meta.json"))
        fetched_at = dt.datetime.fromisoformat(meta.get("fetched_at", "1970-01-01T00:00:00+00:00"))
        same = meta.get("days") == [ymd(d) for d in chunk.days] and meta.get("codes") == (
            list(chunk.codes) if chunk.codes else None
        )
        if not same or self.now - fetched_at > self.max_age:
            return None
        return {
            chunk.api: pd.read_parquet(io.BytesIO(self.repo.stage_read(self.key, f"{chunk.id}/{chunk.api}.parquet")))
        }

    def _meta(self, chunk: Chunk) -> bytes:
        meta = {
            "days": [ymd(d) for d in chunk.days],
            "codes": list(chunk.codes) if chunk.codes else None,
            "fetched_at": self.now.isoformat(timespec="seconds"),
        }
        return json.dumps(meta).encode()

    def _spill(self, chunk: Chunk, frames: dict[str, pd.DataFrame]) -> None:
        for api, frame in frames.items():
            if frame.empty:
                continue
            months = frame["trade_date"].dt.strftime("%Y-%m")
            for month, part in frame.groupby(months, sort=False):
                folder = self.spill / month / api
                folder.mkdir(parents=True, exist_ok=True)
                part.to_parquet(folder / f"{chunk.id}.parquet", index=False)


def _fetch(source: Source, chunk: Chunk) -> dict[str, pd.DataFrame]:
    """The chunk's rows of its interface. Non-stock codes (stk_limit lists funds and B shares) are
    kept here; the month's build joins on the selected stocks only."""
    results = source.query_many(chunk.calls)
    parts = [frame for frame in results if len(frame)]
    return {chunk.api: pd.concat(parts, ignore_index=True) if parts else typed_frame(APIS[chunk.api].requested, [])}


def _encode(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, compression="zstd")
    return sink.getvalue()
