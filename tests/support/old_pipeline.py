"""The old pipeline's repo as its source writes it (the Prefect flows that published
`ellendan/a-share-prices` before this project):

- `all-prices.csv`: pandas `to_csv` of a frame indexed by (`code`, `date`) with the `daily`,
  `stk_limit` and `daily_basic` fields renamed, then `name, area, industry, market, exchange,
  list_date` joined from `stock_basic`; dates parsed with `pd.to_datetime`, so written `2024-01-02`.
- `calendar.csv`: its calendar flow (`market/trade_calendar.py`): `trade_cal(start_date="20050101",
  end_date=f"{year}1231", is_open="1")`, `cal_date` parsed with `pd.to_datetime`, sorted, written
  with `to_csv(index=False)`: a header `cal_date`, then `2005-01-04`, ...
- `.last_update_date`: the end date `YYYYMMDD` of the last run.
- each file uploaded with its own `HfApi.upload_file` commit.

Nothing here uses the project's code: the expected calendar comes from the Tushare server over its
wire protocol.
"""

from __future__ import annotations

import datetime as dt
import io

import httpx
import pandas as pd

OLD_COLUMNS = (
    "code,date,open,high,low,close,prev_close,quote_rate,volume,turnover,high_limit,low_limit,turnover_rate,"
    "turnover_rate_f,volume_ratio,pe,pe_ttm,pb,ps,ps_ttm,dv_ratio,dv_ttm,total_share,float_share,free_share,"
    "total_mv,circ_mv,name,area,industry,market,exchange,list_date"
).split(",")

# A tiny but valid PNG (1x1, grey): the maintainer's picture for the card.
IMAGE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200811d4f0b9b0000000049454e44ae426082"
)
IMAGE_PATH = "images/kline.png"

OLD_CARD = b"""---
license: mit
pretty_name: A-share prices
maintainer_note: kept by hand
---

# A-share prices

Daily prices of the main board since 2005.

![K-line](images/kline.png)
"""


def all_prices_csv() -> bytes:
    """Two stocks on two days, written the way the old delta flow appends them."""
    bars = pd.DataFrame(
        {
            "ts_code": ["600000.SH", "000001.SZ", "600000.SH", "000001.SZ"],
            "trade_date": ["20240102", "20240102", "20240103", "20240103"],
            "open": [7.1, 9.39, 7.2, 9.19],
            "high": [7.3, 9.42, 7.25, 9.22],
            "low": [7.0, 9.21, 7.1, 9.02],
            "close": [7.2, 9.21, 7.15, 9.2],
            "pre_close": [7.1, 9.39, 7.2, 9.21],
            "pct_chg": [1.4085, -1.9169, -0.6944, -0.1086],
            "vol": [402_211.0, 1_158_366.45, 366_590.0, 733_610.0],
            "amount": [288_301.5, 1_075_742.252, 263_511.7, 667_425.4],
            "up_limit": [7.81, 10.33, 7.92, 10.13],
            "down_limit": [6.39, 8.45, 6.48, 8.29],
            "turnover_rate": [0.1371, 0.5969, 0.1249, 0.378],
            "turnover_rate_f": [0.3089, 1.1049, 0.2814, 0.6997],
            "volume_ratio": [0.83, 1.15, 0.76, 0.71],
            "pe": [4.9, 4.5, 4.87, 4.49],
            "pe_ttm": [5.1, 4.4, 5.06, 4.39],
            "pb": [0.38, 0.53, 0.38, 0.53],
            "ps": [1.2, 1.08, 1.19, 1.08],
            "ps_ttm": [1.3, 1.12, 1.29, 1.12],
            "dv_ratio": [6.3, 3.2, 6.34, 3.2],
            "dv_ttm": [6.3, 3.2, 6.34, 3.2],
            "total_share": [2_935_208.04, 1_940_591.82, 2_935_208.04, 1_940_591.82],
            "float_share": [2_935_208.04, 1_940_560.3, 2_935_208.04, 1_940_560.3],
            "free_share": [1_300_000.0, 1_050_000.0, 1_300_000.0, 1_050_000.0],
            "total_mv": [21_133_497.9, 17_872_850.7, 20_986_737.5, 17_853_444.7],
            "circ_mv": [21_133_497.9, 17_872_560.4, 20_986_737.5, 17_853_154.8],
        }
    )
    stocks = pd.DataFrame(
        {
            "ts_code": ["600000.SH", "000001.SZ"],
            "name": ["浦发银行", "平安银行"],
            "area": ["上海", "深圳"],
            "industry": ["银行", "银行"],
            "market": ["主板", "主板"],
            "exchange": ["SSE", "SZSE"],
            "list_date": ["19991110", "19910403"],
        }
    ).set_index("ts_code")
    frame = bars.set_index(["ts_code", "trade_date"]).join(stocks, on="ts_code")
    frame["list_date"] = pd.to_datetime(frame["list_date"])
    frame = frame.rename(
        columns={
            "pre_close": "prev_close",
            "pct_chg": "quote_rate",
            "vol": "volume",
            "amount": "turnover",
            "up_limit": "high_limit",
            "down_limit": "low_limit",
        }
    )
    frame.index = pd.MultiIndex.from_arrays(
        [frame.index.get_level_values(0), pd.to_datetime(frame.index.get_level_values(1))], names=["code", "date"]
    )
    out = io.StringIO()
    frame.to_csv(out, index=True)
    text = out.getvalue()
    assert text.splitlines()[0].split(",") == OLD_COLUMNS
    return text.encode()


def trade_cal_open_days(url: str, token: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """SSE open days in [start, end], asked of a Tushare server over its wire protocol."""
    body = {
        "api_name": "trade_cal",
        "token": token,
        "params": {"exchange": "SSE", "start_date": start.strftime("%Y%m%d"), "end_date": end.strftime("%Y%m%d")},
        "fields": "cal_date,is_open",
    }
    reply = httpx.post(f"{url}/trade_cal", json=body, timeout=30).json()
    assert reply["code"] == 0, reply
    fields = reply["data"]["fields"]
    rows = [dict(zip(fields, item, strict=True)) for item in reply["data"]["items"]]
    return sorted(dt.datetime.strptime(r["cal_date"], "%Y%m%d").date() for r in rows if int(r["is_open"]) == 1)


def calendar_csv(open_days: list[dt.date]) -> bytes:
    """calendar.csv as the old calendar flow writes it."""
    frame = pd.DataFrame({"cal_date": [d.strftime("%Y%m%d") for d in open_days]})
    frame["cal_date"] = pd.to_datetime(frame["cal_date"])
    out = io.StringIO()
    frame.sort_values("cal_date")["cal_date"].to_csv(out, index=False)
    return out.getvalue().encode()


def old_repo_files(open_days: list[dt.date], last_update: str = "20240103") -> dict[str, bytes]:
    """The real repo's files, the maintainer's picture included (`.gitattributes` comes with the repo)."""
    return {
        "calendar.csv": calendar_csv(open_days),
        "all-prices.csv": all_prices_csv(),
        ".last_update_date": last_update.encode(),
        "README.md": OLD_CARD,
        IMAGE_PATH: IMAGE,
    }


def upload_like_the_old_pipeline(repo_id: str, files: dict[str, bytes]) -> None:
    """Create the repo and upload each file in its own commit, as the old flows did."""
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    for path, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id, repo_type="dataset")
