"""`python -m sync` in a subprocess, with the developer's secrets and settings kept out of its environment."""

import os
import subprocess
import sys

from tests.support import ROOT

SECRETS = (
    "TUSHARE_TOKEN",
    "TUSHARE_API_URL",
    "HF_TOKEN",
    "DATASET_REPO",
    "SYNC_MARKETS",
    "SYNC_START_DATE",
    "SYNC_NOW",
)


def cli_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def sync(*args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=cwd,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
