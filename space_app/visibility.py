"""Whether this app may serve the published rows: a public Space never serves a private or gated dataset.

The rows (Explore's chart, its stock list and its row table) are served when the dataset is a
local folder, or a public, ungated Hub dataset, or when the app runs as a private Space. Both
visibilities are read with the Space's own token (`HF_TOKEN`): the dataset's repo info
(`private`, `gated`) and the Space's own (`SPACE_ID`). Whatever cannot be read counts as
restricted: an unreadable dataset as private, an unreadable Space as public. Off a Space
(`SPACE_ID` unset) nobody can tell who reaches the app, so it counts as public too. Freshness
figures (the status JSON, the days calendar, the runs chart) never depend on this.

The answer is read at most every `ttl` seconds (two Hub API calls), only when rows are asked for.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
TTL = 600.0  # seconds between two reads of the visibilities


@dataclasses.dataclass(frozen=True)
class Seen:
    """What could be read: None where it could not."""

    dataset_private: bool | None  # private or gated (gated: "auto" or "manual")
    space_private: bool | None  # None off a Space, too


def refusal(seen: Seen) -> str | None:
    """Why rows are not served, or None when they may be. Pure."""
    if seen.dataset_private is False or seen.space_private is True:
        return None
    reason = (
        "the dataset's visibility could not be read"
        if seen.dataset_private is None
        else "the dataset is private or gated"
    )
    return (
        f"{reason} and this app is not a private Space, so it shows no rows (no chart, stock list or row "
        "table); freshness is on the Status tab. Make the Space private to see rows here, or read them with "
        "your own token (load_dataset)"
    )


def read(dataset_id: str, space_id: str | None, token: str | None) -> Seen:
    """Both visibilities from the Hub (HF_ENDPOINT), with `token`; what fails to read is None."""
    from huggingface_hub import HfApi

    api = HfApi(token=token or False)
    try:
        info = api.dataset_info(dataset_id)
        dataset_private: bool | None = bool(info.private) or bool(info.gated)
    except Exception as error:  # noqa: BLE001 - fail closed: shown as the reason, logged once per read
        log.warning("could not read the dataset's visibility: %s", type(error).__name__)
        dataset_private = None
    space_private: bool | None = None
    if space_id and dataset_private is not False:
        try:
            space_private = bool(api.space_info(space_id).private)
        except Exception as error:  # noqa: BLE001 - fail closed: an unreadable Space counts as public
            log.warning("could not read the Space's visibility: %s", type(error).__name__)
    return Seen(dataset_private, space_private)


class RowsGate:
    """`refusal()` for one app: None for a folder target; for a Hub dataset, `read` at most every `ttl` s."""

    def __init__(
        self,
        dataset_id: str | None,
        space_id: str | None,
        token: str | None,
        ttl: float = TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.dataset_id, self.space_id, self.token = dataset_id, (space_id or "").strip() or None, token
        self.ttl, self.monotonic = ttl, monotonic
        self.guard = threading.Lock()
        self.answer: str | None = None
        self.checked = float("-inf")

    def refusal(self) -> str | None:
        if self.dataset_id is None:
            return None
        with self.guard:
            if self.monotonic() - self.checked >= self.ttl:
                self.answer = refusal(read(self.dataset_id, self.space_id, self.token))
                self.checked = self.monotonic()
            return self.answer
