"""Tushare reply rows → typed DataFrames: the same fields always give the same dtypes.

Dates (`YYYYMMDD`) become datetime64, `is_open`/`limit_status` int64, known numbers float64 and
known text pandas `str`, so an empty reply and a full one concatenate without surprises.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from dataset_script.schema import DAILY_BASIC_COLUMNS
from sync.core.clock import YMD

DATE_FIELDS = frozenset(
    {
        "trade_date",
        "cal_date",
        "pretrade_date",
        "list_date",
        "delist_date",
        "start_date",
        "end_date",
        "ann_date",
        "base_date",
        "exp_date",
    }
)
INT_FIELDS = frozenset({"is_open", "limit_status"})
FLOAT_FIELDS = frozenset(
    {
        # daily, stk_limit, adj_factor
        "open",
        "high",
        "low",
        "close",
        "pre_close",
        "change",
        "pct_chg",
        "vol",
        "amount",
        "ah_vol",
        "ah_amount",
        "up_limit",
        "down_limit",
        "adj_factor",
        # index_basic, index_weight
        "base_point",
        "weight",
        # daily_basic: every dataset column it gives is a float
        *DAILY_BASIC_COLUMNS,
        # bak_basic
        "total_assets",
        "liquid_assets",
        "fixed_assets",
        "reserved",
        "reserved_pershare",
        "eps",
        "bvps",
        "undp",
        "per_undp",
        "rev_yoy",
        "profit_yoy",
        "gpr",
        "npr",
        "holder_num",
    }
)
STR_FIELDS = frozenset(
    {
        "ts_code",
        "symbol",
        "name",
        "area",
        "industry",
        "fullname",
        "enname",
        "cnspell",
        "market",
        "exchange",
        "curr_type",
        "list_status",
        "is_hs",
        "act_name",
        "act_ent_type",
        "suspend_timing",
        "suspend_type",
        "change_reason",
        "index_code",
        "con_code",
        "publisher",
        "index_type",
        "category",
        "weight_rule",
        "desc",
    }
)
DATE_DTYPE: Final = "datetime64[us]"  # what pandas 3 itself gives for parsed date strings


def typed_frame(fields: Sequence[str], items: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of a Tushare reply → a DataFrame with a fixed dtype per known field.

    Dates (`YYYYMMDD`) → datetime64 (NaT for null or ""); `is_open`, `limit_status` → int64
    (nullable Int64 only if a value is null); known numbers → float64 (NaN for null); known text →
    pandas `str` (NaN for null). Unknown fields: float64 if every value is a number, else `str`.
    The same fields give the same dtypes with zero rows. Raises ValueError on unparseable values.

    >>> typed_frame(["trade_date", "close"], [["20250110", 10.5]]).dtypes.tolist()
    [dtype('<M8[us]'), dtype('float64')]
    """
    if items and all(len(row) == len(fields) for row in items):
        grid = pd.DataFrame(list(items), dtype=object).to_numpy()  # rows → one object column per field, in C
        columns = {name: _fast_column(name, grid[:, i]) for i, name in enumerate(fields)}
    else:
        values = list(zip(*items)) if items else [()] * len(fields)
        columns = {name: _typed_column(name, list(v)) for name, v in zip(fields, values)}
    return pd.DataFrame(columns, columns=list(fields))


def _fast_column(name: str, values: np.ndarray) -> pd.Series:
    """`_typed_column` for the usual case, vectorised: numbers (or nulls) in a number field, strings
    (or nulls) in a date or text field. Anything else takes the general path, with its errors."""
    kind = infer_dtype(values, skipna=True)
    try:
        if name in FLOAT_FIELDS and kind in ("floating", "integer", "mixed-integer-float", "empty"):
            return pd.Series(values.astype("float64"))
        if name in DATE_FIELDS and kind in ("string", "empty"):
            text = values.copy()  # an object column, so an empty string can become None
            text[values == ""] = None
            return pd.Series(pd.to_datetime(pd.Series(text, dtype=object), format=YMD).astype(DATE_DTYPE))
        if name in STR_FIELDS and kind in ("string", "empty"):
            return pd.Series(values, dtype="str")
    except (ValueError, TypeError):
        pass  # the general path says which value does not fit
    return _typed_column(name, values.tolist())


def _typed_column(name: str, values: list[Any]) -> pd.Series:
    raw = pd.Series([None if v == "" else v for v in values], dtype=object)
    try:
        if name in DATE_FIELDS:
            text = raw.map(lambda v: None if v is None else str(v))
            return pd.to_datetime(text, format=YMD).astype(DATE_DTYPE)
        if name in INT_FIELDS:
            ints = pd.to_numeric(raw).astype("Int64")
            return ints if ints.hasnans else ints.astype("int64")
        if name in FLOAT_FIELDS or (name not in STR_FIELDS and _all_numbers(values)):
            return pd.to_numeric(raw).astype("float64")
    except (ValueError, TypeError) as exc:
        kind = "a YYYYMMDD date" if name in DATE_FIELDS else "a whole number" if name in INT_FIELDS else "a number"
        bad = next((v for v in raw if v is not None and not _fits(name, v)), "?")
        raise ValueError(f"field {name!r} holds {bad!r}, which is not {kind}") from exc
    return pd.Series([v if v is None or isinstance(v, str) else str(v) for v in values], dtype="str")


def _all_numbers(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)


def _fits(name: str, value: Any) -> bool:
    if name in DATE_FIELDS:
        try:
            dt.datetime.strptime(str(value), YMD)
        except ValueError:
            return False
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return name not in INT_FIELDS or float(value).is_integer()
