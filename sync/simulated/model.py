"""`Layout`: the simulated range laid out as day-major matrices, shared by the layout and price stages."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class Layout:
    """Inputs of the day loop; `cols` are universe indices in ts_code order."""

    dates: np.ndarray  # range sessions (datetime64[D])
    start_g: int
    cols: np.ndarray
    status: np.ndarray  # (days, cols) int8: 0 not listed, 1 trades, 2 suspended
    st: np.ndarray  # (days, cols) bool: the name carries ST / *ST
    noise: np.ndarray  # (cols, days, N_NOISE) float16, stock-major (each stock fills its own block)
    z_close: np.ndarray  # (days, cols) float32: the close noise, day-major for the day loop
    ex_events: dict[int, dict[int, tuple[float, float]]]  # day → {col: (cash 万元, bonus ratio)}
    prior_div: np.ndarray  # (cols, 2): last dividend before the range: cash 万元, session; NaN if none
    list_day: np.ndarray  # range day of each col's listing (negative: listed before the range)
