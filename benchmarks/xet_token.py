"""How long a commit takes to fail while the Hub's xet-write-token route answers 503, through the
Hub adapter, in a fresh process each time (hf_xet reads its retry policy when its session starts).

    python -m benchmarks.xet_token [--runs 5] [--attempts 5]   # --attempts: HF_XET_CLIENT_RETRY_MAX_ATTEMPTS
                                                                # (default: the adapter's bound)

tests/sync/targets/test_hub_xet.py runs `seconds_to_fail()` once against the bound.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from tests.support.hub_server import HubServer
    hub = HubServer().start()
    os.environ["HF_ENDPOINT"] = hub.url
    from huggingface_hub import HfApi
    from sync.targets import PublishError
    from sync.targets.commit import Commit
    from sync.targets.hub import HubRepo
    repo = HubRepo("someone/x", HfApi(endpoint=hub.url, token="hf_x"), lock_dir=sys.argv[1], sleep=lambda s: None)
    hub.create_repo("someone/x")
    hub.refuse_xet_token(503)
    start = time.monotonic()
    try:
        repo.commit(Commit(adds={"a.parquet": b"PAR1" * 100}, deletes=(), message="m"), parent=hub.head("someone/x"))
    except PublishError as e:
        print(round(time.monotonic() - start, 1), e.retryable)
    """
)


def seconds_to_fail(scratch: Path, attempts: int | None = None) -> tuple[float, bool]:
    """(seconds until the commit failed, whether its error was retryable), in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_XET_") and k != "HF_ENDPOINT"}
    env.update(HF_HOME=str(scratch / "home"), HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_TELEMETRY="1")
    if attempts is not None:
        env["HF_XET_CLIENT_RETRY_MAX_ATTEMPTS"] = str(attempts)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(scratch / "locks")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        seconds, retryable = done.stdout.split()
    except ValueError:
        raise RuntimeError(f"the commit did not fail as expected: {done.stdout!r} {done.stderr[-2000:]}") from None
    return float(seconds), retryable == "True"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--attempts", type=int, help="hf_xet's retry attempts (default: the adapter's bound)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="xet-token-") as tmp:
        for run in range(args.runs):
            seconds, retryable = seconds_to_fail(Path(tmp) / str(run), args.attempts)
            print(f"run {run + 1}: failed after {seconds:.1f} s (retryable: {retryable})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
