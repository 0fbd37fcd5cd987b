"""The Explore tab's pure parts: stock choices, price adjustment and the candlestick figure.

Adjustment follows the dataset card: 后复权 (hfq) = price × adj_factor; 前复权 (qfq) =
price × adj_factor / the newest adj_factor of that code, so the latest prices stay as traded.

    >>> frame = pd.DataFrame({"open": [10.0], "high": [11.0], "low": [9.0], "close": [10.0], "adj_factor": [2.0]})
    >>> adjust(frame, "hfq", latest_factor=4.0)["close"].tolist(), adjust(frame, "qfq", 4.0)["close"].tolist()
    ([20.0], [5.0])
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

PRICES = ("open", "high", "low", "close")
ADJUSTMENTS = {"none": "不复权 (none)", "qfq": "前复权 (qfq)", "hfq": "后复权 (hfq)"}
TABLE_COLUMNS = [
    "date",
    "name",
    "open",
    "high",
    "low",
    "close",
    "prev_close",
    "quote_rate",
    "volume",
    "turnover",
    "adj_factor",
    "is_paused",
    "is_st",
]
UP, DOWN = "#d62728", "#2ca02c"  # A-share convention: red up, green down


def stock_choices(stocks: pd.DataFrame | None) -> list[tuple[str, str]]:
    """(label, code) pairs such as ('600000.SH 浦发银行', '600000.SH'), for a searchable dropdown."""
    if stocks is None or not len(stocks):
        return []
    ordered = stocks.sort_values("code")
    return [(f"{code} {name}", code) for code, name in zip(ordered["code"], ordered["name"].fillna(""))]


def default_stock(stocks: pd.DataFrame | None) -> str | None:
    """The stock the Explore tab opens on: the first listed one by code (a delisted one may have no
    rows in the default range), else the first of any status."""
    if stocks is None or not len(stocks):
        return None
    ordered = stocks.sort_values("code")
    listed = ordered[ordered["list_status"] == "L"] if "list_status" in ordered else ordered.iloc[:0]
    return (listed if len(listed) else ordered)["code"].iloc[0]


def adjust(frame: pd.DataFrame, mode: str, latest_factor: float | None) -> pd.DataFrame:
    """Prices adjusted by `mode` ("none", "qfq", "hfq"); rows without adj_factor keep raw prices."""
    if mode == "none" or not len(frame):
        return frame
    factor = frame["adj_factor"].astype(float)
    if mode == "qfq":
        if not latest_factor:
            return frame
        factor = factor / latest_factor
    factor = factor.fillna(1.0)
    out = frame.copy()
    for column in PRICES:
        out[column] = (frame[column].astype(float) * factor).round(4)
    return out


def default_range(first: dt.date | None, watermark: dt.date | None, months: int = 6) -> tuple[str, str]:
    """The last `months` months up to the watermark, as YYYY-MM-DD strings ('' when unpublished)."""
    if watermark is None:
        return "", ""
    start = (pd.Timestamp(watermark) - pd.DateOffset(months=months)).date()
    return max(start, first or start).isoformat(), watermark.isoformat()


def figure(frame: pd.DataFrame, title: str) -> go.Figure:
    """Candlesticks above, volume (手) below; paused days have no candle."""
    bars = frame[~frame["is_paused"].astype(bool)] if len(frame) else frame
    days = [str(d) for d in bars["date"]]  # a category axis: no gaps for weekends and holidays
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.03)
    fig.add_trace(
        go.Candlestick(
            x=days,
            open=bars["open"],
            high=bars["high"],
            low=bars["low"],
            close=bars["close"],
            name="price",
            increasing_line_color=UP,
            decreasing_line_color=DOWN,
        ),
        row=1,
        col=1,
    )
    colors = [UP if c >= o else DOWN for o, c in zip(bars["open"], bars["close"])]
    fig.add_trace(go.Bar(x=days, y=bars["volume"], marker_color=colors, name="volume (手)"), row=2, col=1)
    fig.update_layout(
        title=title, showlegend=False, height=520, margin=dict(l=50, r=20, t=50, b=30), xaxis_rangeslider_visible=False
    )
    fig.update_xaxes(type="category", nticks=8)
    fig.update_yaxes(title_text="CNY", row=1, col=1)
    fig.update_yaxes(title_text="volume (手)", row=2, col=1)
    return fig


def localise(fig: go.Figure | None, lang: str) -> go.Figure | None:
    """The chart's axis titles in `lang` (the figure is drawn in English by `figure`)."""
    if fig is None or lang != "zh":
        return fig
    prices_in = fig.layout.yaxis.title.text
    fig.update_yaxes(title_text="元" if prices_in == "CNY" else "点", row=1, col=1)
    fig.update_yaxes(title_text="成交量（手）", row=2, col=1)
    return fig


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as shown under the chart, newest first."""
    if not len(frame):
        return pd.DataFrame(columns=TABLE_COLUMNS)
    shown = frame[[c for c in TABLE_COLUMNS if c in frame.columns]].copy()
    shown["date"] = shown["date"].astype(str)
    return shown.sort_values("date", ascending=False, ignore_index=True)
