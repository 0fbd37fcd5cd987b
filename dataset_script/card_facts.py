"""The facts a dataset card is rendered from: what the data covers (`Coverage`) and the run that
published it (`LastRun`). Plain data, read by `dataset_script.card` and `card_sections`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from dataset_script.schema import SCHEMA_VERSION


@dataclasses.dataclass(frozen=True)
class LastRun:
    """The run that published this version (a row of meta/runs.parquet), as the card shows it."""

    kind: str  # full / delta
    trigger: str  # schedule / button / cli / catch-up / resume
    finished_at: dt.datetime  # timezone-aware; shown in UTC
    status: str
    days_added: int | None = None
    rows_added: int | None = None
    rows_changed: int | None = None

    @classmethod
    def from_run(cls, run: Mapping) -> LastRun:
        """From a run summary or a meta/runs.parquet row as a dict; `finished_at` a datetime or ISO text.

        >>> LastRun.from_run({"kind": "delta", "trigger": "cli", "finished_at": "2024-04-12T21:05:00+08:00"}).status
        'success'
        """
        finished = run["finished_at"]
        finished = finished if isinstance(finished, dt.datetime) else dt.datetime.fromisoformat(finished)
        counts = {
            key: None if run.get(key) is None else int(run[key]) for key in ("days_added", "rows_added", "rows_changed")
        }
        return cls(
            kind=run["kind"],
            trigger=run["trigger"],
            finished_at=finished,
            status=run.get("status", "success"),
            **counts,
        )


@dataclasses.dataclass(frozen=True)
class Coverage:
    first_date: dt.date
    watermark: dt.date
    rows: int
    codes: int  # codes with price rows (listed on at least one published trading day)
    trading_days: int
    markets: tuple[str, ...]
    fingerprint: str  # digest of every shard's sha256: changes whenever any row changes
    data_bytes: int  # total size of the shards
    memory_bytes: int = 0  # their Arrow size in memory: the split's num_bytes
    partial_days: int = 0  # published days below the completeness threshold (see meta/days.parquet)
    schema_version: int = SCHEMA_VERSION
    last_run: LastRun | None = None  # the run that publishes this commit; None: not shown
    # Meta configs whose table has no rows (e.g. "changes" before the first restatement). `datasets`
    # 5.2 cannot load an empty split (ValueError: Instruction "train" corresponds to no data!), so
    # such a config is left out of `configs:` until it has rows; the file itself is still published.
    empty_tables: tuple[str, ...] = ()
    stocks: int | None = None  # rows of meta/stocks (every stock ever seen); None: not shown
    example_code: str = "600000.SH"  # a code with rows on the newest day: the card's snippets use it
    # Index universes (docs/dataset.md#indexes): (code, name) of SYNC_INDEXES with published bars,
    # the rows of index_prices and index_weights, and a digest of their files (the card changes with them).
    indexes: tuple[tuple[str, str], ...] = ()
    index_rows: tuple[int, int] = (0, 0)
    index_fingerprint: str = ""
