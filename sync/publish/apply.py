"""Apply a planned commit once: read the head, plan on it, commit with it as parent.

When another writer moved the head meanwhile, the adapter refuses the commit
(`ConcurrentWriteError`); the plan is rebuilt on the new head and applied again, a bounded number
of times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from dataset_script.schema import CARD_PATH
from sync.core.errors import TransientError
from sync.core.killpoints import reached
from sync.publish.head import Head
from sync.publish.plan import PublishInput, plan_commit
from sync.runs import failures
from sync.targets import ConcurrentWriteError, DatasetRepo
from sync.targets.commit import content_size
from sync.targets.local import LocalFolderRepo

log = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 3


def apply_once(
    repo: DatasetRepo,
    build: Callable[[Head], PublishInput],
    repo_id: str,
    *,
    damaged_state_ok: bool = False,
    prepare: Callable[[], bytes | None] | None = None,
) -> tuple[str | None, int]:
    """Plan on the current head and commit with it as parent; re-plan when another writer won.

    The new card keeps the head card's own front-matter keys. `prepare` runs before each attempt
    reads the head (a migration sets the legacy layout aside there) and may return the card whose
    front matter to keep when the head has none.
    Returns (commit id or None when nothing changed, bytes written).
    """
    kept_card = None
    for _ in range(COMMIT_ATTEMPTS):
        if prepare is not None:
            kept_card = prepare() or kept_card
        head = Head.read(repo, damaged_ok=damaged_state_ok)  # a rebuild of everything replaces a damaged state
        planned = build(head)
        card = head.read_bytes(CARD_PATH) or kept_card
        commit, _ = plan_commit(planned, head.state, list(head.files), repo_id, card_before=card, folder=_folder(repo))
        if commit is None:
            return None, 0
        try:
            reached("commit.before")
            commit_id = repo.commit(commit, parent=head.commit)
            reached("commit.after")
        except ConcurrentWriteError:
            log.warning("another writer committed to %s meanwhile; re-reading and re-planning", repo.description)
            continue
        recorded = planned.runs_before.column("run_id").to_pylist() if planned.runs_before is not None else []
        failures.forget(repo, [r["run_id"] for r in planned.run_rows[:-1]] + recorded)  # a lost forget, too
        return commit_id, sum(content_size(data) for data in commit.adds.values())
    raise TransientError(
        f"{repo.description} kept changing under this run ({COMMIT_ATTEMPTS} attempts); nothing was published, run again"
    )


def _folder(repo: DatasetRepo) -> str | None:
    """The name of a local folder target (its card shows folder snippets); None for the Hub."""
    return repo.path.name if isinstance(repo, LocalFolderRepo) else None
