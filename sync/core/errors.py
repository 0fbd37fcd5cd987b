"""One error family: every failure the sync can explain derives from `SyncError`.

Each error carries whether retrying can help (`retryable`) and what the user should do next
(`hint`), so the CLI and the Space branch on classes, never on message text:

    try:
        run_delta(...)
    except SyncError as error:
        print(error, "(retrying may help)" if error.retryable else "")
        return error.exit_code

Messages never contain a secret; callers still pass them through `sync.core.scrub` before showing.
"""

from __future__ import annotations


class SyncError(Exception):
    """A run failed and the repo is unchanged. The message says what happened and what to do."""

    retryable: bool = False
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.hint = hint
        if retryable is not None:
            self.retryable = retryable


class ConfigError(SyncError, ValueError):
    """A setting or argument is malformed; the message names it and gives a valid example."""

    exit_code = 2


class TransientError(SyncError):
    """Something outside changed under the run (a busy repo, a moved head); running again may help."""

    retryable = True
