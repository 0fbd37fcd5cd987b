"""Typed errors of the Tushare Pro client, and the pure mapping from a reply's (code, msg) to them.

Every error says what happened, what to do, and whether retrying helps (`retryable`). The official
SDK raises a bare `Exception(msg)` and loses the code; here the code and the interface stay
attached as data, so callers branch on types, never on message text.

`retryable` means "the same call may succeed if repeated": the client retries those itself
(transport, protocol, per-minute quota, and Tushare's own passing faults `-1000 系统内部错误` and
`50101 系统未知错误`, a bounded number of times) before raising; the others (bad token, missing
permission, hourly/daily quota, unknown interface) fail at once because repeating cannot help now.

None of these messages ever contains the token: the client never passes request bodies in, and
scrubs server-provided text before it gets here.
"""

from __future__ import annotations

import re

from sync.core.errors import SyncError

PERMISSIONS_URL = "https://tushare.pro/document/1?doc_id=108"

# Minimum Tushare points per interface, from the official docs (docs/tushare.md#quotas-and-points).
MIN_POINTS: dict[str, int] = {
    "stock_basic": 2000,
    "trade_cal": 2000,
    "daily": 120,
    "daily_basic": 2000,
    "adj_factor": 2000,
    "stk_limit": 2000,
    "suspend_d": 2000,
    "bak_basic": 5000,
}

AUTH_CODE = 40101
# Tushare's "something went wrong on our side" codes. They pass by themselves (waditu/tushare #754,
# #1397), but the same codes also answer a malformed request (#1058, #1322), so they are retried
# a bounded number of times only (sync.tushare.retry).
SERVER_FAULT_CODES: dict[int, str] = {-1000: "系统内部错误", 50101: "系统未知错误"}
LIMIT_CODE = 40203  # used by Tushare for both quotas ("最多访问") and permissions ("没有…权限")

_QUOTA_RE = re.compile(r"每(分钟|小时|天|日)最多访问该接口\s*(\d+)\s*次")
_PERIODS = {"分钟": "minute", "小时": "hour", "天": "day", "日": "day"}


class TushareError(SyncError):
    """Base of every error the client raises.

    Attributes: `api_name` (the interface called), `code` (Tushare's reply code, None when the
    failure happened before a reply was parsed), `server_msg` (the reply's msg, if any) and
    `retryable` (whether repeating may help).
    """

    def __init__(
        self,
        message: str,
        *,
        api_name: str,
        code: int | None = None,
        retryable: bool = False,
        server_msg: str | None = None,
    ):
        super().__init__(message, retryable=retryable)
        self.message = message
        self.api_name = api_name
        self.code = code
        self.retryable = retryable
        self.server_msg = server_msg


class TushareAuthError(TushareError):
    """40101: the token is wrong or expired. Never retried; the message never shows the token."""


class TusharePermissionError(TushareError):
    """40203 "没有…权限": this token's account lacks the points for the interface. Never retried."""

    def __init__(
        self, message: str, *, api_name: str, code: int | None, points: int | None, server_msg: str | None = None
    ):
        super().__init__(message, api_name=api_name, code=code, retryable=False, server_msg=server_msg)
        self.points = points


class TushareQuotaError(TushareError):
    """40203 "最多访问…次": a per-`period` quota ("minute", "hour", "day") of `limit` calls is spent.

    Per-minute: retryable, the client waits for the window and retries a bounded number of times.
    Per-hour / per-day: raised at once; the message says when it resets.
    """

    def __init__(
        self,
        message: str,
        *,
        api_name: str,
        code: int | None,
        period: str,
        limit: int | None,
        server_msg: str | None = None,
    ):
        super().__init__(message, api_name=api_name, code=code, retryable=period == "minute", server_msg=server_msg)
        self.period = period
        self.limit = limit


class TushareServerFault(TushareError):
    """-1000 系统内部错误 / 50101 系统未知错误: a fault on Tushare's side that usually passes, or a malformed
    request. Retryable; the client tries a call at most 3 times within 10 minutes, then raises
    `after_attempts`, which names the call (its parameters, never the token)."""

    def __init__(self, *, api_name: str, code: int, server_msg: str, message: str | None = None):
        reply = f"{code} {server_msg}".strip()
        super().__init__(
            message
            or f"Tushare answered {api_name} with {reply}, a fault on its side that usually passes. Retrying may help.",
            api_name=api_name,
            code=code,
            retryable=True,
            server_msg=server_msg,
        )

    def after_attempts(self, attempts: int, seconds: float, call: str) -> TushareServerFault:
        """The same fault, once the bounded retries are spent: what to do now."""
        reply = f"{self.code} {self.server_msg}".strip()
        return TushareServerFault(
            api_name=self.api_name,
            code=self.code if self.code is not None else 0,
            server_msg=self.server_msg or "",
            message=(
                f"Tushare answered {call} with {reply} {attempts} times in {seconds / 60:.0f} min. Tushare gives this "
                "code for a passing fault on its side and for a malformed request: running again later may help; "
                "if it keeps failing, check that call's parameters against the Tushare docs."
            ),
        )


class RetriedError(TushareError):
    """An error about one attempt; `after_attempts` restates it once the retries are spent."""

    def __init__(
        self,
        detail: str,
        *,
        api_name: str,
        retryable: bool = True,
        status: int | None = None,
        attempts: int | None = None,
    ):
        if attempts is None:
            hint = "Retrying may help." if retryable else "Retrying will not help."
            message = f"Tushare {api_name} failed: {detail}. {hint}"
        else:
            noun = "attempt" if attempts == 1 else "attempts"
            message = f"Tushare {api_name} failed after {attempts} {noun}: {detail}. Retrying later may help."
        super().__init__(message, api_name=api_name, code=None, retryable=retryable)
        self.detail = detail
        self.status = status
        self.attempts = attempts

    def after_attempts(self, attempts: int) -> RetriedError:
        return type(self)(
            self.detail, api_name=self.api_name, retryable=self.retryable, status=self.status, attempts=attempts
        )


class TushareTransportError(RetriedError):
    """The HTTP exchange failed: non-2xx status (`status`), timeout, dropped connection, non-JSON body."""


class TushareProtocolError(RetriedError):
    """A 2xx JSON reply that breaks the protocol: no integer code, `data` null, ragged rows, …"""


class TushareMissingFieldError(TushareProtocolError):
    """A non-empty reply lacks requested fields: never padded with nulls, never retried."""

    def __init__(self, fields: list[str], *, api_name: str):
        names = ", ".join(fields)
        super().__init__(
            f"the reply lacks the requested field(s) {names}; nothing was published. The interface "
            "or the account's permissions may have changed: check the Tushare docs for "
            f"{api_name}, then run again",
            api_name=api_name,
            retryable=False,
        )
        self.fields = fields


def error_from_reply(api_name: str, code: int, msg: str, *, rate_per_min: int | None = None) -> TushareError:
    """Map a business error reply (HTTP 200, `code != 0`) to a typed error. Pure: text in, error out.

    >>> error_from_reply("daily", 40101, "您的token不对，请确认。").retryable
    False
    """
    reply = f"{code} {msg}".strip()
    if code in SERVER_FAULT_CODES:
        return TushareServerFault(api_name=api_name, code=code, server_msg=msg)
    if code == AUTH_CODE:
        return TushareAuthError(
            f"Tushare rejected the token ({reply}). Set TUSHARE_TOKEN to a valid Tushare Pro token "
            "(your token is on https://tushare.pro under your account's interface token); nothing was published.",
            api_name=api_name,
            code=code,
            server_msg=msg,
        )
    quota = _QUOTA_RE.search(msg)
    if quota:
        return _quota_error(api_name, code, msg, _PERIODS[quota.group(1)], int(quota.group(2)), rate_per_min)
    if "权限" in msg or "积分" in msg:
        return _permission_error(api_name, code, msg)
    if "接口名" in msg:
        return TushareError(
            f"Tushare does not know the interface {api_name!r} ({reply}). Check the interface name "
            "against https://tushare.pro/document/2. Retrying will not help.",
            api_name=api_name,
            code=code,
            server_msg=msg,
        )
    return TushareError(
        f"Tushare refused {api_name} ({reply}). Check the parameters of the call; retrying will not help.",
        api_name=api_name,
        code=code,
        server_msg=msg,
    )


def _permission_error(api_name: str, code: int, msg: str) -> TusharePermissionError:
    reply = f"{code} {msg}".strip()
    points = MIN_POINTS.get(api_name)
    need = (
        f"{api_name} needs at least {points} Tushare points"
        if points
        else f"{api_name} needs more Tushare points than this account has"
    )
    return TusharePermissionError(
        f"Tushare denied access to the interface {api_name} ({reply}). {need} "
        f"(see {PERMISSIONS_URL}); use a token whose account has them. Retrying will not help.",
        api_name=api_name,
        code=code,
        points=points,
        server_msg=msg,
    )


def _quota_error(
    api_name: str, code: int, msg: str, period: str, limit: int, rate_per_min: int | None
) -> TushareQuotaError:
    reply = f"{code} {msg}".strip()
    if period == "minute":
        ours = f"; this client allows {rate_per_min}/min for {api_name}" if rate_per_min else ""
        text = f"Tushare's per-minute quota for {api_name} is used up ({reply}){ours}. Waiting for the window may help."
    elif period == "hour":
        text = (
            f"Tushare's per-hour quota for {api_name} ({limit} calls) is used up ({reply}). "
            "It resets within the hour: run again later, or use a token with more Tushare points "
            f"(see {PERMISSIONS_URL})."
        )
    else:
        text = (
            f"Tushare's daily quota for {api_name} ({limit} calls) is used up ({reply}). "
            "It resets at midnight China time (Asia/Shanghai): run again tomorrow, or use a token "
            f"with more Tushare points (see {PERMISSIONS_URL})."
        )
    return TushareQuotaError(text, api_name=api_name, code=code, period=period, limit=limit, server_msg=msg)


def quota_still_refused(
    error: TushareQuotaError, refusals: int, seconds: float, rate_per_min: int
) -> TushareQuotaError:
    """The per-minute quota kept refusing one request for `seconds` (`refusals` times) although the
    client slowed down: say why and what to do."""
    api = error.api_name
    server = f"The server allows {error.limit}/min and this client" if error.limit else "This client"
    text = (
        f"Tushare kept refusing {api} at its per-minute quota for {seconds // 60:.0f} min ({refusals} refusals; "
        f"{error.code} {error.server_msg}). {server} had slowed {api} to {rate_per_min}/min, so other clients "
        "using the same token take the whole quota: stop them, or run later. Retrying later may help."
    )
    return TushareQuotaError(
        text, api_name=api, code=error.code, period="minute", limit=error.limit, server_msg=error.server_msg
    )
