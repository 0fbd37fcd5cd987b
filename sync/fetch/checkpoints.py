"""Fetched chunks of a full sync: staged in the repo to survive an interruption, spilled to local
month files so that each month is built by reading only that month.

A chunk is staged as `<chunk id>/<api>.parquet` plus `<chunk id>/meta.json` (its days, its codes,
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
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from sync.core.clock import ymd
from sync.fetch.plan import Chunk, FetchPlan
from sync.core.killpoints import reached
from sync.targets import DatasetRepo
from sync.core.progress import Progress, ProgressCallback
from sync.fetch.source import Source
from sync.fetch.frames import DayFrames
from sync.tushare.apis import APIS, DAY_APIS
from sync.tushare.frames import typed_frame

log = logging.getLogger(__name__)


class Checkpoints:
    def __init__(self, repo: DatasetRepo, key: str, spill: Path, max_age: dt.timedelta, now: dt.datetime):
        self.repo, self.key, self.spill, self.max_age, self.now = repo, key, spill, max_age, now

    def fetch(self, plan: FetchPlan, source: Source, report: ProgressCallback, progress: bool = False,
              spilled: Callable[[int], None] = lambda _: None) -> None:
        """Every chunk of `plan` into the spill: from a reusable checkpoint, else from the source.

        `spilled(i)` is called once chunk `i` is in the spill (so the months it completes can be
        built while the next chunks are fetched).
        """
        staged = set(self.repo.stage_files(self.key))
        reused = 0
        chunks = tqdm(plan.chunks, desc=f"full ({plan.strategy})", unit="chunk", disable=not progress)
        for done, chunk in enumerate(chunks):
            report(Progress("fetch", done, len(plan.chunks), "chunk", source.client.total_calls))
            frames = self._reusable(chunk, staged)
            if frames is None:
                frames = _fetch(source, chunk)
                self.repo.stage_write(self.key, {**{f"{chunk.id}/{api}.parquet": _encode(frames[api]) for api in DAY_APIS},
                                                 f"{chunk.id}/meta.json": self._meta(chunk)})
                reached("checkpoint.staged")
            else:
                reused += 1
            self._spill(chunk, frames)
            del frames
            spilled(done)
        if reused:
            log.info("reusing %d of %d chunks already fetched by an earlier run", reused, len(plan.chunks))

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
        needed = {f"{chunk.id}/{api}.parquet" for api in DAY_APIS} | {f"{chunk.id}/meta.json"}
        if not needed <= staged:
            return None
        meta = json.loads(self.repo.stage_read(self.key, f"{chunk.id}/meta.json"))
        fetched_at = dt.datetime.fromisoformat(meta.get("fetched_at", "1970-01-01T00:00:00+00:00"))
        same = meta.get("days") == [ymd(d) for d in chunk.days] and meta.get("codes") == (list(chunk.codes) if chunk.codes else None)
        if not same or self.now - fetched_at > self.max_age:
            return None
        return {api: pd.read_parquet(io.BytesIO(self.repo.stage_read(self.key, f"{chunk.id}/{api}.parquet"))) for api in DAY_APIS}

    def _meta(self, chunk: Chunk) -> bytes:
        meta = {"days": [ymd(d) for d in chunk.days], "codes": list(chunk.codes) if chunk.codes else None,
                "fetched_at": self.now.isoformat(timespec="seconds")}
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
    results = source.query_many(chunk.calls)
    frames = {}
    for api in DAY_APIS:
        parts = [frame for (name, _), frame in zip(chunk.calls, results, strict=True) if name == api]
        frames[api] = pd.concat(parts, ignore_index=True) if parts else typed_frame(APIS[api].requested, [])
    return frames


def _encode(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, compression="zstd")
    return sink.getvalue()
