"""What can fail cheaply is checked before a run fetches anything: the Hub token, then the Tushare token.

A full sync spends thousands of Tushare calls (17–27 minutes at the quota) before its one commit;
a token that cannot write would only be found then. So `check` runs first, in this order:

1. Hub target: `GET /api/whoami-v2` with the token the repo uses (one request, no Tushare call).
   401 → the token is invalid or expired; role `read` → read-only; a fine-grained token is
   refused only when none of its scopes grants `repo.write` on the dataset or its owner. With no
   token at all, the public Hub (huggingface.co) takes no anonymous write, so that fails too; a
   Hub stand-in that allows them is left to answer at commit time. A Hub that cannot say (no
   such endpoint, a 5xx, no network) is not a reason to stop: the commit would tell.
2. Tushare: a run's first Tushare call is `trade_cal` for its calendar, one cheap call made
   after the source-identity guards and before any stock or price is fetched; a wrong or expired
   token fails there with the client's own message (what to set), so it needs no call of its own.

Messages say what to do and never contain a token.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping

import httpx2
from huggingface_hub import get_token
from huggingface_hub.errors import HfHubHTTPError

from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.core.scrub import scrub
from sync.fetch.source import Source
from sync.runs import failures
from sync.runs.result import RunInfo
from sync.targets import DatasetRepo, PublishError
from sync.targets.hub import HubRepo

log = logging.getLogger(__name__)
PUBLIC_HUB = "https://huggingface.co"
TOKENS_URL = "https://huggingface.co/settings/tokens"


def check(
    repo: DatasetRepo,
    source: Source,
    settings: Settings,
    now: dt.datetime,
    run: RunInfo | None = None,
    api_calls: Callable[[], Mapping[str, int]] | None = None,
) -> None:
    """Raise a `SyncError` that says what to do when the Hub token cannot write; nothing is fetched
    or changed before. With `run`, the refusal is kept as the run's
    failed row for the run history (see sync.runs.failures)."""
    try:
        check_hub_write(repo)
    except SyncError as error:
        if run is not None:
            message = scrub(str(error), _secrets(repo, settings))
            failures.record(repo, run.row("failed", api_calls() if api_calls else {}, message))
        raise


def _secrets(repo: DatasetRepo, settings: Settings) -> list[str | None]:
    api_token = getattr(getattr(repo, "api", None), "token", None)
    return [
        settings.tushare_token,
        settings.hf_token,
        settings.admin_token,
        api_token if isinstance(api_token, str) else None,
    ]


def check_hub_write(repo: DatasetRepo) -> None:
    if not isinstance(repo, HubRepo):
        return
    api, name = repo.api, f"datasets/{repo.repo_id}"
    token = api.token if isinstance(api.token, str) else get_token()
    fix = (
        f'create a token with write access to {name} at {TOKENS_URL} (role "Write", or a fine-grained '
        'token with "Write access to contents/settings" of that repo), set it as HF_TOKEN (a secret '
        "on a Space; then restart it) and run again; nothing was fetched or changed"
    )
    if not token:
        if api.endpoint.rstrip("/") == PUBLIC_HUB:
            raise PublishError(f"{repo.description}: no HF_TOKEN is set and the Hub takes no anonymous writes: {fix}")
        log.info("no HF token: write access to %s is left to the Hub to check at commit time", repo.description)
        return
    try:
        info = api.whoami(token=token)
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status == 401:
            raise PublishError(
                f"{repo.description}: the Hub does not accept HF_TOKEN (HTTP 401: invalid, expired or revoked): {fix}"
            ) from None
        log.warning(
            "could not check the Hub token's access to %s (HTTP %s); going on, the commit will tell",
            repo.description,
            status,
        )
        return
    except (httpx2.HTTPError, OSError, ValueError) as error:
        log.warning(
            "could not check the Hub token's access to %s (%s); going on, the commit will tell",
            repo.description,
            type(error).__name__,
        )
        return
    access = ((info.get("auth") or {}).get("accessToken") or {}) if isinstance(info, dict) else {}
    role = access.get("role")
    if role == "read":
        raise PublishError(f"{repo.description}: HF_TOKEN is a read-only token, so the sync could not publish: {fix}")
    if role == "fineGrained" and not _fine_grained_can_write(access.get("fineGrained"), repo.repo_id):
        raise PublishError(
            f"{repo.description}: HF_TOKEN is a fine-grained token without write access to {name}: {fix}"
        )


def _fine_grained_can_write(grants: object, repo_id: str) -> bool:
    """True unless the token's scopes are listed and none grants repo.write on the repo or its owner."""
    if not isinstance(grants, dict) or not isinstance(grants.get("scoped"), list):
        return True  # a shape we do not know: let the commit decide
    owner = repo_id.split("/")[0]
    for scope in grants["scoped"]:
        entity = (scope or {}).get("entity") or {}
        if "repo.write" not in ((scope or {}).get("permissions") or []):
            continue
        kind, entity_name = entity.get("type"), entity.get("name")
        if (kind in ("user", "org") and entity_name == owner) or (kind == "dataset" and entity_name == repo_id):
            return True
    return False
