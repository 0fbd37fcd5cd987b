"""Re-check every invariant of a published repo, from its files alone, and describe its status."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from dataset_script.schema import (
    CALENDAR_CSV,
    CALENDAR_CSV_FIRST,
    CALENDAR_PATH,
    CALENDAR_SCHEMA,
    CARD_PATH,
    DATA_GLOB,
    DAY_STATUSES,
    DAYS_PATH,
    DAYS_SCHEMA,
    LAST_UPDATE_PATH,
    LEGACY_CSV,
    LEGACY_TAG,
    SCHEMA_VERSION,
    STATE_PATH,
    STOCKS_PATH,
    STOCKS_SCHEMA,
    is_legacy_layout,
    is_loading_script,
    shard_month,
)
from dataset_script.state import SyncState
from sync.core.clock import shanghai_date, ymd
from sync.core.errors import SyncError
from sync.publish.head import Head
from sync.publish.plan import days_with_status
from sync.publish.verify_by_code import by_code_problems
from sync.publish.verify_indexes import index_problems
from sync.tables.meta import calendar_csv
from sync.tables.shards import coverage_problems, from_parquet, sha256, shard_days, shard_problems
from sync.targets import DatasetRepo
from sync.targets.repo import ForeignFilesError, foreign_refusal


def verify_repo(repo: DatasetRepo) -> list[str]:
    """Every contract violation found in the repo's head; empty when it is consistent."""
    if repo.legacy_layout():
        return [str(repo.legacy_error())]
    try:
        head = Head.read(repo)
    except SyncError as error:
        return [str(error)]
    state = head.state
    if state is None:
        refusal = foreign_refusal(head.description, head.files)
        return [str(refusal) if refusal else f"{repo.description} has no {STATE_PATH}; run `python -m sync full`"]
    files = set(head.files)
    problems = _meta_problems(head, state, files)
    if state.schema_version != SCHEMA_VERSION:
        problems.append(
            f"{STATE_PATH}: schema version {state.schema_version}, this sync writes {SCHEMA_VERSION}; "
            f"rebuild once with `python -m sync full --start {ymd(state.first_date)}`"
        )
    if LEGACY_CSV in files:
        problems.append(
            f"{LEGACY_CSV}: a leftover of the old pipeline beside the new layout (readers and "
            f"`hf download` adoption trip on it); delete it from the repo, keeping it at a tag first "
            f"(e.g. `{LEGACY_TAG}`) if readers still need it"
        )
    calendar_data = head.read_bytes(CALENDAR_PATH) if CALENDAR_PATH in files else None
    calendar = from_parquet(calendar_data) if calendar_data is not None else None
    days_by_shard: dict[str, list[dt.date]] = {}
    rows_by_day: dict[dt.date, int] = {}
    for path in sorted(p for p in files if shard_month(p) is not None):
        data = head.read_bytes(path) or b""  # listed in this head, so present; b"" reads as unreadable
        try:
            table = from_parquet(data)
        except (pa.ArrowException, OSError):
            problems.append(
                f"{path}: not a readable Parquet file (truncated or corrupted); `python -m sync full` rebuilds it"
            )
            continue
        problems += shard_problems(path, table)
        info = state.shards.get(path)
        if info is None:
            problems.append(f"{path}: not recorded in {STATE_PATH}")
        elif info.sha256 != sha256(data) or info.rows != table.num_rows:
            problems.append(f"{path}: content differs from {STATE_PATH} (sha256 or row count)")
        days_by_shard[path] = shard_days(table)
        counts = table.group_by("date").aggregate([([], "count_all")])
        rows_by_day.update(zip(counts.column("date").to_pylist(), counts.column("count_all").to_pylist(), strict=True))
    problems += [f"{path}: listed in {STATE_PATH} but missing" for path in sorted(set(state.shards) - files)]
    problems += _calendar_csv_problems(head, state, calendar)
    expected = None
    if calendar is not None:
        open_days = calendar.filter(pc.field("is_open")).column("date").to_pylist()
        expected = [d for d in open_days if state.first_date <= d <= state.watermark]
        problems += coverage_problems(days_by_shard, expected, state.watermark)
    problems += index_problems(head, state, expected)
    problems += by_code_problems(head, state, files)
    problems += _manifest_problems(head.read_bytes(DAYS_PATH) if DAYS_PATH in files else None, rows_by_day)
    return problems


def _calendar_csv_problems(head: Head, state: SyncState, calendar: pa.Table | None) -> list[str]:
    """Where the repo owns the old calendar.csv (its state lists it): the open days of
    meta/calendar.parquet from 2005 on, in the old format."""
    if CALENDAR_CSV not in state.files:
        return []
    data = head.read_bytes(CALENDAR_CSV)
    fix = "the next sync rewrites it"
    if data is None:
        return [f"{CALENDAR_CSV} is missing; {fix}"]
    if calendar is None or calendar.num_rows == 0 or calendar.column("date")[0].as_py() > CALENDAR_CSV_FIRST:
        return [
            f"{CALENDAR_PATH} does not start by {CALENDAR_CSV_FIRST.isoformat()}, so {CALENDAR_CSV} cannot be checked"
        ]
    if data != calendar_csv(calendar):
        return [
            f"{CALENDAR_CSV} is not the SSE trading days of {CALENDAR_PATH} from {CALENDAR_CSV_FIRST.year} "
            f"(header cal_date, one YYYY-MM-DD line per day, LF line ends); {fix}"
        ]
    return []


def _manifest_problems(data: bytes | None, rows_by_day: dict[dt.date, int]) -> list[str]:
    """meta/days.parquet names every published day once, with its shard row count and a valid status."""
    if data is None:
        return [f"{DAYS_PATH} is missing; the next sync writes it"]
    days = from_parquet(data)
    if days.schema.remove_metadata() != DAYS_SCHEMA:
        return [f"{DAYS_PATH}: columns or types differ from the contract"]
    listed = dict(zip(days.column("date").to_pylist(), days.column("rows").to_pylist(), strict=True))
    problems = []
    if len(listed) != days.num_rows or sorted(listed) != sorted(rows_by_day):
        problems.append(f"{DAYS_PATH} does not list exactly the days in the shards")
    wrong = sorted(d for d, n in listed.items() if d in rows_by_day and rows_by_day[d] != n)
    if wrong:
        problems.append(
            f"{DAYS_PATH}: row counts differ from the shards on {len(wrong)} day(s), first {wrong[0].isoformat()}"
        )
    bad = set(days.column("status").to_pylist()) - set(DAY_STATUSES)
    if bad:
        problems.append(f"{DAYS_PATH}: unknown status {sorted(bad)}")
    return problems


def status_of(repo: DatasetRepo, now: dt.datetime) -> dict:
    """Freshness and size facts for `status` and the dashboard."""
    if repo.legacy_layout():  # before reading the head: a legacy folder has none
        return {
            "repo": repo.description,
            "published": False,
            "legacy_layout": True,
            "message": str(repo.legacy_error()),
        }
    try:
        head = Head.read(repo)
    except ForeignFilesError as error:  # a plain folder of someone else's
        return {"repo": repo.description, "published": False, "legacy_layout": False, "message": str(error)}
    return status_at(head, now)


def status_at(head: Head, now: dt.datetime) -> dict:
    """`status_of` for a head already read."""
    state = head.state
    if state is None:
        if is_legacy_layout(head.files):
            return {
                "repo": head.description,
                "published": False,
                "legacy_layout": True,
                "message": str(head.repo.legacy_error()),
            }
        facts = {"repo": head.description, "published": False, "legacy_layout": False}
        refusal = foreign_refusal(head.description, head.files)
        return {**facts, "message": str(refusal)} if refusal else facts
    lag = None
    calendar = head.calendar()
    if calendar is not None:
        calendar = calendar.filter(pc.field("is_open"))
        today = shanghai_date(now)
        lag = sum(1 for d in calendar.column("date").to_pylist() if state.watermark < d <= today)
    return {
        "repo": head.description,
        "published": True,
        "commit": head.commit,
        "watermark": state.watermark.isoformat(),
        "last_update_date": ymd(state.watermark),
        "first_date": state.first_date.isoformat(),
        "trading_days_behind": lag,
        "markets": list(state.markets),
        "rows": state.rows,
        "trading_days": sum(s.days for s in state.shards.values()),
        "shards": len(state.shards),
        "shard_files": [
            {
                "path": path,
                "rows": info.rows,
                "first_date": info.first_date.isoformat(),
                "last_date": info.last_date.isoformat(),
            }
            for path, info in sorted(state.shards.items())
        ],
        "schema_version": state.schema_version,
        "source": state.source.to_json() if state.source else None,
        "legacy_layout": False,
        "last_run": dict(state.last_run),
        "partial_days": _partial_days(head),
    }


def _partial_days(head: Head) -> int | None:
    days = head.table(DAYS_PATH)
    return None if days is None else days_with_status(days, "partial")


def _meta_problems(head: Head, state: SyncState, files: set[str]) -> list[str]:
    problems = []
    marker = head.read_bytes(LAST_UPDATE_PATH)
    if marker is None or marker.decode().strip() != ymd(state.watermark):
        problems.append(f"{LAST_UPDATE_PATH} does not name the watermark {ymd(state.watermark)}")
    for path, schema in ((STOCKS_PATH, STOCKS_SCHEMA), (CALENDAR_PATH, CALENDAR_SCHEMA)):
        data = head.read_bytes(path) if path in files else None
        if data is None:
            problems.append(f"{path} is missing")
        elif from_parquet(data).schema.remove_metadata() != schema:
            problems.append(f"{path}: columns or types differ from the contract")
    scripts = sorted(p for p in files if is_loading_script(p))
    if scripts:
        problems.append(f"{', '.join(scripts)}: a loading script makes load_dataset fail; delete it")
    card = head.read_bytes(CARD_PATH)
    if card is None or not _default_config_is_shards(card.decode()):
        problems.append(f"{CARD_PATH}: the default config must load {DATA_GLOB} only")
    return problems


def _default_config_is_shards(card: str) -> bool:
    if not card.startswith("---"):
        return False
    header = yaml.safe_load(card.split("---", 2)[1]) or {}
    for config in header.get("configs", []):
        if config.get("config_name") == "default":
            paths = [f.get("path") for f in config.get("data_files", []) if isinstance(f, dict)]
            return paths == [DATA_GLOB]
    return False
