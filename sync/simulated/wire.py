"""Tables in Tushare wire form, stored compactly and read a few rows at a time.

A full market holds tens of millions of stock-days, so a column is not always a float array:
prices stay integer cents, strings are codes into a small label array, and cheap derived
fields (change, total_mv, pe, ...) are computed only for the rows a request returns. Every
column answers `take(rows)` with wire values: float64 (NaN = null), int64, or objects
(str / None). `rows` may be an index array or `ALL`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from sync.tushare.apis import APIS

ALL = slice(None)

# Every field each interface documents, in documented order, and the default subset.
FIELDS: dict[str, tuple[str, ...]] = {name: api.fields for name, api in APIS.items()}
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {name: api.returned_by_default for name, api in APIS.items()}


class Column(Protocol):
    def take(self, rows) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class Values:
    """A plain array already in wire form."""

    data: np.ndarray

    def take(self, rows) -> np.ndarray:
        return self.data[rows]


@dataclasses.dataclass(frozen=True)
class Scaled:
    """Integers read as value / divisor: prices in cents (100), amounts in yuan (1000 → 千元)."""

    ints: np.ndarray
    divisor: float

    def take(self, rows) -> np.ndarray:
        return self.ints[rows] / self.divisor


@dataclasses.dataclass(frozen=True)
class Coded:
    """Strings as codes into `labels` (sorted, so code order is text order); -1 is null."""

    codes: np.ndarray
    labels: np.ndarray

    def take(self, rows) -> np.ndarray:
        codes = self.codes[rows]
        out = self.labels[np.maximum(codes, 0)].astype(object)
        out[codes < 0] = None
        return out


@dataclasses.dataclass(frozen=True)
class Derived:
    """A field computed from other columns for just the rows asked for."""

    fn: Callable[..., np.ndarray]
    inputs: tuple[Column, ...]

    def take(self, rows) -> np.ndarray:
        return self.fn(*(column.take(rows) for column in self.inputs))


@dataclasses.dataclass(frozen=True)
class Interleaved:
    """Rows of two columns merged: row r is row `position[r]` of `second` where `from_second[r]`, else of `first`."""

    first: Column
    second: Column
    from_second: np.ndarray
    position: np.ndarray

    def take(self, rows) -> np.ndarray:
        second, position = self.from_second[rows], self.position[rows]
        a, b = self.first.take(position[~second]), self.second.take(position[second])
        out = np.empty(len(position), dtype=np.result_type(a, b))
        out[~second], out[second] = a, b
        return out


@dataclasses.dataclass(frozen=True)
class Skipping:
    """A column with some of its rows removed, without copying it.

    `shift[j] = removed[j] - j` (sorted): row r of the thinned column is row r + #{j: shift[j] <= r}
    of `column`. The memory cost is the removed rows, not the column.
    """

    column: Column
    shift: np.ndarray
    n_rows: int  # rows left

    def take(self, rows) -> np.ndarray:
        rows = np.arange(self.n_rows) if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)
        return self.column.take(rows + np.searchsorted(self.shift, rows, side="right"))


@dataclasses.dataclass(frozen=True)
class WireTable:
    """One interface's full table: columns for all documented fields, in storage order."""

    api: str
    columns: Mapping[str, Column]
    n_rows: int

    def __len__(self) -> int:
        return self.n_rows

    def select_fields(self, requested: str | Sequence[str] | None) -> list[str]:
        """Requested field names that exist, in request order; empty request → defaults."""
        if isinstance(requested, str):
            requested = requested.split(",")
        names = [str(name).strip() for name in (requested or []) if str(name).strip()]
        known = list(dict.fromkeys(name for name in names if name in self.columns))
        return known or list(DEFAULT_FIELDS[self.api])

    def items(self, rows: np.ndarray, fields: Sequence[str]) -> list[list]:
        """JSON-ready rows (lists) for `rows`, nulls as None."""
        columns = [_json_values(self.columns[name].take(rows)) for name in fields]
        return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(len(rows))]

    def without_rows(self, removed: np.ndarray) -> WireTable:
        """The table less the rows at positions `removed` (storage order kept).

        Coded columns are copied (the server indexes their codes); others are read through.
        """
        removed = np.unique(np.asarray(removed, dtype=np.int64))
        if not len(removed):
            return self
        n_rows = self.n_rows - len(removed)
        shift = removed - np.arange(len(removed))
        columns = {
            name: Coded(np.delete(column.codes, removed), column.labels)
            if isinstance(column, Coded)
            else Skipping(column, shift, n_rows)
            for name, column in self.columns.items()
        }
        return WireTable(self.api, columns, n_rows)

    def to_frame(self) -> pd.DataFrame:
        """The whole table as a DataFrame: strings as pandas `str`, numbers float64 / int64."""
        arrays = {}
        for name in FIELDS[self.api]:
            column = self.columns[name]
            if isinstance(column, Coded):
                labels = pa.array(column.labels.tolist(), type=pa.string())
                arrays[name] = labels.take(pa.array(column.codes, mask=column.codes < 0))
            else:
                values = column.take(ALL)
                arrays[name] = pa.array(values.tolist() if values.dtype == object else values)
        return pa.table(arrays).to_pandas()


def _json_values(values: np.ndarray) -> list:
    """Plain Python values for json; NaN (also a stray float NaN among objects) becomes None."""
    if values.dtype.kind in "fO":
        return [None if v != v else v for v in values.tolist()]
    return values.tolist()
