"""`python -m sync full|delta|status|verify`: the same job from a terminal, a cron or a CI runner.

Exit codes: 0 success (including "nothing new" and "stopped before a day not yet published"),
1 failure (the repo is unchanged), 2 usage error. Messages name the fix and never a secret.

`full` and `delta` ride out passing failures (the Hub or Tushare having a bad minute) by running
again for at most 10 minutes (`sync.engine.retry`), then exit 1 so cron can run them again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dataset_script.state import SourceIdentity
from sync.core.clock import now_from_env, parse_ymd, ymd
from sync.core.config import Settings, parse_markets
from sync.core.errors import ConfigError, SyncError
from sync.core.scrub import scrub
from sync.runs.result import RunResult
from sync.targets import dataset_id, is_hub, open_repo

if TYPE_CHECKING:  # the engine is imported only by the commands that run it (a usage error stays quick)
    from sync.engine.run import RunRequest

log = logging.getLogger(__name__)


def main(
    argv: Sequence[str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Run one command; `sleep` and `clock` (real elapsed time) pace the retries of `full` and `delta`."""
    args = _parser().parse_args(argv)
    args.sleep, args.clock = sleep, clock
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpx2", "huggingface_hub", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = None
    try:
        settings = Settings.from_env()
        return args.command(args, settings)
    except SyncError as error:  # the run explained itself; the repo is unchanged
        log.debug("failure:\n%s", _shown_traceback(settings))
        print(f"error: {_shown(error, settings)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted: nothing was published; re-run to resume", file=sys.stderr)
        return 1
    except Exception as error:  # a bug or an unforeseen failure: still scrubbed, traceback at debug level
        log.debug("unexpected failure:\n%s", _shown_traceback(settings))
        print(f"error: {_shown(error, settings)} (unexpected; nothing was published)", file=sys.stderr)
        return 1


def _secrets(settings: Settings | None) -> tuple[str | None, ...]:
    return (settings.tushare_token, settings.hf_token, settings.admin_token) if settings else ()


def _shown_traceback(settings: Settings | None) -> str:
    return scrub(traceback.format_exc(), _secrets(settings))


def _shown(error: BaseException, settings: Settings | None) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, SyncError):
        text += f"; {error.hint}" if error.hint else ""
        text += " (retrying may help)" if error.retryable and "retry" not in text.lower() else ""
    return scrub(text, _secrets(settings))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sync", description="Keep the A-share daily prices dataset fresh.")
    commands = parser.add_subparsers(required=True, metavar="{full,delta,status,verify}")
    full = commands.add_parser("full", help="rebuild every shard from the start date and publish once")
    full.add_argument("--start", type=_date_arg, help="first day, YYYYMMDD (default SYNC_START_DATE or 20050101)")
    full.add_argument("--end", type=_date_arg, help="last day, YYYYMMDD (default: the newest published day)")
    full.add_argument("--markets", type=_markets_arg, help="comma list of 主板,创业板,科创板,北交所,CDR or 'all'")
    full.add_argument(
        "--migrate-legacy",
        action="store_true",
        help="replace the old pipeline's all-prices.csv layout (the Hub keeps it at tag legacy-csv)",
    )
    full.set_defaults(command=_full)
    delta = commands.add_parser("delta", help="add each new complete trading day since the watermark")
    delta.add_argument("--end", type=_date_arg, help="last day to fetch, YYYYMMDD")
    delta.set_defaults(command=_delta)
    status = commands.add_parser("status", help="watermark, coverage, shards and the last run")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(command=_status)
    verify = commands.add_parser("verify", help="re-check every invariant of the published repo")
    verify.set_defaults(command=_verify)
    for sub in (full, delta, status, verify):
        sub.add_argument("--repo", help="hf://datasets/OWNER/NAME or a folder (default DATASET_REPO or ./dataset)")
    return parser


def _full(args, settings: Settings) -> int:
    if args.start and args.end and args.end < args.start:
        raise ConfigError(
            f"--end {ymd(args.end)} is before --start {ymd(args.start)}; swap them, "
            f"e.g. --start {ymd(args.end)} --end {ymd(args.start)}"
        )

    from sync.engine.run import RunRequest

    return _run(
        args,
        settings,
        RunRequest(
            "full",
            start=args.start,
            end=args.end,
            markets=args.markets,
            target=args.repo,
            migrate_legacy=args.migrate_legacy,
        ),
    )


def _delta(args, settings: Settings) -> int:
    from sync.engine.run import RunRequest

    return _run(args, settings, RunRequest("delta", end=args.end, target=args.repo))


def _run(args, settings: Settings, request: RunRequest) -> int:
    from sync.engine.retry import retry_run
    from sync.engine.run import run

    target = request.target or settings.dataset_repo
    open_repo(target)  # a malformed target is a usage error before anything starts
    result = retry_run(
        lambda: run(settings, request, now_from_env(), progress_bar=sys.stderr.isatty()),
        sleep=args.sleep,
        clock=args.clock,
    )
    print(_summary(result, target))
    return 0


def _status(args, settings: Settings) -> int:
    from sync.publish.verify import status_of

    repo = open_repo(args.repo or settings.dataset_repo, hf_token=settings.hf_token)
    facts = status_of(repo, now_from_env())
    if args.json:
        print(json.dumps(facts, ensure_ascii=False, indent=2))
    elif facts.get("legacy_layout"):
        print(f"{facts['repo']}: legacy layout (the old pipeline's all-prices.csv)")
        print(f"  {facts['message']}")
    elif not facts["published"]:
        print(facts.get("message") or f"{facts['repo']}: nothing published yet; run `python -m sync full`")
    else:
        behind = facts["trading_days_behind"]
        print(f"{facts['repo']} at {facts['commit']}")
        print(
            f"  complete through {facts['watermark']} (first day {facts['first_date']}; "
            f"{behind if behind is not None else '?'} trading days behind today)"
        )
        print(f"  {facts['rows']:,} rows in {facts['shards']} monthly shards, markets {', '.join(facts['markets'])}")
        source = SourceIdentity.from_json(facts["source"]).describe() if facts["source"] else "not recorded yet"
        print(f"  source: {source}; schema version {facts['schema_version']}")
        last = facts["last_run"]
        if last:
            print(f"  last run: {last.get('kind')} finished {last.get('finished_at')}")
    return 0


def _verify(args, settings: Settings) -> int:
    from sync.publish.verify import verify_repo

    repo = open_repo(args.repo or settings.dataset_repo, hf_token=settings.hf_token)
    problems = verify_repo(repo)
    if problems:
        print(f"{repo.description}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{repo.description}: ok, every invariant holds")
    return 0


def _summary(result: RunResult, target: str) -> str:
    description = open_repo(target).description
    calls = ", ".join(f"{api} {n}" for api, n in sorted(result.api_calls.items()))
    lines = [
        f"{result.kind} sync {'published to' if result.published else 'left unchanged'} {description}",
        f"  {result.headline()}",
        f"  trading days fetched: {len(result.days)}"
        + (f" ({result.days[0].isoformat()} .. {result.days[-1].isoformat()})" if result.days else ""),
        f"  rows: {result.rows:,}",
        f"  API calls: {calls or 'none'}",
        f"  bytes written: {result.bytes_written:,}",
        f"  commit: {result.commit or 'none (nothing changed)'}",
    ]
    if result.legacy_kept_at:
        lines.append(f"  the old all-prices.csv is kept at {result.legacy_kept_at}")
        kept = ", ".join(result.legacy_kept_files) or "none"
        lines.append(f"  files of yours kept as they were: {kept}")
    load = dataset_id(target) if is_hub(target) else os.path.abspath(target)
    lines.append(f'Load it with: datasets.load_dataset("{load}", split="train")')
    return "\n".join(lines)


def _date_arg(text: str) -> dt.date:
    try:
        return parse_ymd(text, "the date")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _markets_arg(text: str) -> tuple[str, ...]:
    try:
        return parse_markets(text, "--markets")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
