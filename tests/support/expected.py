"""The contract's rows, computed straight from a synthetic market's wire tables.

Deliberately written as plain loops over the raw tables, sharing no code with `sync.tables.transform`,
so the end-to-end tests compare the engine against an independent reading of docs/dataset.md#row-rule.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

ST_PREFIXES = ("ST", "*ST", "SST", "S*ST")


def _day(text) -> dt.date | None:
    if text is None or (isinstance(text, float) and math.isnan(text)) or text == "":
        return None
    return dt.datetime.strptime(str(text), "%Y%m%d").date()


def _by_key(table: pd.DataFrame) -> dict[tuple[str, dt.date], dict]:
    return {(r["ts_code"], _day(r["trade_date"])): r for r in table.to_dict("records")}


def _num(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def expected_rows(market, days: list[dt.date], markets=("主板",), overrides=None) -> pd.DataFrame:
    """Rows for `days` (all the trading days of the dataset, in order), sorted by (date, code).

    `overrides` maps (api, ts_code, trade_date 'YYYYMMDD') → {field: value}, mirroring restatements.
    """
    tables = {
        api: market.table(api).copy()
        for api in ("stock_basic", "daily", "stk_limit", "daily_basic", "adj_factor", "namechange")
    }
    for (api, code, date), values in (overrides or {}).items():
        table = tables[api]
        hit = (table["ts_code"] == code) & (table["trade_date"] == date)
        for field, value in values.items():
            table.loc[hit, field] = value
    daily, limits, basics, factors = (_by_key(tables[a]) for a in ("daily", "stk_limit", "daily_basic", "adj_factor"))
    names: dict[str, list[tuple[dt.date, str]]] = {}
    for r in tables["namechange"].to_dict("records"):
        if _day(r["start_date"]):
            names.setdefault(r["ts_code"], []).append((_day(r["start_date"]), r["name"]))
    basic_fields = [
        "turnover_rate",
        "turnover_rate_f",
        "volume_ratio",
        "pe",
        "pe_ttm",
        "pb",
        "ps",
        "ps_ttm",
        "dv_ratio",
        "dv_ttm",
        "total_share",
        "float_share",
        "free_share",
        "total_mv",
        "circ_mv",
    ]
    out = []
    for s in tables["stock_basic"].to_dict("records"):
        if s["market"] not in markets:
            continue
        code, listed, delisted = s["ts_code"], _day(s["list_date"]), _day(s["delist_date"])
        last_close = last_adj = None
        for day in days:
            if day < listed or (delisted and day >= delisted):
                continue
            bar = daily.get((code, day))
            factor = factors.get((code, day))
            if factor is not None:
                last_adj = _num(factor["adj_factor"])
            if bar is None and last_close is None:
                continue
            row = {"code": code, "date": day}
            if bar is not None:
                row.update(
                    open=bar["open"],
                    high=bar["high"],
                    low=bar["low"],
                    close=bar["close"],
                    prev_close=bar["pre_close"],
                    quote_rate=bar["pct_chg"],
                    volume=bar["vol"],
                    turnover=bar["amount"],
                )
                row["avg_price"] = bar["amount"] * 10 / bar["vol"] if bar["vol"] else None
                last_close = bar["close"]
            else:
                row.update(
                    open=last_close,
                    high=last_close,
                    low=last_close,
                    close=last_close,
                    prev_close=last_close,
                    quote_rate=0.0,
                    volume=0.0,
                    turnover=0.0,
                    avg_price=None,
                )
            limit = limits.get((code, day))
            row["high_limit"] = _num(limit["up_limit"]) if limit else None
            row["low_limit"] = _num(limit["down_limit"]) if limit else None
            basic = basics.get((code, day))
            for field in basic_fields:
                row[field] = _num(basic[field]) if basic else None
            in_force = [name for start, name in sorted(names.get(code, [])) if start <= day]
            row["name"] = in_force[-1] if in_force else s["name"]
            row.update(
                area=s["area"], industry=s["industry"], market=s["market"], exchange=s["exchange"], list_date=listed
            )
            row["adj_factor"] = last_adj
            row["is_st"] = row["name"].startswith(ST_PREFIXES)
            row["is_paused"] = bar is None
            out.append(row)
    frame = pd.DataFrame(out)
    return frame.sort_values(["date", "code"], ignore_index=True)


def assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same keys in the same order, and equal values (floats to 1e-9 relative, nulls equal)."""
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}"
    keys_actual = list(zip(actual["code"], pd.to_datetime(actual["date"]).dt.date))
    keys_expected = list(zip(expected["code"], expected["date"]))
    assert keys_actual == keys_expected, "row keys or order differ"
    for column in expected.columns:
        if column in ("code", "date"):
            continue
        left, right = actual[column].tolist(), expected[column].tolist()
        for i, (a, e) in enumerate(zip(left, right)):
            if _missing(a) and _missing(e):
                continue
            if column == "list_date":
                a = pd.Timestamp(a).date()
            ok = math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-9) if isinstance(e, float) and not _missing(a) else a == e
            assert ok, f"{column} differs at {keys_expected[i]}: {a!r} != {e!r}"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT
