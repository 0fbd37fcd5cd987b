"""What a run checks before it fetches anything, so that no caller (CLI, the Space's buttons, its API,
its scheduler) can publish over data it must not touch:

- `check_target`: the embedded synthetic (demo) market never publishes to a Hub repo unless
  `SYNC_SOURCE=synthetic` asks for it. No I/O: nothing is created.
- `check_layout`: a target in the old pipeline's layout (`all-prices.csv`, no state) is migrated
  only on purpose (`full --migrate-legacy`).
- `check_foreign`: a target with no state, no `all-prices.csv` and files of someone else's is not
  published into (`dataset_script.schema.foreign_files`).
- `check_source`: the run's source is the one recorded in the state (`tushare`, or `synthetic`
  with its spec). A state written before sources were recorded has none; then one `daily` call
  for the newest published day decides: when its bars are the published ones (the same codes,
  the same closes), the state was built from this source and the next commit records it; when
  they differ the run refuses like any other mismatch. So an old Tushare repo is never taken
  over by the demo market, and an old demo folder keeps working with the demo market.
- `check_schema`: a delta never merges into shards of an older schema version; one full rebuild
  (`python -m sync full --start <first day>`) replaces them.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc

from dataset_script.schema import SCHEMA_VERSION, shard_path
from dataset_script.state import SourceIdentity, SyncState
from sync.core.clock import ymd
from sync.core.errors import SyncError
from sync.fetch.source import Source
from sync.publish.head import Head
from sync.targets import DatasetRepo, is_hub
from sync.targets.repo import foreign_refusal

log = logging.getLogger(__name__)

MATCHING_CLOSES = 0.99  # share of the common codes whose close must agree for "same source"


class SourceMismatchError(SyncError):
    """The run's source is not the one the published rows came from; nothing was fetched or changed."""


def check_target(repo: DatasetRepo, source: Source) -> None:
    """The synthetic market reaches a Hub repo only with SYNC_SOURCE=synthetic (checked before any I/O)."""
    if source.identity.kind != "synthetic" or not is_hub(repo.description) or source.explicit:
        return
    raise SourceMismatchError(
        f"{repo.description} is a Hub repo and TUSHARE_TOKEN is not set (an empty value counts as unset), so this "
        "run's source would be the embedded synthetic (demo) market, which never publishes to the Hub by itself. "
        "Set TUSHARE_TOKEN to your Tushare Pro token (and TUSHARE_API_URL for another Tushare-compatible server); "
        "to publish the demo market there on purpose, set SYNC_SOURCE=synthetic. Nothing was changed"
    )


def check_layout(repo: DatasetRepo, migrate_legacy: bool) -> bool:
    """True when the target is the legacy layout and this run migrates it; refuse it otherwise."""
    if not repo.legacy_layout():
        return False
    if not migrate_legacy:
        raise repo.legacy_error()
    return True


def check_foreign(head: Head) -> None:
    """Refuse a target without a state that holds foreign files (a legacy one is refused by `check_layout`)."""
    refusal = foreign_refusal(head.description, head.files)
    if refusal is not None:
        raise refusal


def check_schema(repo: DatasetRepo, state: SyncState) -> None:
    """A delta merges only into shards of this sync's schema version."""
    if state.schema_version == SCHEMA_VERSION:
        return
    raise SyncError(
        f"{repo.description} has schema version {state.schema_version}, this sync writes version {SCHEMA_VERSION} "
        f"(see the card's changelog); rebuild it once with `python -m sync full --start {ymd(state.first_date)}` "
        "(the same days, rewritten in the new format, one commit); nothing was changed"
    )


def check_source(head: Head | None, source: Source) -> SourceIdentity:
    """The identity to record in the next commit; refuse a run whose source differs from the one
    recorded at `head` (None, or a head without a state: nothing published, nothing to differ from)."""
    ours = source.identity
    state = head.state if head else None
    if head is None or state is None:
        return ours
    repo = head.repo
    recorded = state.source
    if recorded is None:
        if _same_bars(head, state, source):
            log.info(
                "%s records no source; its bars on %s are this run's source's (%s): recording it",
                repo.description,
                state.watermark.isoformat(),
                ours.describe(),
            )
            return ours
        raise SourceMismatchError(
            f"{repo.description} was published before sources were recorded, and its bars on "
            f"{state.watermark.isoformat()} are not those of this run's source ({ours.describe()}): "
            f"{_fix(repo, ours)}; nothing was changed"
        )
    if recorded != ours:
        raise SourceMismatchError(
            f"{repo.description} holds {_holds(recorded)}, and this run's source is {ours.describe()}: "
            f"{_fix(repo, ours, recorded)}; nothing was changed"
        )
    return ours


def _holds(recorded: SourceIdentity) -> str:
    return "Tushare data" if recorded.kind == "tushare" else f"{recorded.describe()}'s data"


def _fix(repo: DatasetRepo, ours: SourceIdentity, recorded: SourceIdentity | None = None) -> str:
    if ours.kind == "synthetic" and (recorded is None or recorded.kind == "tushare"):
        return "set TUSHARE_TOKEN to your Tushare Pro token (an empty value counts as unset)"
    where = "delete that Hub repo" if is_hub(repo.description) else f"remove {repo.description.removeprefix('folder ')}"
    return (
        f"publish this source's data to another target (--repo or DATASET_REPO), or {where} first "
        "(its data cannot be mixed with this source's)"
    )


def _same_bars(head: Head, state: SyncState, source: Source) -> bool:
    """Do the published bars of the newest published day match this source's (one `daily` call):
    nearly every published code has a bar there, with the same close?"""
    day = state.watermark
    table = head.table(shard_path(day))
    if table is None:
        return False
    rows = table.filter(pc.equal(table.column("date"), pa.scalar(day, pa.date32()))).to_pandas()
    published = rows.loc[~rows["is_paused"], ["code", "close"]]
    fetched = source.query("daily", trade_date=ymd(day))[["ts_code", "close"]].rename(columns={"ts_code": "code"})
    both = published.merge(fetched, on="code", suffixes=("_published", "_source"))
    if both.empty:
        return False
    agree = (both["close_published"] - both["close_source"]).abs() < 1e-6
    overlap = len(both) / len(published)  # the source also has other markets' bars
    return bool(agree.mean() >= MATCHING_CLOSES and overlap >= MATCHING_CLOSES)


def describe_source(state: SyncState | None) -> str | None:
    """For `status`: the recorded source, or None when nothing is published or none is recorded."""
    return state.source.describe() if state and state.source else None
