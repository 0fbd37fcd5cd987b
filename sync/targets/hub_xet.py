"""hf_xet's failures in the Hub adapter's terms, and a bound on its retries.

The Hub stores the files `.gitattributes` tracks with Xet (docs/hub.md#xet-storage): huggingface_hub
hands them to `hf_xet`, which asks the Hub for a write token (`GET …/xet-write-token/{rev}`) and
uploads to the CAS itself. Its failures are not `HfHubHTTPError`s: a refused or failing token
request surfaces as a builtin `ConnectionError` whose text names the HTTP status, e.g.
"Network error: Request error: HTTP status client error (401 Unauthorized), domain: …", and a
refusal by the CAS as `hf_xet.XetAuthenticationError` (a `PermissionError`).

    xet_failure(error)  ->  XetFailure(status=401, auth=True) | … | None (not from hf_xet)

hf_xet retries a 5xx itself, 5 attempts from a 3 s base with jitter by default: a persistent 503
on the token route failed after 99 to 243 s here (docs/hub.md#xet-storage). `bound_xet_retries()`
makes that 3 attempts (8.5 to 32 s over eight runs, which still rides out a blip); a longer outage is
the run's to retry (the CLI's and the Space's retry policies), not one upload's to wait out.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import MutableMapping

XET_RETRY_ATTEMPTS_ENV = "HF_XET_CLIENT_RETRY_MAX_ATTEMPTS"  # read by hf_xet when its session starts
XET_RETRY_ATTEMPTS = 3
XET_RETRY_SECONDS = 30  # at most what XET_RETRY_ATTEMPTS costs against a persistent 503, measured (docs/hub.md)

_STATUS = re.compile(r"HTTP status (?:client|server) error \((\d{3})\b")


@dataclasses.dataclass(frozen=True)
class XetFailure:
    """An hf_xet failure: the HTTP status it met (None when it names none), and whether it was auth."""

    status: int | None

    @property
    def auth(self) -> bool:
        return self.status in (None, 401, 403)

    @property
    def transient(self) -> bool:
        return self.status is not None and (self.status >= 500 or self.status in (408, 429))


def xet_failure(error: BaseException) -> XetFailure | None:
    """What hf_xet met, when `error` comes from it; None for any other error."""
    if type(error).__name__ == "XetAuthenticationError":
        return XetFailure(status=None)
    if type(error) is ConnectionError:  # hf_xet raises the builtin itself; socket errors are subclasses
        match = _STATUS.search(str(error))
        if match:
            return XetFailure(status=int(match.group(1)))
    return None


def bound_xet_retries(environ: MutableMapping[str, str] = os.environ) -> None:
    """Cap hf_xet's own retries unless the environment sets them; takes effect for the process's
    Xet session, which huggingface_hub starts on the first Xet transfer."""
    environ.setdefault(XET_RETRY_ATTEMPTS_ENV, str(XET_RETRY_ATTEMPTS))
