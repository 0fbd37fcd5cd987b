"""The restatement log (`meta/changes.parquet`). Pure.

A change row names one (code, date, column) whose published value a re-fetch changed, with both
values typed: numbers in `old_value`/`new_value` (float64), anything else as text in
`old_text`/`new_text`. (Run rows, the other meta table a publish appends to, are `sync.runs.history`.)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dataset_script.schema import CHANGES_SCHEMA, PRICE_SCHEMA

KEYS = ("code", "date")
ROW = "(row)"  # the column name of a change that adds or removes a whole row


NUMBER_COLUMNS = frozenset(f.name for f in PRICE_SCHEMA if pa.types.is_floating(f.type))


def changes_table(previous: pa.Table | None, fresh: pd.DataFrame) -> pa.Table:
    """The restatement log with `fresh` appended; an older log (values as text) is upgraded."""
    table = pa.Table.from_pandas(fresh[CHANGES_SCHEMA.names], schema=CHANGES_SCHEMA, preserve_index=False)
    return pa.concat_tables([upgraded_changes(previous), table]) if previous is not None else table


def upgraded_changes(table: pa.Table) -> pa.Table:
    """A restatement log of any earlier layout in today's. The first layout kept every value as text
    in `old_value`/`new_value`: a number column's values become float64 there, the others move to
    `old_text`/`new_text`."""
    if table.schema.field("old_value").type == pa.float64():
        return table.select(CHANGES_SCHEMA.names).cast(CHANGES_SCHEMA)
    frame = table.to_pandas()
    numeric = frame["column"].isin(NUMBER_COLUMNS)
    upgraded = {name: frame[name] for name in ("code", "date", "column", "run_id")}
    for side in ("old", "new"):
        text = frame[f"{side}_value"]
        upgraded[f"{side}_value"] = pd.to_numeric(text.where(numeric), errors="coerce").astype("float64")
        upgraded[f"{side}_text"] = text.where(~numeric, None)
    return pa.Table.from_pandas(
        pd.DataFrame(upgraded)[CHANGES_SCHEMA.names], schema=CHANGES_SCHEMA, preserve_index=False
    )


def no_changes() -> pd.DataFrame:
    return CHANGES_SCHEMA.empty_table().to_pandas()


def diff_rows(old: pa.Table | None, new: pa.Table, days: Sequence[dt.date], run_id: str) -> pd.DataFrame:
    """Every (code, date, column) of `days` whose value differs between the published `old` rows and
    the `new` ones; a row only on one side is one change with column "(row)"."""
    if old is None or old.num_rows == 0 or not days:
        return no_changes()
    wanted = pa.array(sorted(set(days)), type=pa.date32())
    before = old.filter(pc.is_in(old.column("date"), value_set=wanted)).to_pandas()
    after = new.filter(pc.is_in(new.column("date"), value_set=wanted)).to_pandas()
    if before.empty:
        return no_changes()
    # A day that was not published before is an addition, not a restatement: it is not logged.
    after = after[after["date"].isin(before["date"].unique())]
    both = before.merge(after, on=list(KEYS), how="outer", suffixes=("_old", "_new"), indicator=True)
    parts = [_row_changes(both)]
    matched = both[both["_merge"] == "both"]
    for column in (n for n in PRICE_SCHEMA.names if n not in KEYS):
        was, now = matched[f"{column}_old"], matched[f"{column}_new"]
        differs = ~((was == now) | (was.isna() & now.isna()))
        if differs.any():
            hit = matched[differs]
            parts.append(_value_changes(hit, column, was[differs], now[differs]))
    changes = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else no_changes()
    changes["run_id"] = run_id
    return changes.sort_values(["date", "code", "column"], ignore_index=True)[CHANGES_SCHEMA.names]


def changed_rows(changes: pd.DataFrame) -> int:
    """How many (code, date) rows the changes touch."""
    return int(changes[list(KEYS)].drop_duplicates().shape[0]) if len(changes) else 0


def _value_changes(hit: pd.DataFrame, column: str, was: pd.Series, now: pd.Series) -> pd.DataFrame:
    """Change rows of one column: numbers as float64 values, anything else as text."""
    frame = pd.DataFrame({"code": hit["code"], "date": hit["date"], "column": column})
    if column in NUMBER_COLUMNS:
        return frame.assign(
            old_value=was.astype("float64").to_numpy(),
            new_value=now.astype("float64").to_numpy(),
            old_text=None,
            new_text=None,
        )
    return frame.assign(
        old_value=float("nan"),
        new_value=float("nan"),
        old_text=pd.Series([_text(v) for v in was], index=frame.index, dtype=object),
        new_text=pd.Series([_text(v) for v in now], index=frame.index, dtype=object),
    )


def _row_changes(both: pd.DataFrame) -> pd.DataFrame:
    only = both[both["_merge"] != "both"]
    return pd.DataFrame(
        {
            "code": only["code"],
            "date": only["date"],
            "column": ROW,
            "old_value": float("nan"),
            "new_value": float("nan"),
            "old_text": ["present" if m == "left_only" else None for m in only["_merge"]],
            "new_text": ["present" if m == "right_only" else None for m in only["_merge"]],
        }
    )


def _text(value: object) -> str | None:
    """A value as text: None for null, floats with full precision, dates ISO."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, float):
        return repr(float(value))  # plain digits (numpy 2 reprs its floats as np.float64(...))
    if isinstance(value, (dt.date, pd.Timestamp)):
        return pd.Timestamp(value).date().isoformat()
    return str(value)
