"""Price tables by hand: a few (code, date, close) rows in the published schema, other columns null."""

import datetime as dt

import pyarrow as pa

from dataset_script.schema import PRICE_SCHEMA

JAN2, JAN3, JAN31, FEB1 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 31), dt.date(2024, 2, 1)


def table(rows):
    """rows: (code, date, close) triples; other columns null."""
    columns = {name: [None] * len(rows) for name in PRICE_SCHEMA.names}
    columns["code"] = [r[0] for r in rows]
    columns["date"] = [r[1] for r in rows]
    columns["close"] = [float(r[2]) for r in rows]
    columns["is_paused"] = [False] * len(rows)
    return pa.table(columns, schema=PRICE_SCHEMA)
