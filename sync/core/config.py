"""Configuration, read once from the environment into a typed object that is passed down.

Secrets (`TUSHARE_TOKEN`, `HF_TOKEN`, `SYNC_ADMIN_TOKEN`) only ever come from the environment;
they are excluded from `repr` so that logging a `Settings` never prints them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import urllib.parse
import zoneinfo
from collections.abc import Mapping

from dataset_script.schema import ALL_MARKETS, DEFAULT_MARKETS
from dataset_script.state import SOURCE_KINDS, SourceKind
from sync.core.clock import parse_ymd
from sync.core.errors import ConfigError
from sync.core.scrub import display_url

OFFICIAL_URL = "http://api.waditu.com/dataapi"  # Tushare Pro's HTTP endpoint (docs/tushare.md)
DEFAULT_RATE_PER_MIN = 200  # calls per minute and interface at the usual points level (docs/tushare.md)
DEFAULT_REPO = "./dataset"
DEFAULT_START = dt.date(2005, 1, 1)
# SYNC_INDEXES by default: the indexes of docs/dataset.md#indexes (broad, CSI size tiers, boards).
DEFAULT_INDEXES = (
    "000001.SH",
    "399001.SZ",
    "399006.SZ",
    "000016.SH",
    "000300.SH",
    "000905.SH",
    "000852.SH",
    "000688.SH",
)
_INDEX_CODE = re.compile(r"\d{6}\.(SH|SZ|CSI|BJ)")


@dataclasses.dataclass(frozen=True)
class Settings:
    tushare_token: str | None = dataclasses.field(default=None, repr=False)
    tushare_api_url: str = OFFICIAL_URL
    rate_per_min: int = DEFAULT_RATE_PER_MIN
    dataset_repo: str = DEFAULT_REPO
    hf_token: str | None = dataclasses.field(default=None, repr=False)
    markets: tuple[str, ...] = DEFAULT_MARKETS
    start_date: dt.date | None = None  # None: DEFAULT_START, or the demo market's start
    sync_time: str = "21:00"
    sync_tz: str = "Asia/Shanghai"
    admin_token: str | None = dataclasses.field(default=None, repr=False)
    restatement_days: int = 3
    completeness: float = 0.98
    settle_days: int = 5
    checkpoint_max_age: dt.timedelta = dt.timedelta(days=7)
    sync_source: SourceKind | None = None  # SYNC_SOURCE; None: from TUSHARE_TOKEN
    indexes: tuple[str, ...] = DEFAULT_INDEXES  # SYNC_INDEXES; empty: none

    @property
    def source_kind(self) -> SourceKind:
        """The source a run uses: SYNC_SOURCE when set, else Tushare when a token is configured."""
        return self.sync_source or ("tushare" if self.tushare_token else "synthetic")

    @property
    def embedded_source(self) -> bool:
        """True when the built-in synthetic market serves the data (no token, or SYNC_SOURCE=synthetic)."""
        return self.source_kind == "synthetic"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        start_date = get("SYNC_START_DATE")
        return cls(
            tushare_token=get("TUSHARE_TOKEN"),
            tushare_api_url=parse_http_url(get("TUSHARE_API_URL") or OFFICIAL_URL, "TUSHARE_API_URL").rstrip("/"),
            rate_per_min=parse_positive_int(get("TUSHARE_RATE_PER_MIN") or "200", "TUSHARE_RATE_PER_MIN"),
            dataset_repo=get("DATASET_REPO") or DEFAULT_REPO,
            hf_token=get("HF_TOKEN"),
            markets=parse_markets(get("SYNC_MARKETS") or ",".join(DEFAULT_MARKETS), "SYNC_MARKETS"),
            start_date=parse_ymd(start_date, "SYNC_START_DATE") if start_date else None,
            sync_time=parse_clock(get("SYNC_TIME") or "21:00", "SYNC_TIME"),
            sync_tz=parse_zone(get("SYNC_TZ") or "Asia/Shanghai", "SYNC_TZ"),
            admin_token=get("SYNC_ADMIN_TOKEN"),
            restatement_days=parse_positive_int(
                get("SYNC_RESTATEMENT_DAYS") or "3", "SYNC_RESTATEMENT_DAYS", allow_zero=True
            ),
            completeness=parse_fraction(get("SYNC_COMPLETENESS") or "0.98", "SYNC_COMPLETENESS"),
            settle_days=parse_positive_int(get("SYNC_SETTLE_DAYS") or "5", "SYNC_SETTLE_DAYS", allow_zero=True),
            checkpoint_max_age=parse_duration(get("SYNC_CHECKPOINT_MAX_AGE") or "7d", "SYNC_CHECKPOINT_MAX_AGE"),
            sync_source=parse_source(get("SYNC_SOURCE"), "SYNC_SOURCE"),
            indexes=parse_indexes(env["SYNC_INDEXES"], "SYNC_INDEXES") if "SYNC_INDEXES" in env else DEFAULT_INDEXES,
        )


def parse_source(text: str | None, source: str) -> SourceKind | None:
    """`tushare` or `synthetic` (any case); None when unset."""
    if text is None:
        return None
    kind = text.lower()
    for known in SOURCE_KINDS:
        if kind == known:
            return known
    raise ConfigError(f"{source} must be one of {', '.join(SOURCE_KINDS)}, e.g. tushare; got {text!r}")


def parse_indexes(text: str, source: str) -> tuple[str, ...]:
    """`000300.SH,000905.SH` → a tuple of index codes; an empty value means none. Whether Tushare
    knows them is checked at the start of a run (index_basic)."""
    codes = [part.strip().upper() for part in text.split(",") if part.strip()]
    bad = [c for c in codes if not _INDEX_CODE.fullmatch(c)]
    if bad:
        raise ConfigError(
            f"{source} must be a comma list of index codes like 000300.SH,000905.SH (or empty for none); "
            f"got {', '.join(repr(b) for b in bad)}"
        )
    return tuple(dict.fromkeys(codes))


def parse_markets(text: str, source: str) -> tuple[str, ...]:
    """`主板,创业板` or `all` → a tuple of stock_basic market names."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if [n.lower() for n in names] == ["all"]:
        return ALL_MARKETS
    unknown = [n for n in names if n not in ALL_MARKETS]
    if not names or unknown:
        raise ConfigError(f"{source} must be a comma list of {', '.join(ALL_MARKETS)} or 'all'; got {text!r}")
    return tuple(dict.fromkeys(names))


def parse_positive_int(text: str, source: str, *, allow_zero: bool = False) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{source} must be a positive whole number, e.g. 200; got {text!r}")
    return value


def parse_fraction(text: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise ConfigError(f"{source} must be a fraction in (0, 1], e.g. 0.98; got {text!r}")
    return value


def parse_clock(text: str, source: str) -> str:
    try:
        return dt.datetime.strptime(text, "%H:%M").strftime("%H:%M")
    except ValueError:
        raise ConfigError(f"{source} must be a time as HH:MM, e.g. 21:00; got {text!r}") from None


def parse_duration(text: str, source: str) -> dt.timedelta:
    """`7d`, `36h`, `90m` or a plain number of days → a timedelta."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = (text[:-1], text[-1].lower()) if text and text[-1].lower() in units else (text, "d")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{source} must be a duration like 7d, 36h or 90m; got {text!r}")
    return dt.timedelta(**{units[unit]: value})


def parse_zone(text: str, source: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{source} must be an IANA time zone, e.g. Asia/Shanghai; got {text!r}") from None
    return text


def parse_http_url(text: str, source: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{source} must be an http(s) URL, e.g. http://api.waditu.com/dataapi; got {display_url(text)!r}"
        )
    return text
