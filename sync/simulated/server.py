"""A Tushare-Pro-compatible HTTP server over a SyntheticMarket.

It speaks the real protocol (POST JSON to `/`, `/dataapi` or `/dataapi/<api>`; HTTP 200 with a
`{request_id, code, msg, data}` envelope), so the project's own client, the official `tushare`
package and curl all work against it. It is the embedded data source when no TUSHARE_TOKEN is
set, and the backend of the integration tests, with knobs for what real servers do to clients:
tokens, permissions, per-minute quotas, row caps, latency, publication times and faults, and
fields missing from replies (`drop_fields`), and an unreliable `has_more` (`has_more=`; the
market's stk_limit carries funds and B shares, see funds.py). Publication times are the documented `published_at`
of each interface, or per (interface, day) when a `publication` schedule is given (a late day,
a day that appears only the next morning; see `visible_until`). The market itself carries the history's holes
(MarketSpec.holes); stock_basic comes in a new order on every listing, as the real one may.

Error codes (Tushare's where known; see docs/tushare.md#error-codes):

    40101  bad token               您的token不对，请确认。
    40203  no permission / quota   抱歉，您没有接口(api)访问权限… / 抱歉，您每分钟最多访问该接口N次…
    -2001  unknown api_name        请指定正确的接口名           (real code unconfirmed; ours)
    40001  missing parameter       必填参数缺失：…              (real code unconfirmed; ours)
    -1000  unreadable request      系统内部错误                 (also a passing fault: FaultPlan "internal_error")
    50101  passing fault           系统未知错误，欢迎上报！ 谢谢！request-id(…)  (FaultPlan "unknown_error")

Run standalone:  python -m sync.simulated.server --port 8765 --stocks 100 --start 20251124
                 [--hole adj_factor:20100305:0.5] [--drop-field daily:vol]   (see --help)
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import logging
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Collection, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd

from sync.core.clock import SHANGHAI, YMD
from sync.simulated import indexes, query
from sync.simulated.replies import FAULT_KINDS, FaultPlan, Reply, envelope, fault_reply  # noqa: F401 (re-exported)
from sync.simulated.synthetic import APIS, DEMO_START, SERIES_APIS, MarketSpec, SyntheticMarket
from sync.simulated.wire import FIELDS, Values, WireTable
from sync.tushare.apis import APIS as API_FACTS
from sync.tushare.apis import INDEX_APIS, ROW_CAPS

logger = logging.getLogger(__name__)

TOKEN_ERROR = 40101
PERMISSION_ERROR = 40203
UNKNOWN_API = -2001
MISSING_PARAMETER = 40001
BAD_REQUEST = -1000
DOC_LINK = "权限的具体详情访问：https://tushare.pro/document/1?doc_id=108。"
PUBLISHED_AT = {name: api.published_at for name, api in API_FACTS.items() if api.published_at}  # Shanghai time
NEEDS_CODE_OR_DATE = ("daily", "daily_basic")
LOOKBACK_DAYS = 31  # how far back `visible_until` walks a publication schedule
# What `data.has_more` says: "truthful" (rows past this page exist), "always" (true on every reply,
# as a proxy might), "unreliable" (the default, as the real server has been captured: `true` on a
# complete 3-row page with count -1, `false` with count 0 on a 241-row one; here true on two
# replies in three whatever the truth, a hash of the request, and count 0 or -1). The real
# semantics are undocumented; a client must page on full pages only.
HAS_MORE_MODES = ("truthful", "always", "unreliable")

# When day T's rows of an interface appear (aware); None: at the interface's `published_at` on T.
Publication = Callable[[str, dt.date], "dt.datetime | None"]


def visible_until(api: str, now: dt.datetime, publication: Publication | None = None) -> str:
    """Newest trade_date of `api` published at `now` (Shanghai): today after its publication time, else yesterday.

    With a `publication` schedule, the newest day whose own time has come, walking back from today:
    a day published only the next morning stays invisible, and so hides nothing older, until then.

    >>> late = lambda api, day: dt.datetime(2024, 4, 16, 8, 30, tzinfo=SHANGHAI) if day == dt.date(2024, 4, 15) else None
    >>> visible_until("daily", dt.datetime(2024, 4, 15, 21, 0, tzinfo=SHANGHAI), late)
    '20240414'
    """
    day = now.date()
    for _ in range(LOOKBACK_DAYS):
        at = publication(api, day) if publication else None
        if at is None:
            at = dt.datetime.combine(day, PUBLISHED_AT[api], tzinfo=SHANGHAI)
        if at <= now:
            break
        day -= dt.timedelta(days=1)
    return day.strftime(YMD)


def _shanghai_now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


class _Handler(BaseHTTPRequestHandler):
    server: _QuietServer
    server_version = "TushareEmulator/1.0"
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path not in ("", "/dataapi") and not path.startswith("/dataapi/"):
            self._send(Reply(404, b'{"code": 404, "msg": "not found"}'))
            return
        self._send(self.server.owner.answer(path, body))

    def do_GET(self) -> None:  # noqa: N802
        self._send(Reply(405, b'{"code": 405, "msg": "POST a JSON body"}'))

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.status == 429:
            self.send_header("Retry-After", "1")
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)


class _QuietServer(ThreadingHTTPServer):
    """A deeper accept queue for a client's worker pool, and no tracebacks for clients that hang up."""

    request_queue_size = 128
    owner: TushareServer  # set by TushareServer.start, read by the handler

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("client %s went away: %s", client_address, error)
            return
        super().handle_error(request, client_address)


class TushareServer:
    """Serve `market` over the Tushare Pro protocol on 127.0.0.1 (a free port by default).

    >>> with TushareServer(market, quota_per_min=200) as server:
    ...     pro = tushare.pro_api("demo-token"); pro._DataApi__http_url = server.url
    """

    def __init__(
        self,
        market: SyntheticMarket,
        *,
        tokens: Collection[str] = ("demo-token",),
        quota_per_min: int | Mapping[str, int] | None = None,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        row_caps: Mapping[str, int] | None = None,
        denied: Collection[str] = (),
        drop_fields: Mapping[str, Collection[str]] | None = None,
        publication: Publication | None = None,
        has_more: str = "unreliable",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if has_more not in HAS_MORE_MODES:
            raise ValueError(f"has_more must be one of {', '.join(HAS_MORE_MODES)}; got {has_more!r}")
        self.has_more = has_more
        self.market = market
        self.tokens = frozenset(tokens)
        self.quota_per_min = quota_per_min
        self.latency = latency
        self.faults = faults
        self.row_caps = {**ROW_CAPS, **(row_caps or {})}
        self.denied = frozenset(denied)
        self.drop_fields = _checked_drop_fields(drop_fields or {})
        self._listings = query.Listings(market.spec.seed)
        self.calls: collections.Counter = collections.Counter()
        self.refused: collections.Counter = collections.Counter()  # per-minute quota replies (40203), per interface
        self._clock = clock or _shanghai_now
        self.publication = publication
        self._address = (host, port)
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], collections.deque] = collections.defaultdict(collections.deque)
        self._indexes: dict[str, query.SeriesIndex] = {}
        self._calendars: dict[str, WireTable] = {}
        self._restated: dict[str, dict[tuple[str, str], dict[str, object]]] = collections.defaultdict(dict)
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> str:
        """Listen and serve in a background thread; returns the URL to point a client at."""
        if self._httpd is None:
            self._httpd = _QuietServer(self._address, _Handler)
            self._httpd.daemon_threads = True
            self._httpd.owner = self
            host, port = self._httpd.server_address[:2]
            assert isinstance(host, str)  # an AF_INET socket's name is text
            self.url = f"http://{host}:{port}/dataapi"
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="tushare-server", daemon=True
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> TushareServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_clock(self, clock: Callable[[], dt.datetime]) -> None:
        """Replace the server's notion of now (publication times and quota windows use it)."""
        self._clock = clock

    def set_publication(self, publication: Publication | None) -> None:
        """Per-(interface, day) publication times from now on (None: every day at `published_at`)."""
        self.publication = publication

    def now(self) -> dt.datetime:
        now = self._clock()
        return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)

    def restate(self, api_name: str, ts_code: str, trade_date: str, **values) -> None:
        """A later correction: from now on the row (ts_code, trade_date) of `api_name` answers `values`."""
        if api_name not in SERIES_APIS:
            raise ValueError(f"restate works on {', '.join(SERIES_APIS)}, not {api_name!r}")
        unknown = set(values) - set(FIELDS[api_name]) | set(values) & {"ts_code", "trade_date"}
        if unknown:
            raise ValueError(f"{api_name} has no restatable field(s) {sorted(unknown)}")
        index = self._index(api_name)
        lo, hi = index.day_range(trade_date, trade_date)
        if not len(index.rows_of_codes(index.code_ids([ts_code]), lo, hi)):
            raise KeyError(f"{api_name} has no row for {ts_code} on {trade_date}")
        with self._lock:
            self._restated[api_name].setdefault((ts_code, trade_date), {}).update(values)

    # --- protocol --------------------------------------------------------------------------

    def answer(self, path: str, body: bytes) -> Reply:
        """The reply to one POST (no sockets involved, so it is easy to test)."""
        try:
            request = json.loads(body.decode("utf-8"))
            params = request.get("params") or {}
            if not isinstance(request, dict) or not isinstance(params, dict):
                raise ValueError("request and params must be JSON objects")
        except (ValueError, UnicodeDecodeError, AttributeError):
            self._count("")
            return envelope(BAD_REQUEST, "系统内部错误", None)
        api = str(request.get("api_name") or path.rpartition("/dataapi/")[2] or "")
        self._count(api)
        if self.latency:
            time.sleep(self.latency)
        fault = self.faults.draw(api, self.now()) if self.faults else None
        if fault:
            return fault_reply(fault)
        try:
            return self._business(api, str(request.get("token") or ""), params, request.get("fields"))
        except Exception:  # a real server answers -1000 rather than dropping the line
            logger.exception("tushare emulator failed on %s %s", api, params)
            return envelope(BAD_REQUEST, "系统内部错误", None)

    def _business(self, api: str, token: str, params: dict, fields) -> Reply:
        if token not in self.tokens:
            return envelope(TOKEN_ERROR, "您的token不对，请确认。", None)
        if api not in APIS:
            return envelope(UNKNOWN_API, "请指定正确的接口名", None)
        if api in self.denied:
            return envelope(PERMISSION_ERROR, f"抱歉，您没有接口({api})访问权限，{DOC_LINK}", None)
        now = self.now()
        limit = self._over_quota(token, api, now)
        if limit is not None:
            with self._lock:
                self.refused[api] += 1
            return envelope(PERMISSION_ERROR, f"抱歉，您每分钟最多访问该接口{limit}次，{DOC_LINK}", None)
        try:
            page = self._query(api, token, params, fields, now)
        except query.QueryError as error:
            return envelope(error.code, error.msg, None)
        data = {"fields": page.fields, "items": page.items, "has_more": page.has_more, "count": page.count}
        return envelope(0, "", data)

    def _count(self, api: str) -> None:
        with self._lock:
            self.calls[api] += 1

    def _over_quota(self, token: str, api: str, now: dt.datetime) -> int | None:
        """The per-minute limit when this request would exceed it (sliding 60 s window per interface)."""
        quota = self.quota_per_min
        limit = quota.get(api) if isinstance(quota, Mapping) else quota
        if limit is None:
            return None
        with self._lock:
            hits = self._hits[(token, api)]
            while hits and hits[0] <= now - dt.timedelta(seconds=60):
                hits.popleft()
            if len(hits) >= limit:
                return limit
            hits.append(now)
        return None

    def _index(self, api: str) -> query.SeriesIndex:
        with self._lock:
            if api not in self._indexes:
                self._indexes[api] = query.SeriesIndex(self.market.wire_table(api))
            return self._indexes[api]

    def _calendar(self, exchange: str) -> WireTable:
        with self._lock:
            if exchange not in self._calendars:
                spec = self.market.spec
                frame = self.market.calendar(dt.date(1990, 1, 1), dt.date(spec.end.year + 1, 12, 31))
                columns = {name: Values(frame[name].to_numpy(dtype=object)) for name in FIELDS["trade_cal"]}
                columns["is_open"] = Values(frame["is_open"].to_numpy(dtype=np.int64))
                columns["exchange"] = Values(np.full(len(frame), exchange, dtype=object))
                self._calendars[exchange] = WireTable("trade_cal", columns, len(frame))
            return self._calendars[exchange]

    def _query(self, api: str, token: str, params: dict, fields, now: dt.datetime) -> query.Page:
        offset, count = query.page_bounds(params, self.row_caps[api])
        if api in INDEX_APIS:
            return self._index_query(api, params, fields, now, offset, count)
        if api in SERIES_APIS:
            if api in NEEDS_CODE_OR_DATE and not (query.param(params, "ts_code") or query.param(params, "trade_date")):
                raise query.QueryError(
                    MISSING_PARAMETER, f"必填参数缺失：{api} 接口需要 ts_code 或 trade_date（至少输入一个）"
                )
            table = self.market.wire_table(api)
            rows, total = query.select_series(
                table, self._index(api), params, visible_until(api, now, self.publication), offset + count
            )
        elif api == "trade_cal":
            table = self._calendar(query.param(params, "exchange") or "SSE")
            rows = query.select_calendar(table, params)
            total = len(rows)
        else:
            table = self.market.asof_table(api, now.date())
            select = query.select_stock_basic if api == "stock_basic" else query.select_namechange
            rows = select(table, params)
            if api == "stock_basic":
                rows = rows[self._listings.order(token, params, offset, len(rows))]
            total = len(rows)
        dropped = self.drop_fields.get(api, ())
        chosen = [name for name in table.select_fields(fields) if name not in dropped]
        page = rows[offset : offset + count]
        items = self._restate_items(api, table, page, chosen, table.items(page, chosen))
        more, shown = offset + len(page) < total, total
        if self.has_more == "always":
            more = True
        elif self.has_more == "unreliable":  # as captured: true on a complete short page, count 0 or -1
            flip = zlib.crc32(json.dumps([api, params], sort_keys=True, default=str).encode()) % 3
            more, shown = (more or flip > 0), (-1 if flip else 0)
        return query.Page(chosen, items, more, shown)

    def _index_query(self, api: str, params: dict, fields, now: dt.datetime, offset: int, count: int) -> query.Page:
        """An index interface: its rows newest first, then silently cut at the cap (no error, no hint)."""
        key = {"index_daily": "ts_code", "index_weight": "index_code"}.get(api)
        if key and not query.param(params, key):
            raise query.QueryError(MISSING_PARAMETER, f"必填参数缺失：{api} 接口需要 {key}")
        visible = visible_until("index_daily", now, self.publication)
        rows = indexes.select(self.market.index_tables(), api, params, visible, now.date())
        dropped = self.drop_fields.get(api, ())
        wanted = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else fields or []) if f.strip()]
        known = API_FACTS[api].fields
        chosen = [f for f in (wanted or known) if f in known and f not in dropped]
        page = rows.iloc[offset : offset + count]
        items = [[None if pd.isna(v) else v for v in row] for row in page[chosen].itertuples(index=False)]
        return query.Page(chosen, items, offset + len(page) < len(rows), len(rows))

    def _restate_items(self, api: str, table: WireTable, rows: np.ndarray, fields: list[str], items: list) -> list:
        with self._lock:
            corrections = dict(self._restated.get(api, {}))
        if not corrections or not len(rows):
            return items
        keys = zip(table.columns["ts_code"].take(rows), table.columns["trade_date"].take(rows))
        for item, key in zip(items, keys):
            for name, value in corrections.get(key, {}).items():
                if name in fields:
                    item[fields.index(name)] = value
        return items


def _checked_drop_fields(drop_fields: Mapping[str, Collection[str]]) -> dict[str, frozenset[str]]:
    """{interface: fields never sent}, refusing names the interface does not have (a typo would hide a test)."""
    out = {}
    for api, names in drop_fields.items():
        names = {names} if isinstance(names, str) else set(names)
        unknown = sorted(names - set(FIELDS.get(api, ())))
        if api not in APIS or unknown:
            raise ValueError(f"drop_fields: {api!r} has no field(s) {unknown or sorted(names)}")
        out[api] = frozenset(names)
    return out


def _hole(text: str) -> tuple[tuple[str, dt.date], float]:
    """--hole API:YYYYMMDD:COVERAGE → ((api, day), coverage)."""
    try:
        api, day, coverage = text.split(":")
        return (api, dt.datetime.strptime(day, YMD).date()), float(coverage)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not API:YYYYMMDD:COVERAGE, e.g. adj_factor:20100305:0.5"
        ) from None


def _dropped(text: str) -> tuple[str, str]:
    """--drop-field API:FIELD → (api, field)."""
    api, _, field = text.partition(":")
    if not api or not field:
        raise argparse.ArgumentTypeError(f"{text!r} is not API:FIELD, e.g. daily:vol")
    return api, field


_REALITIES = """\
The market models the real Tushare history: stk_limit has no rows before 2007-01-04, daily_basic
lacks 3-5% of the codes on trading days of 2005-2006, delisted stocks may carry a legacy (中小板)
or empty market label, stock_basic rows come in a new order on every listing, stk_limit also
lists funds and B shares (which stock_basic does not), and has_more is unreliable.

example: python -m sync.simulated.server --stocks 300 --start 20050104 --end 20241231 \\
           --hole adj_factor:20100305:0.5 --drop-field daily:vol"""


def _arguments(argv: list[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    today = dt.datetime.now(SHANGHAI).date()
    parser = argparse.ArgumentParser(
        prog="python -m sync.simulated.server",
        description=main.__doc__,
        epilog=_REALITIES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stocks", type=int, default=100, help="stocks listed by 2025-12-31 (default 100)")
    parser.add_argument("--start", default=DEMO_START.strftime(YMD), help="first day with bars, YYYYMMDD")
    parser.add_argument("--end", default=today.strftime(YMD), help="last day with bars (default today)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--token", action="append", help="accepted token (repeatable; default demo-token)")
    parser.add_argument("--quota-per-min", type=int, default=None, help="per-interface quota (default none)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument(
        "--hole",
        type=_hole,
        action="append",
        default=[],
        metavar="API:YYYYMMDD:COVERAGE",
        help="a permanent hole: on that trading day API (daily, daily_basic, stk_limit or "
        "adj_factor) covers only COVERAGE (0-1) of the codes with a daily bar; repeatable",
    )
    parser.add_argument(
        "--funds",
        type=float,
        default=1.0,
        help="funds and B shares in stk_limit, times our estimate of the real count (default 1; 0: none)",
    )
    parser.add_argument(
        "--has-more",
        choices=HAS_MORE_MODES,
        default="unreliable",
        help="what data.has_more says (default unreliable, as the real server)",
    )
    parser.add_argument(
        "--drop-field",
        type=_dropped,
        action="append",
        default=[],
        metavar="API:FIELD",
        help="FIELD is never in API's replies, even when requested (e.g. daily:vol); repeatable",
    )
    return parser, parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve a synthetic market over the Tushare Pro protocol until Ctrl-C."""
    parser, args = _arguments(argv)
    drop_fields: dict[str, set[str]] = collections.defaultdict(set)
    for api, field in args.drop_field:
        drop_fields[api].add(field)
    try:
        start, end = (dt.datetime.strptime(v, YMD).date() for v in (args.start, args.end))
    except ValueError as error:
        parser.error(f"{error} (dates are YYYYMMDD, e.g. 20251124)")
    try:
        market = SyntheticMarket(
            MarketSpec(start, end, n_stocks=args.stocks, seed=args.seed, holes=args.hole, funds=args.funds)
        )
        server = TushareServer(
            market,
            tokens=args.token or ("demo-token",),
            quota_per_min=args.quota_per_min,
            latency=args.latency,
            drop_fields=drop_fields,
            has_more=args.has_more,
            host=args.host,
            port=args.port,
        )
    except ValueError as error:
        parser.error(str(error))
    print(f"building {market.spec} ...", file=sys.stderr, flush=True)
    _ = market.simulated  # build the market before the server answers
    print(server.start(), flush=True)
    print(f"token: {', '.join(sorted(server.tokens))}; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
