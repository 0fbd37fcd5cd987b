"""The strict Tushare client: every failure is a typed error with a pinned message, never empty data.

Replies are scripted with `httpx.MockTransport`, or, where the socket itself matters (a dropped
connection), with a tiny in-process stdlib HTTP server. Sleeps and the clock are faked: tests
assert the waits without waiting.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pandas as pd
import pytest

from sync.tushare.client import (
    OFFICIAL_URL,
    QUOTA_WAIT_S,
    RateLimiter,
    TushareAuthError,
    TushareClient,
    TushareError,
    TusharePermissionError,
    TushareProtocolError,
    TushareQuotaError,
    TushareTransportError,
    typed_frame,
)

TOKEN = "tok" + "5f3a9c0e" * 7  # a Tushare token is 56 hex characters
URL = "http://tushare.test/dataapi/"
MINUTE_QUOTA_MSG = "抱歉，您每分钟最多访问该接口200次，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
DAILY_FIELDS = [
    "ts_code",
    "trade_date",
    "open",
    "high",
    "low",
    "close",
    "pre_close",
    "change",
    "pct_chg",
    "vol",
    "amount",
]


class FakeTime:
    """A clock that only moves when someone sleeps. Thread-safe; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(float(seconds))
            self.now += float(seconds)


def ok(fields: list[str], items: list[list]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "request_id": "r1",
            "code": 0,
            "msg": "",
            "data": {"fields": fields, "items": items, "has_more": False, "count": 0},
        },
    )


def fail(code: int, msg: str) -> httpx.Response:
    return httpx.Response(200, json={"request_id": "r2", "code": code, "msg": msg, "data": None})


def daily_row(code: str = "600000.SH", date: str = "20250110") -> list:
    return [code, date, 10.0, 10.5, 9.9, 10.2, 10.0, 0.2, 2.0, 1234.5, 1260.0]


class Server:
    """Scripted replies: a list of responses (or exceptions) served in order, last one repeated."""

    def __init__(self, *replies: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]):
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply(request) if callable(reply) else reply

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], time_: FakeTime | None = None, **kwargs
) -> TushareClient:
    time_ = time_ or FakeTime()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return TushareClient(TOKEN, URL, http=http, sleep=time_.sleep, clock=time_.clock, **kwargs)


def assert_no_token(error: BaseException) -> None:
    shown = "".join(traceback.format_exception(error)) + repr(error)
    assert TOKEN not in shown
    assert TOKEN[10:30] not in shown


# -- request shape -----------------------------------------------------------------------------


def test_request_posts_the_tushare_body_to_url_slash_api():
    server = Server(ok(["ts_code", "close"], [["600000.SH", 10.2]]))
    client = make_client(server)
    client.query("daily", ["ts_code", "close"], trade_date="20250110", ts_code=None)
    (request,) = server.requests
    assert str(request.url) == "http://tushare.test/dataapi/daily"
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert server.bodies[0] == {
        "api_name": "daily",
        "token": TOKEN,
        "fields": "ts_code,close",
        "params": {"trade_date": "20250110", "limit": 6000, "offset": 0},
    }


def test_constructor_does_no_io_and_repr_hides_the_token():
    server = Server(ok([], []))
    client = make_client(server)
    assert server.requests == []
    assert TOKEN not in repr(client)
    assert repr(client) == "TushareClient(url='http://tushare.test/dataapi', rate_per_min=200, token='***')"
    assert TushareClient(TOKEN).__repr__().startswith(f"TushareClient(url={OFFICIAL_URL!r}")


def test_calls_count_every_http_request_per_interface():
    server = Server(httpx.Response(502), ok(["ts_code"], [["600000.SH"]]))
    client = make_client(server)
    client.query("daily", trade_date="20250110")
    client.query("stock_basic")
    assert client.calls == {"daily": 2, "stock_basic": 1}
    assert client.pages == {"daily": 1, "stock_basic": 1}
    assert client.rows == {"daily": 1, "stock_basic": 1}


# -- errors that are not retried ---------------------------------------------------------------


def test_bad_token_is_not_retried_and_never_printed():
    time_ = FakeTime()
    server = Server(fail(40101, "您的token不对，请确认。"))
    client = make_client(server, time_)
    with pytest.raises(TushareAuthError) as caught:
        client.query("daily", trade_date="20250110")
    error = caught.value
    assert str(error) == (
        "Tushare rejected the token (40101 您的token不对，请确认。). Set TUSHARE_TOKEN to a valid Tushare Pro "
        "token (your token is on https://tushare.pro under your account's interface token); nothing was published."
    )
    assert (error.api_name, error.code, error.retryable) == ("daily", 40101, False)
    assert client.calls["daily"] == 1 and time_.sleeps == []
    assert_no_token(error)


def test_permission_40203_names_the_interface():
    server = Server(
        fail(
            40203,
            "抱歉，您没有接口(daily_basic)访问权限，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。",
        )
    )
    client = make_client(server)
    with pytest.raises(TusharePermissionError) as caught:
        client.query("daily_basic", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare denied access to the interface daily_basic (40203 抱歉，您没有接口(daily_basic)访问权限，"
        "权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。). daily_basic needs at least 2000 "
        "Tushare points (see https://tushare.pro/document/1?doc_id=108); use a token whose account has them. "
        "Retrying will not help."
    )
    assert (caught.value.points, caught.value.retryable, caught.value.code) == (2000, False, 40203)
    assert client.calls["daily_basic"] == 1


def test_unknown_interface_and_other_codes_are_not_retried():
    client = make_client(Server(fail(-1, "请指定正确的接口名")))
    with pytest.raises(TushareError) as caught:
        client.query("fina_dividend")
    assert str(caught.value) == (
        "Tushare does not know the interface 'fina_dividend' (-1 请指定正确的接口名). Check the interface name "
        "against https://tushare.pro/document/2. Retrying will not help."
    )
    client = make_client(Server(fail(40001, "必填参数缺失：trade_date")))
    with pytest.raises(TushareError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare refused daily (40001 必填参数缺失：trade_date). Check the parameters of the call; "
        "retrying will not help."
    )
    assert type(caught.value) is TushareError and client.calls["daily"] == 1


# -- Tushare's passing faults: -1000 and 50101, retried a bounded number of times ---------------

INTERNAL = "系统内部错误"
UNKNOWN = "系统未知错误，欢迎上报！ 谢谢！request-id(5f1c2b7e-0d3e-4b8e-9a51-2c7f3e1d9b20)"


@pytest.mark.parametrize("code, msg", [(-1000, INTERNAL), (50101, UNKNOWN)])
def test_a_passing_server_fault_is_retried_after_a_minute(code, msg):
    time_ = FakeTime()
    client = make_client(Server(fail(code, msg), ok(DAILY_FIELDS, [daily_row()])), time_)
    frame = client.query("daily", trade_date="20250110")
    assert len(frame) == 1 and client.calls["daily"] == 2
    assert time_.sleeps == [60.0]


@pytest.mark.parametrize("code, msg", [(-1000, INTERNAL), (50101, UNKNOWN)])
def test_a_server_fault_that_persists_fails_after_three_attempts_within_ten_minutes_naming_the_call(code, msg):
    time_ = FakeTime()
    client = make_client(Server(fail(code, msg)), time_)
    with pytest.raises(TushareError) as caught:
        client.query("daily", trade_date="20250110")
    assert client.calls["daily"] == 3
    assert time_.sleeps == [60.0, 180.0] and sum(time_.sleeps) <= 600
    assert str(caught.value) == (
        f"Tushare answered daily(trade_date=20250110, limit=6000, offset=0) with {code} {msg} 3 times in 4 min. "
        "Tushare gives this code for a passing fault on its side and for a malformed request: running again "
        "later may help; if it keeps failing, check that call's parameters against the Tushare docs."
    )
    assert caught.value.retryable and caught.value.code == code
    assert_no_token(caught.value)


def test_server_faults_between_transient_failures_still_stop_at_three():
    time_ = FakeTime()
    server = Server(fail(-1000, INTERNAL), httpx.Response(502), fail(-1000, INTERNAL), fail(-1000, INTERNAL))
    with pytest.raises(TushareError) as caught:
        make_client(server, time_).query("daily", trade_date="20250110")
    assert len(server.requests) == 4 and "3 times" in str(caught.value)
    assert sum(time_.sleeps) <= 600


def test_server_text_echoing_the_token_is_scrubbed():
    client = make_client(Server(fail(-1000, f"bad request {{'token': '{TOKEN}'}}")))
    with pytest.raises(TushareError) as caught:
        client.query("daily", trade_date="20250110")
    assert "bad request {'token': '***'}" in str(caught.value)
    assert_no_token(caught.value)

    echo = httpx.Response(200, text=f"<p>bad body: {TOKEN}</p>" + "x" * 200)
    client = make_client(Server(echo), max_attempts=1)
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert "starts with '<p>bad body: ***</p>xxxx" in str(caught.value)
    assert_no_token(caught.value)


# -- transient failures: retried, then raised, never empty -------------------------------------


def test_http_500_is_retried_then_raises_not_empty():
    time_ = FakeTime()
    # A 500 whose body is a valid success reply: the official SDK returns an empty frame here.
    server = Server(httpx.Response(500, json={"code": 0, "msg": "", "data": {"fields": ["a"], "items": []}}))
    client = make_client(server, time_)
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare daily failed after 6 attempts: HTTP 500 Internal Server Error from "
        "http://tushare.test/dataapi/daily. Retrying later may help."
    )
    assert (caught.value.status, caught.value.retryable, caught.value.attempts) == (500, True, 6)
    assert client.calls["daily"] == 6
    # exponential backoff with up to 1 s jitter: 1, 2, 4, 8, 16 s (+ jitter)
    assert len(time_.sleeps) == 5
    for wait, base in zip(time_.sleeps, [1, 2, 4, 8, 16]):
        assert base <= wait <= base + 1
    assert_no_token(caught.value)


@pytest.mark.parametrize("status", [429, 403, 502, 503, 404])
def test_non_2xx_statuses_are_transport_errors(status):
    client = make_client(Server(httpx.Response(status, text="busy")), max_attempts=2)
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert caught.value.status == status
    assert f"failed after 2 attempts: HTTP {status} " in str(caught.value)
    assert client.calls["daily"] == 2


def test_http_error_then_success_returns_the_rows():
    server = Server(httpx.Response(503), httpx.Response(500), ok(DAILY_FIELDS, [daily_row()]))
    client = make_client(server)
    frame = client.query("daily", trade_date="20250110")
    assert frame["ts_code"].tolist() == ["600000.SH"]
    assert client.calls["daily"] == 3


def test_non_json_body_is_retried():
    html = httpx.Response(200, text="<html><body>502 Bad Gateway</body></html>", headers={"content-type": "text/html"})
    client = make_client(Server(html, ok(["ts_code"], [["600000.SH"]])))
    assert client.query("daily", trade_date="20250110")["ts_code"].tolist() == ["600000.SH"]
    assert client.calls["daily"] == 2

    client = make_client(Server(html), max_attempts=3)
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare daily failed after 3 attempts: the reply from http://tushare.test/dataapi/daily is not JSON "
        "(HTTP 200, text/html; starts with '<html><body>502 Bad Gateway</body></html>'). Retrying later may help."
    )


def test_data_null_is_a_protocol_error():
    null_data = httpx.Response(200, json={"code": 0, "msg": "", "data": None})
    client = make_client(Server(null_data), max_attempts=2)
    with pytest.raises(TushareProtocolError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        'Tushare daily failed after 2 attempts: the reply has code 0 but "data" is null. Retrying later may help.'
    )
    assert client.calls["daily"] == 2

    client = make_client(Server(null_data, ok(["ts_code"], [["600000.SH"]])))
    assert len(client.query("daily", trade_date="20250110")) == 1


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"msg": "", "data": {"fields": [], "items": []}}, 'the reply is not a Tushare envelope (no integer "code")'),
        ([1, 2], 'the reply is not a Tushare envelope (no integer "code")'),
        ({"code": 0, "data": {"fields": ["a"]}}, '"data" lacks a "fields" list or an "items" list'),
        ({"code": 0, "data": {"fields": ["a", "b"], "items": [["x", 1], ["y"]]}}, "row 1 has 1 values for 2 fields"),
        (
            {"code": 0, "data": {"fields": ["a", "a"], "items": []}},
            "\"data.fields\" must be distinct names; got ['a', 'a']",
        ),
    ],
)
def test_malformed_envelopes_are_protocol_errors(body, detail):
    client = make_client(Server(httpx.Response(200, json=body)), max_attempts=1)
    with pytest.raises(TushareProtocolError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == f"Tushare daily failed after 1 attempt: {detail}. Retrying later may help."


def test_timeout_is_retried_then_raises():
    client = make_client(Server(httpx.ReadTimeout("timed out")), max_attempts=3)
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare daily failed after 3 attempts: no reply within 30 s (ReadTimeout) from "
        "http://tushare.test/dataapi/daily. Retrying later may help."
    )


def test_httpx_error_text_never_leaks_the_token():
    def leaky(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"could not send {request.content.decode()}", request=request)

    client = make_client(leaky, max_attempts=2)
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare daily failed after 2 attempts: network error (ConnectError) talking to "
        "http://tushare.test/dataapi/daily. Retrying later may help."
    )
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert_no_token(caught.value)


def test_url_credentials_are_not_printed():
    http = httpx.Client(transport=httpx.MockTransport(Server(httpx.Response(500))))
    client = TushareClient(
        TOKEN, "http://user:secret@tushare.test/dataapi?key=secret2", http=http, sleep=lambda s: None, max_attempts=1
    )
    with pytest.raises(TushareTransportError) as caught:
        client.query("daily", trade_date="20250110")
    assert "secret" not in str(caught.value) and "secret" not in repr(client)


class _DroppingHandler(http.server.BaseHTTPRequestHandler):
    """First request: read it, then close the socket without a reply. Later ones: a success reply."""

    served: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.served.append(self.path)
        if len(self.served) == 1:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        body = json.dumps({"code": 0, "msg": "", "data": {"fields": ["ts_code"], "items": [["600000.SH"]]}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def dropping_server():
    _DroppingHandler.served = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DroppingHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dataapi"
    server.shutdown()
    server.server_close()


def test_dropped_connection_is_retried(dropping_server):
    time_ = FakeTime()
    with TushareClient(TOKEN, dropping_server, sleep=time_.sleep, clock=time_.clock, timeout=5) as client:
        frame = client.query("daily", trade_date="20250110")
    assert frame["ts_code"].tolist() == ["600000.SH"]
    assert _DroppingHandler.served == ["/dataapi/daily", "/dataapi/daily"]
    assert client.calls["daily"] == 2 and len(time_.sleeps) == 1


# -- quotas ------------------------------------------------------------------------------------


def test_quota_40203_slows_the_interface_waits_briefly_then_succeeds():
    time_ = FakeTime()
    client = make_client(Server(fail(40203, MINUTE_QUOTA_MSG), ok(["ts_code"], [["600000.SH"]])), time_)
    frame = client.query("daily", trade_date="20250110")
    assert frame["ts_code"].tolist() == ["600000.SH"]
    # one call of ours in the window, yet refused at 200/min: someone else uses the token; 70% of the pace
    assert client.limiter.limit("daily") == 140 and client.limiter.limit("adj_factor") == 200
    assert time_.sleeps == [pytest.approx(60 / 140)]
    assert client.calls["daily"] == 2
    assert client.slowed["daily"].refusals == 1 and client.slowed["daily"].lowest == 140
    assert client.slowed["daily"].shared


def test_quota_per_minute_that_keeps_refusing_raises_after_the_patience():
    time_ = FakeTime()
    client = make_client(Server(fail(40203, MINUTE_QUOTA_MSG)), time_, quota_patience_s=600)
    with pytest.raises(TushareQuotaError) as caught:
        client.query("daily", trade_date="20250110")
    refusals = client.calls["daily"]
    assert client.limiter.limit("daily") == 20  # never below 10% of the configured pace
    assert str(caught.value) == (
        f"Tushare kept refusing daily at its per-minute quota for 10 min "
        f"({refusals} refusals; 40203 {MINUTE_QUOTA_MSG}). The server allows 200/min and this client had slowed daily "
        f"to 20/min, so other clients using the same token take the whole quota: "
        "stop them, or run later. Retrying later may help."
    )
    assert (caught.value.period, caught.value.limit, caught.value.retryable) == ("minute", 200, True)
    assert 600 <= time_.now - 1000 <= 600 + 2 * QUOTA_WAIT_S
    assert max(time_.sleeps) <= QUOTA_WAIT_S  # backs off, never waits more than the server's minute at once
    assert 5 < refusals < 30  # carried on for the whole patience, with exponential backoff


def test_quota_reply_paces_the_interface_at_the_servers_limit():
    msg = MINUTE_QUOTA_MSG.replace("200次", "2次")
    time_ = FakeTime()
    client = make_client(Server(fail(40203, msg), ok(["ts_code"], [])), time_)
    client.query("daily", trade_date="20250110")
    # the server's 2/min from now on, and below it: one call of ours in the minute, refused at 2
    assert client.limiter.limit("daily") == 1
    for _ in range(3):
        time_.sleep(121)
        client.query("daily", trade_date="20250110")
    assert client.limiter.limit("daily") == 2  # steps back up to the server's limit, never to our 200
    assert client.limiter.limit("adj_factor") == 200


def test_quota_refused_at_our_own_pace_slows_only_a_little():
    time_ = FakeTime()
    replies = [ok(["ts_code"], [])] * 9 + [fail(40203, MINUTE_QUOTA_MSG.replace("200次", "10次")), ok(["ts_code"], [])]
    client = make_client(Server(*replies), time_, rate_per_min=10)
    for _ in range(10):
        client.query("daily", trade_date="20250110")
    assert client.limiter.limit("daily") == 9  # 10 x 0.95: our own pace met the window edge
    assert not client.slowed["daily"].shared


def test_quota_per_account_paces_all_interfaces_together():
    time_ = FakeTime()
    msg = MINUTE_QUOTA_MSG.replace("200次", "4次")
    replies = [ok(["ts_code"], [])] * 4 + [fail(40203, msg)] + [ok(["ts_code"], [])] * 20
    client = make_client(Server(*replies), time_, rate_per_min=4)
    for api in ("daily", "adj_factor", "stk_limit", "suspend_d"):
        client.query(api, trade_date="20250110")
    client.query("daily_basic", trade_date="20250110")  # refused: 4 calls in the minute, 0 of them to daily_basic
    assert client.limiter.limit("*") == 3  # int(0.9 x 4): every interface together
    started = time_.now
    for api in ("daily", "adj_factor", "stk_limit", "suspend_d"):
        client.query(api, trade_date="20250111")
    assert time_.now - started > 30  # four more calls at 3/min for all interfaces together had to wait
    assert "*" in client.slowed


def test_slowed_interface_steps_back_up_after_quiet_minutes():
    time_ = FakeTime()
    client = make_client(Server(fail(40203, MINUTE_QUOTA_MSG), ok(["ts_code"], [])), time_)
    client.query("daily", trade_date="20250110")
    assert client.limiter.limit("daily") == 140
    for step in range(1, 4):
        time_.sleep(121)
        client.query("daily", trade_date="20250110")
        assert client.limiter.limit("daily") == min(200, 140 + 20 * step)
    time_.sleep(121)
    client.query("daily", trade_date="20250110")
    assert client.limiter.limit("daily") == 200  # never above the configured pace


def test_quota_per_hour_raises_at_once_and_says_when_it_resets():
    msg = "抱歉，您每小时最多访问该接口1次，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
    time_ = FakeTime()
    client = make_client(Server(fail(40203, msg)), time_)
    with pytest.raises(TushareQuotaError) as caught:
        client.query("stock_basic")
    assert str(caught.value) == (
        f"Tushare's per-hour quota for stock_basic (1 calls) is used up (40203 {msg}). It resets within the hour: "
        "run again later, or use a token with more Tushare points (see https://tushare.pro/document/1?doc_id=108)."
    )
    assert (caught.value.period, caught.value.retryable) == ("hour", False)
    assert time_.sleeps == [] and client.calls["stock_basic"] == 1


def test_quota_per_day_raises_at_once_and_says_when_it_resets():
    msg = "抱歉，您每天最多访问该接口100000次，权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
    client = make_client(Server(fail(40203, msg)))
    with pytest.raises(TushareQuotaError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        f"Tushare's daily quota for daily (100000 calls) is used up (40203 {msg}). It resets at midnight China "
        "time (Asia/Shanghai): run again tomorrow, or use a token with more Tushare points "
        "(see https://tushare.pro/document/1?doc_id=108)."
    )
    assert caught.value.period == "day" and client.calls["daily"] == 1


# -- pagination --------------------------------------------------------------------------------


def paged(rows: list[list], fields: list[str] = DAILY_FIELDS, server_cap: int | None = None):
    """A server slicing `rows` by the limit/offset it is sent, as Tushare does."""

    def reply(request: httpx.Request) -> httpx.Response:
        params = json.loads(request.content)["params"]
        limit = min(params["limit"], server_cap or params["limit"])
        offset = params["offset"]
        return ok(fields, rows[offset : offset + limit])

    return reply


def test_pagination_fetches_until_a_short_page():
    rows = [daily_row(f"{i:06d}.SZ") for i in range(6500)]
    server = Server(paged(rows))
    client = make_client(server)
    frame = client.query("daily", trade_date="20250110")
    assert [(b["params"]["limit"], b["params"]["offset"]) for b in server.bodies] == [(6000, 0), (6000, 6000)]
    assert len(frame) == 6500
    assert frame["ts_code"].tolist() == [r[0] for r in rows]  # exact set, order kept, none duplicated
    assert (client.calls["daily"], client.pages["daily"], client.rows["daily"]) == (2, 2, 6500)


def test_pagination_exact_multiple_ends_on_an_empty_page():
    rows = [daily_row(f"{i:06d}.SZ") for i in range(12000)]
    server = Server(paged(rows))
    frame = make_client(server).query("daily", trade_date="20250110")
    assert [b["params"]["offset"] for b in server.bodies] == [0, 6000, 12000]
    assert frame["ts_code"].is_unique and len(frame) == 12000


def test_pagination_survives_a_server_cap_below_the_documented_one():
    rows = [daily_row(f"{i:06d}.SZ") for i in range(5400)]
    server = Server(paged(rows, server_cap=5000))
    frame = make_client(server).query("daily", trade_date="20250110")
    assert [(b["params"]["limit"], b["params"]["offset"]) for b in server.bodies] == [(6000, 0), (6000, 5000)]
    assert frame["ts_code"].tolist() == [r[0] for r in rows]


def test_pagination_respects_stk_limit_cap_5800():
    fields = ["trade_date", "ts_code", "up_limit", "down_limit"]
    rows = [["20250110", f"{i:06d}.SH", 11.0, 9.0] for i in range(5801)]
    server = Server(paged(rows, fields))
    frame = make_client(server).query("stk_limit", trade_date="20250110")
    assert [(b["params"]["limit"], b["params"]["offset"]) for b in server.bodies] == [(5800, 0), (5800, 5800)]
    assert frame["ts_code"].tolist() == [r[1] for r in rows]


def test_pagination_uses_each_interfaces_cap():
    server = Server(ok(["ts_code"], []))
    client = make_client(server)
    for api in ["stock_basic", "daily_basic", "adj_factor", "suspend_d", "namechange", "trade_cal", "bak_basic"]:
        client.query(api, trade_date="20250110")
    assert [b["params"]["limit"] for b in server.bodies] == [6000, 6000, 6000, 5000, 10000, 10000, 5000]


def test_pagination_stops_when_the_server_ignores_offset():
    rows = [daily_row(f"{i:06d}.SZ") for i in range(6000)]
    server = Server(ok(DAILY_FIELDS, rows))
    client = make_client(server)
    with pytest.raises(TushareProtocolError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare daily failed: page 2 repeats page 1: the server ignores offset, so the rows past the first "
        "page cannot be fetched. Retrying will not help."
    )
    assert client.calls["daily"] == 2


def test_caller_limit_fetches_one_page():
    server = Server(paged([daily_row(f"{i:06d}.SZ") for i in range(50)]))
    frame = make_client(server).query("daily", trade_date="20250110", limit=10, offset=20)
    assert frame["ts_code"].tolist() == [f"{i:06d}.SZ" for i in range(20, 30)]
    assert len(server.requests) == 1
    assert server.bodies[0]["params"] == {"trade_date": "20250110", "limit": 10, "offset": 20}


# -- rate limiting -----------------------------------------------------------------------------


def assert_within_quota(times: list[float], limit: int, window: float = 60.0) -> None:
    times = sorted(times)
    for i in range(len(times) - limit):
        assert times[i + limit] - times[i] > window, f"{limit + 1} requests within {window} s at {times[i]}"


def test_rate_limit_never_exceeds_quota_under_threads():
    time_ = FakeTime()
    limiter = RateLimiter(lambda key: 50, clock=time_.clock, sleep=time_.sleep)
    admitted: list[float] = []
    lock = threading.Lock()

    def worker(_: int) -> None:
        for _ in range(40):
            at = limiter.acquire("daily")
            with lock:
                admitted.append(at)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert len(admitted) == 320
    assert_within_quota(admitted, 50)
    assert sum(1 for t in admitted if t == 1000.0) == 50  # a full burst first, then paced
    assert limiter.waited["daily"] > 0


def test_threaded_queries_are_all_answered_and_paced():
    time_ = FakeTime()
    server = Server(ok(DAILY_FIELDS, [daily_row()]))
    client = make_client(server, time_, rate_per_min=20)
    with ThreadPoolExecutor(6) as pool:
        frames = list(pool.map(lambda d: client.query("daily", trade_date=f"2025{d:04d}"), range(101, 161)))
    assert all(len(f) == 1 for f in frames)
    assert client.calls["daily"] == 60 == len(server.requests)
    assert sorted(b["params"]["trade_date"] for b in server.bodies) == [f"2025{d:04d}" for d in range(101, 161)]
    assert time_.now - 1000.0 >= 2 * 60  # 60 calls at 20/min need at least two further windows


def test_sequential_queries_are_paced_per_interface():
    time_ = FakeTime()
    seen: dict[str, list[float]] = {"daily": [], "stock_basic": []}

    def reply(request: httpx.Request) -> httpx.Response:
        seen[json.loads(request.content)["api_name"]].append(time_.clock())
        return ok(["ts_code"], [["600000.SH"]])

    client = make_client(reply, time_, rate_per_min=100)
    for _ in range(120):
        client.query("stock_basic")
    assert_within_quota(seen["stock_basic"], 50)  # stock_basic's own lower default quota
    start = time_.now
    for _ in range(100):
        client.query("daily", trade_date="20250110")
    assert time_.now == start  # daily has its own budget of 100/min, untouched by stock_basic
    client.query("daily", trade_date="20250110")
    assert time_.now > start
    assert_within_quota(seen["daily"], 100)


def test_rate_overrides_set_per_interface_quotas():
    client = TushareClient(TOKEN, rate_per_min=30, rate_overrides={"daily": 500})
    assert client.limiter.limit("daily") == 500
    assert client.limiter.limit("stock_basic") == 30  # the default 50 never loosens a lower rate
    assert client.limiter.limit("adj_factor") == 30


# -- typed frames ------------------------------------------------------------------------------


def test_typed_frame_dtypes():
    client = make_client(
        Server(
            ok(DAILY_FIELDS, [daily_row(), ["000001.SZ", "20250110", None, None, None, None, None, None, None, 0, 0]]),
            ok(
                ["exchange", "cal_date", "is_open", "pretrade_date"],
                [["SSE", "20250105", 0, "20250103"], ["SSE", "20250106", 1, ""]],
            ),
            ok(["ts_code", "name", "list_date", "delist_date"], [["600000.SH", "浦发银行", "19991110", None]]),
            ok(
                ["ts_code", "trade_date", "pe", "total_mv", "limit_status"], [["600000.SH", "20250110", None, 3.2e7, 2]]
            ),
        )
    )
    daily = client.query("daily", trade_date="20250110")
    assert list(daily.columns) == DAILY_FIELDS
    assert daily["trade_date"].dtype == "datetime64[us]"
    assert daily["trade_date"].iloc[0] == pd.Timestamp("2025-01-10")
    assert all(daily[c].dtype == "float64" for c in DAILY_FIELDS[2:])
    assert daily["open"].isna().tolist() == [False, True]
    assert daily["ts_code"].dtype == "str"

    cal = client.query("trade_cal", exchange="SSE")
    assert cal["is_open"].dtype == "int64" and cal["is_open"].tolist() == [0, 1]
    assert cal["pretrade_date"].isna().tolist() == [False, True]

    basic = client.query("stock_basic")
    assert basic["list_date"].dtype == "datetime64[us]" and basic["delist_date"].isna().all()
    assert basic["name"].tolist() == ["浦发银行"]

    valuation = client.query("daily_basic", trade_date="20250110")
    assert valuation["pe"].dtype == "float64" and valuation["pe"].isna().all()
    assert valuation["limit_status"].dtype == "int64"


def test_empty_reply_keeps_columns():
    full = typed_frame(DAILY_FIELDS, [daily_row()])
    server = Server(ok(DAILY_FIELDS, []))
    empty = make_client(server).query("daily", trade_date="20250111")
    assert empty.empty and list(empty.columns) == DAILY_FIELDS
    assert empty.dtypes.equals(full.dtypes)


def test_empty_reply_without_fields_uses_the_requested_fields():
    empty = make_client(Server(ok([], []))).query("daily", "ts_code,close", trade_date="20250111")
    assert list(empty.columns) == ["ts_code", "close"]
    assert empty["close"].dtype == "float64"


def test_unparseable_values_are_protocol_errors_and_not_retried():
    client = make_client(Server(ok(["ts_code", "trade_date"], [["600000.SH", "2025-01-10"]])))
    with pytest.raises(TushareProtocolError) as caught:
        client.query("daily", trade_date="20250110")
    assert str(caught.value) == (
        "Tushare daily failed: field 'trade_date' holds '2025-01-10', which is not a YYYYMMDD date. "
        "Retrying will not help."
    )
    assert client.calls["daily"] == 1


def test_unknown_fields_are_numbers_or_text():
    frame = typed_frame(["holder_x", "label"], [[1, "a"], [2.5, None]])
    assert frame["holder_x"].dtype == "float64" and frame["label"].dtype == "str"


# -- argument checks ---------------------------------------------------------------------------


def test_daily_basic_without_ts_code_or_trade_date_is_refused():
    server = Server(ok([], []))
    with pytest.raises(ValueError, match="daily_basic needs one of ts_code, trade_date"):
        make_client(server).query("daily_basic", start_date="20250101")
    assert server.requests == []


def test_bad_api_name_is_refused_before_any_request():
    server = Server(ok([], []))
    with pytest.raises(ValueError, match="api_name must be a Tushare interface name"):
        make_client(server).query("../daily")
    assert server.requests == []


def test_close_closes_only_an_http_client_it_created():
    http = httpx.Client(transport=httpx.MockTransport(Server(ok([], []))))
    TushareClient(TOKEN, http=http).close()
    assert not http.is_closed
    with TushareClient(TOKEN) as own:
        pass
    assert own._http.is_closed
