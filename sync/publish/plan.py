"""Plan a publish as data: the one commit (adds and deletes) and the state it carries.

Pure: takes shard tables and facts, returns a `Commit` or None when nothing would change.
Every invariant is checked here, before anything reaches a repo; a violation raises
`InvariantError` and nothing is published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from dataset_script.card import front_matter, render_card
from dataset_script.card_facts import Coverage, LastRun
from dataset_script.schema import (
    CALENDAR_CSV,
    CALENDAR_PATH,
    CARD_PATH,
    CHANGES_PATH,
    DAY_STATUSES,
    DAYS_PATH,
    INDEX_PREFIX,
    LAST_UPDATE_PATH,
    RUNS_PATH,
    STATE_PATH,
    STOCKS_PATH,
    is_by_code,
    is_own_path,
    shard_month,
)
from dataset_script.state import ShardInfo, SourceIdentity, SyncState
from sync.core.clock import ymd
from sync.core.errors import SyncError
from sync.core.files import write_atomic
from sync.runs.history import runs_table
from sync.tables import indexes as index_tables
from sync.tables.by_code import digest_text, expected_counts, layout, rows_digest
from sync.tables.meta import calendar_csv
from sync.tables.restatements import changed_rows, changes_table, no_changes
from sync.tables.shards import (
    coverage_problems,
    published_nbytes,
    sha256,
    shard_days,
    shard_problems,
    shard_to_parquet,
    to_parquet,
)
from sync.tables.stock_facts import example_code, priced_codes
from sync.targets.commit import Commit, Content, content_bytes


class InvariantError(SyncError):
    """The data about to be published breaks the contract; nothing was published."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n  - ".join(self.problems)
        super().__init__(
            f"refusing to publish, the dataset invariants do not hold:\n  - {lines}\nNothing was published. "
            "Run `python -m sync verify` to see the state of the repo; `python -m sync full` rebuilds it"
        )


@dataclasses.dataclass(frozen=True)
class BuiltShard:
    """A month's shard as it will be published: its content plus what the checks need.

    Encoding right after building keeps a rebuild's memory at the size of the Parquet bytes rather
    than of the Arrow table; built with `spill`, the bytes go to a file there at once and only its
    path stays in memory, so a full rebuild's memory does not grow with the months it holds.
    """

    content: Content
    info: ShardInfo
    days: tuple[dt.date, ...]
    problems: tuple[str, ...]

    @property
    def data(self) -> bytes:
        """The Parquet bytes (read from the spill file when there is one)."""
        return content_bytes(self.content)

    @classmethod
    def build(cls, path: str, table: pa.Table, spill: Path | None = None) -> BuiltShard:
        """`spill`: a folder to write the shard to (named by its sha256), e.g. a run's scratch folder."""
        return cls.encoded(table, shard_to_parquet(table), tuple(shard_problems(path, table)), spill)

    @classmethod
    def encoded(cls, table: pa.Table, data: bytes, problems: tuple[str, ...], spill: Path | None = None) -> BuiltShard:
        """`table` as the Parquet bytes `data` (a monthly shard or a by_code file), with its info and problems."""
        days = tuple(shard_days(table))
        info = ShardInfo(
            rows=table.num_rows,
            sha256=sha256(data),
            first_date=days[0] if days else dt.date.min,
            last_date=days[-1] if days else dt.date.min,
            days=len(days),
            bytes=len(data),
            memory_bytes=published_nbytes(table),
            digest=digest_text(rows_digest(table)),
        )
        content: Content = data
        if spill is not None:
            spill.mkdir(parents=True, exist_ok=True)
            content = spill / f"{info.sha256}.parquet"
            if not content.is_file():  # the same bytes may be built again when a commit is re-planned
                write_atomic(content, data)
        return cls(content, info, days, problems)


@dataclasses.dataclass(frozen=True)
class PublishInput:
    shards: Mapping[str, BuiltShard]  # shards this run (re)built, complete months
    stocks: pa.Table
    calendar: pa.Table
    days: pa.Table  # meta/days.parquet: the manifest of every published day
    trading_days: Sequence[dt.date]  # SSE trading days from first_date through the watermark
    first_date: dt.date
    watermark: dt.date
    markets: tuple[str, ...]
    run: Mapping  # summary of this run, stored in the state
    replace_all: bool  # a rebuild of everything: shards not in `shards` are deleted
    run_rows: Sequence[Mapping] = ()  # meta/runs rows to append: earlier failures, then this run (last)
    runs_before: pa.Table | None = None  # meta/runs.parquet at the head
    changes: pd.DataFrame | None = None  # restatements of published values made by this run
    changes_before: pa.Table | None = None  # meta/changes.parquet at the head
    source: SourceIdentity | None = None  # where the rows come from (None: keep the state's)
    retired: Sequence[str] = ()  # legacy files this commit deletes (a migration)
    calendar_csv: bool = False  # the repo owns the old calendar.csv: regenerate it from `calendar`
    indexes: index_tables.IndexTables | None = None  # index/ files (None: keep the head's as they are)
    by_code: Mapping[str, BuiltShard] = dataclasses.field(default_factory=dict)  # by_code files (re)built
    shard_digests: Mapping[str, str] = dataclasses.field(default_factory=dict)  # digests of kept shards without one


def plan_commit(
    planned: PublishInput,
    previous: SyncState | None,
    existing_files: Sequence[str],
    repo_id: str,
    card_before: bytes | None = None,
    folder: str | None = None,
) -> tuple[Commit | None, SyncState]:
    """The commit that publishes `planned` on top of `previous`, or None when nothing changes.

    `card_before` is the head's README.md: its front-matter keys that the generator does not own
    (e.g. a license the maintainer set on the Hub) are kept in the new card. `folder`: the name of
    the local folder published to (its card shows folder snippets), None for the Hub.
    """
    encoded = {path: built.content for path, built in planned.shards.items()}
    infos = {path: built.info for path, built in planned.shards.items()}
    kept = {} if planned.replace_all or previous is None else dict(previous.shards)
    shards = {**kept, **infos}
    shards |= {p: dataclasses.replace(shards[p], digest=d) for p, d in planned.shard_digests.items() if p in shards}
    by_code = _by_code_state(planned, previous, shards)
    problems = [p for built in [*planned.shards.values(), *planned.by_code.values()] for p in built.problems]
    problems += _by_code_problems(by_code, shards, planned.watermark.year)
    problems += _coverage(planned, shards)
    problems += _manifest_problems(planned.days, planned.trading_days, shards)
    if not planned.replace_all:  # a rebuild of everything deletes them instead
        problems += [
            f"{p}: a shard that {STATE_PATH} does not record (written by someone else?); delete it"
            for p in existing_files
            if shard_month(p) is not None and p not in shards
        ]
    days = planned.days
    index_files: dict[str, bytes] = {}
    if planned.indexes is not None:
        problems += index_tables.problems(planned.indexes, planned.trading_days)
        days = index_tables.with_index_missing(days, planned.indexes.missing(planned.trading_days))
        index_files = planned.indexes.files()
    if problems:
        raise InvariantError(problems)

    data_files = {
        STOCKS_PATH: to_parquet(planned.stocks),
        CALENDAR_PATH: to_parquet(planned.calendar),
        DAYS_PATH: to_parquet(days),
        LAST_UPDATE_PATH: ymd(planned.watermark).encode(),
        **({CALENDAR_CSV: calendar_csv(planned.calendar)} if planned.calendar_csv else {}),
        **index_files,
    }
    old_shards = previous.shards if previous else {}
    changed = {p: d for p, d in encoded.items() if p not in old_shards or old_shards[p].sha256 != infos[p].sha256}
    old_by_code = previous.by_code if previous else {}
    changed |= {
        p: built.content
        for p, built in planned.by_code.items()
        if p not in old_by_code or old_by_code[p].sha256 != built.info.sha256
    }
    deletes = sorted(
        _stale_files(existing_files, shards, planned.replace_all)
        + [p for p in planned.retired if p in existing_files]
        + [
            p
            for p in existing_files
            if planned.indexes is not None and p.startswith(INDEX_PREFIX) and p not in index_files
        ]
        + [p for p in existing_files if is_by_code(p) and p not in by_code]
    )
    kept_index = {  # no index tables planned: the head's index/ files stay, and so does their record
        p: d
        for p, d in (previous.files.items() if previous and planned.indexes is None else ())
        if p.startswith(INDEX_PREFIX)
    }
    source = planned.source or (previous.source if previous else None)
    data_digests = {path: sha256(data) for path, data in data_files.items()}
    # Run history alone never makes a commit: a run with nothing new leaves no trace.
    if previous is not None and (
        not changed
        and not deletes
        and {p: previous.files.get(p) for p in data_digests} == data_digests
        and previous.watermark == planned.watermark
        and previous.first_date == planned.first_date
        and set(previous.shards) == set(shards)
        and previous.by_code == by_code
        and previous.source == source
    ):
        return None, previous
    # Tag YYYYMMDD names the first commit complete through that day and never moves: a later commit
    # with the same watermark (a restatement, logged in meta/changes) gets no date tag.
    tag = ymd(planned.watermark) if previous is None or previous.watermark != planned.watermark else None
    changes = changes_table(planned.changes_before, _changes(planned))
    files: dict[str, bytes] = {**data_files, CHANGES_PATH: to_parquet(changes)}
    files_changed = _files_changed({**changed, **files}, set(changed), deletes, previous)
    runs = _with_counts(planned, previous, tag, files_changed)
    coverage = Coverage(
        first_date=planned.first_date,
        watermark=planned.watermark,
        rows=sum(s.rows for s in shards.values()),
        codes=priced_codes(planned.stocks, planned.trading_days),
        trading_days=len(planned.trading_days),
        markets=planned.markets,
        fingerprint=sha256("".join(s.sha256 for _, s in sorted(shards.items())).encode())[:16],
        data_bytes=sum(s.bytes for s in shards.values()),
        memory_bytes=sum(s.memory_bytes for s in shards.values()),
        partial_days=days_with_status(planned.days, "partial"),
        last_run=LastRun.from_run(runs[-1]) if runs else None,
        stocks=planned.stocks.num_rows,
        example_code=example_code(planned.stocks, planned.trading_days),
    )
    history = {"runs": runs_table(planned.runs_before, runs), "changes": changes}
    coverage = dataclasses.replace(coverage, empty_tables=tuple(name for name, t in history.items() if t.num_rows == 0))
    if planned.indexes is not None:
        coverage = dataclasses.replace(coverage, **planned.indexes.card_facts(index_files))
    files = {
        **files,
        RUNS_PATH: to_parquet(history["runs"]),
        CARD_PATH: render_card(coverage, repo_id, kept=front_matter(card_before), folder=folder).encode(),
    }
    state = SyncState(
        watermark=planned.watermark,
        first_date=planned.first_date,
        markets=planned.markets,
        shards=shards,
        files={**kept_index, **{path: sha256(data) for path, data in files.items()}},
        last_run=dict(planned.run),
        source=source,
        by_code=by_code,
    )
    adds = {**changed, **files, STATE_PATH: state.to_json().encode()}
    _check_own(adds, deletes, planned)
    message = f"{planned.run.get('kind', 'sync')}: data through {planned.watermark.isoformat()}"
    return Commit(adds=adds, deletes=deletes, message=message, tag=tag), state


def _by_code_state(
    planned: PublishInput, previous: SyncState | None, shards: Mapping[str, ShardInfo]
) -> dict[str, ShardInfo]:
    """What the state records of config by_code: the files of the layout for these shards, each as
    this run built it or as the head publishes it (absent: missing, reported by `_by_code_problems`)."""
    old = previous.by_code if previous else {}
    months = [m for p in shards if (m := shard_month(p)) is not None]
    files = {}
    for path in layout(months, planned.watermark.year):
        info = planned.by_code[path].info if path in planned.by_code else old.get(path)
        if info is not None:
            files[path] = info
    return files


def _by_code_problems(
    by_code: Mapping[str, ShardInfo], shards: Mapping[str, ShardInfo], watermark_year: int
) -> list[str]:
    """Config by_code holds exactly the default config's rows: per file, the rows and the digest
    that the monthly shards of its months add up to; every month in exactly one file."""
    rows = {m: info.rows for p, info in shards.items() if (m := shard_month(p)) is not None}
    digests = {m: info.digest for p, info in shards.items() if (m := shard_month(p)) is not None and info.digest}
    expected = layout(rows, watermark_year)
    problems = [f"{path}: missing from config by_code" for path in sorted(set(expected) - set(by_code))]
    for path, info in sorted(by_code.items()):
        want_rows, want_digest = expected_counts(path, rows, digests)
        if info.rows != want_rows:
            problems.append(f"{path}: {info.rows} rows, its months' shards hold {want_rows}")
        elif want_digest is None:
            problems.append(f"{path}: a month of it has no digest to compare with")
        elif info.digest != want_digest:
            problems.append(
                f"{path}: its rows differ from its months' shards (digest {info.digest}, expected {want_digest})"
            )
    return problems


def _coverage(planned: PublishInput, shards: Mapping[str, ShardInfo]) -> list[str]:
    """Days present per shard: read from rebuilt tables, derived from the state for the others."""
    days_by_shard = {}
    for path, info in shards.items():
        if path in planned.shards:
            days_by_shard[path] = list(planned.shards[path].days)
            continue
        days = [d for d in planned.trading_days if info.first_date <= d <= info.last_date]
        if len(days) != info.days:
            return [f"{path}: state records {info.days} trading days, the calendar has {len(days)}; run a full sync"]
        days_by_shard[path] = days
    return coverage_problems(days_by_shard, planned.trading_days, planned.watermark)


def _stale_files(existing: Sequence[str], shards: Mapping[str, ShardInfo], replace_all: bool) -> list[str]:
    """Files a commit removes: after a rebuild of everything, shards that no longer belong. A loading
    script is the maintainer's file, never deleted (`verify` reports it: it breaks load_dataset)."""
    return [p for p in existing if shard_month(p) is not None and p not in shards] if replace_all else []


def _check_own(adds: Mapping[str, Content], deletes: Sequence[str], planned: PublishInput) -> None:
    """A publish writes and deletes only the project's own paths (and, migrating, the retired CSV)."""
    outside = [p for p in adds if not is_own_path(p, planned.calendar_csv)]
    outside += [p for p in deletes if not is_own_path(p, planned.calendar_csv) and p not in planned.retired]
    if outside:
        raise InvariantError([f"{p}: not one of the sync's own paths; a publish never changes it" for p in outside])


def _manifest_problems(days: pa.Table, trading_days: Sequence[dt.date], shards: Mapping[str, ShardInfo]) -> list[str]:
    """meta/days.parquet lists exactly the published trading days, with valid statuses and row counts."""
    listed = days.column("date").to_pylist()
    problems = []
    if listed != sorted(trading_days):
        extra = sorted(set(listed) - set(trading_days))
        missing = sorted(set(trading_days) - set(listed))
        problems.append(
            f"{DAYS_PATH} does not list exactly the published trading days "
            f"(missing {[d.isoformat() for d in missing[:3]]}, extra {[d.isoformat() for d in extra[:3]]})"
        )
    bad = set(days.column("status").to_pylist()) - set(DAY_STATUSES)
    if bad:
        problems.append(f"{DAYS_PATH}: unknown status {sorted(bad)}")
    if sum(days.column("rows").to_pylist()) != sum(s.rows for s in shards.values()):
        problems.append(f"{DAYS_PATH}: its row counts do not add up to the shards' rows")
    return problems


def days_with_status(days: pa.Table, status: str) -> int:
    return sum(1 for s in days.column("status").to_pylist() if s == status)


def _changes(planned: PublishInput) -> pd.DataFrame:
    return planned.changes if planned.changes is not None else no_changes()


def _with_counts(
    planned: PublishInput, previous: SyncState | None, tag: str | None, files_changed: list[str]
) -> list[dict]:
    """The run rows, this run's (the last) completed with what it added and changed."""
    rows = [dict(r) for r in planned.run_rows]
    if not rows:
        return rows
    dates = planned.days.column("date").to_pylist()
    counts = planned.days.column("rows").to_pylist()
    new = [n for d, n in zip(dates, counts, strict=True) if previous is None or d > previous.watermark]
    rows[-1].update(
        days_added=len(new),
        rows_added=sum(new),
        rows_changed=changed_rows(_changes(planned)),
        watermark_before=previous.watermark if previous else None,
        watermark_after=planned.watermark,
        tag=tag,
        files_changed=files_changed,
    )
    return rows


# Files every publishing commit rewrites: the run history gains a row, so the card (last run) and
# the state (file digests) change with it.
ALWAYS_CHANGED = (RUNS_PATH, CARD_PATH, STATE_PATH)


def _files_changed(
    adds: Mapping[str, Content], shards_changed: set[str], deletes: Sequence[str], previous: SyncState | None
) -> list[str]:
    """The paths this commit adds, changes or deletes: rebuilt shards whose bytes differ, other files
    whose digest differs from the state's record (unrecorded ones count as changed), the deletes."""
    known = previous.files if previous else {}
    other = [
        path
        for path, data in adds.items()
        if path not in shards_changed and known.get(path) != sha256(content_bytes(data))
    ]
    return sorted({*shards_changed, *other, *deletes, *ALWAYS_CHANGED})
