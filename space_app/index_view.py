"""The indexes in the Space, pure: Explore's index choices and rows, the overlay, and Status's coverage.

An index is charted like a stock (its rows look like price rows: never paused, no adj_factor). On
a stock's chart, an index chosen in a dropdown (default 000300.SH) is overlaid as % change from the
first day shown, beside the stock's close as adjusted on the chart, on a right-hand % axis.

    >>> prices = pd.DataFrame({"code": ["000300.SH"] * 2, "name": ["沪深300"] * 2,
    ...     "date": [dt.date(2024, 1, 2), dt.date(2024, 1, 3)], "close": [100.0, 110.0]})
    >>> choices(prices), pct_change(prices["close"]).tolist()
    ([('000300.SH 沪深300 (index)', '000300.SH')], [0.0, 10.0])
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

DEFAULT_OVERLAY = "000300.SH"
NO_OVERLAY = ""
OVERLAY_COLOURS = ("#1f77b4", "#ff7f0e")  # the stock, the index


def choices(prices: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(label, code) per published index, e.g. ('000300.SH 沪深300 (index)', '000300.SH')."""
    if prices is None or not len(prices):
        return []
    named = prices.sort_values("date").drop_duplicates("code", keep="last").sort_values("code")
    return [(f"{code} {name} (index)", code) for code, name in zip(named["code"], named["name"].fillna(""))]


def default_overlay(prices: pd.DataFrame | None) -> str:
    codes = [code for _, code in choices(prices)]
    return DEFAULT_OVERLAY if DEFAULT_OVERLAY in codes else (codes[0] if codes else NO_OVERLAY)


def is_index(prices: pd.DataFrame | None, code: str | None) -> bool:
    return bool(code) and prices is not None and len(prices) > 0 and code in set(prices["code"])


def rows(prices: pd.DataFrame, code: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One index's rows in [start, end], shaped like price rows for the Explore chart and table."""
    frame = prices[(prices["code"] == code) & (prices["date"] >= start) & (prices["date"] <= end)]
    frame = frame.sort_values("date", ignore_index=True)
    return frame.assign(adj_factor=float("nan"), is_paused=False, is_st=False)


def pct_change(close: pd.Series) -> pd.Series:
    """% change from the first value shown."""
    values = close.astype(float).reset_index(drop=True)
    return ((values / values.iloc[0] - 1) * 100).round(4) if len(values) else values


def overlay(fig: go.Figure, stock: pd.DataFrame, index: pd.DataFrame, stock_label: str, index_label: str) -> go.Figure:
    """The stock's close (as adjusted on the chart) and the index's, both as % change from the first
    day shown, on a right-hand axis over the candlesticks. Days the stock did not trade are skipped."""
    traded = stock[~stock["is_paused"].astype(bool)] if len(stock) else stock
    if not len(traded) or not len(index):
        return fig
    days = [str(d) for d in traded["date"]]
    aligned = index.set_index(index["date"].astype(str))["close"].reindex(days)
    first = aligned.first_valid_index()
    for label, values, colour in (
        (stock_label, pct_change(traded["close"]), OVERLAY_COLOURS[0]),
        (index_label, (aligned / aligned.loc[first] - 1) * 100 if first else aligned, OVERLAY_COLOURS[1]),
    ):
        fig.add_trace(
            go.Scatter(
                x=days, y=list(values), name=f"{label} %", mode="lines", line=dict(color=colour, width=1.5), yaxis="y3"
            )
        )
    fig.update_layout(
        yaxis3=dict(overlaying="y", side="right", title="%", showgrid=False, zeroline=True),
        showlegend=True,
        legend=dict(orientation="h", y=1.08, x=0),
    )
    return fig


def coverage(prices: pd.DataFrame | None, days: pd.DataFrame | None, weights_rows: int | None) -> dict | None:
    """What Status says about the indexes: codes, first and last bar, days with a missing bar."""
    if prices is None or not len(prices):
        return None
    missing = 0
    if days is not None and "index_missing" in days:
        missing = int(sum(1 for m in days["index_missing"] if m is not None and len(m)))
    return {
        "codes": sorted(set(prices["code"])),
        "first": str(min(prices["date"])),
        "last": str(max(prices["date"])),
        "bars": int(len(prices)),
        "days_missing": missing,
        "weights": weights_rows,
    }
