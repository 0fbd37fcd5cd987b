"""The Status tab's pictures. Pure: published tables in, plotly figures out (no I/O, no clock).

Each picture has a data builder (a DataFrame a test can check cell by cell) and a figure builder:

- `day_cells` → `days_figure`: every trading day as a calendar cell, complete / partial / held
  back / missing, with its coverage per interface and rows on hover;
- `days` → `coverage_figure`: coverage per interface over time, with the threshold;
- `run_points` → `runs_figure`: duration and API calls per run, failures marked;
- `publication_lags` → `lag_figure`: hours from a trading day's close to the commit that made it
  visible, for the days a delta published.

    >>> import datetime as dt
    >>> days = pd.DataFrame({"date": [dt.date(2024, 1, 2)], "status": ["partial"], "rows": [10], "paused": [0],
    ...                      "coverage_daily": [0.9]})
    >>> day_cells(days, [dt.date(2024, 1, 2), dt.date(2024, 1, 3)], dt.date(2024, 1, 2), dt.date(2024, 1, 3))["state"].tolist()
    ['partial', 'held']
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dataset_script.schema import COVERAGE_APIS
from space_app.i18n import Lang, t, word
from space_app.time_ticks import time_ticks
from sync.core.clock import SHANGHAI

STATES = ("complete", "partial", "held", "missing")
STATE_CODE = {state: i for i, state in enumerate(STATES)}
COLORS = {"complete": "#3a9d5d", "partial": "#f0a202", "held": "#4c78a8", "missing": "#d62728"}
API_COLORS = {"daily": "#1f77b4", "daily_basic": "#ff7f0e", "stk_limit": "#9467bd", "adj_factor": "#8c564b"}
CLOSE = dt.time(15, 0)  # the SSE and SZSE close, Asia/Shanghai
FAILED = ("failed", "failure", "error", "interrupted")
MONTH_STARTS = [1, 32, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335]  # day of the year, common years
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=40), font=dict(size=12))


# -- every trading day ---------------------------------------------------------------------------
def day_cells(
    days: pd.DataFrame | None, open_days: Sequence[dt.date], watermark: dt.date | None, expected: dt.date | None
) -> pd.DataFrame:
    """One row per trading day from the first published day to the newest day that could be
    published (`expected`, or the watermark): its `state`, `rows`, `paused` and coverage columns.

    A trading day in meta/days is complete or partial as published. One missing from it is
    `missing` when it lies among published days (up to the watermark, or before a newer published
    day: a hole that must not be) and `held` after the newest published day (not published yet: a
    fresh day that is not complete, or the evening's run is still to come).
    """
    columns = ["date", "state", "rows", "paused", *[f"coverage_{api}" for api in COVERAGE_APIS]]
    if days is None or not len(days) or watermark is None:
        return pd.DataFrame(columns=columns)
    published = days.assign(date=pd.to_datetime(days["date"]).dt.date).set_index("date")
    first, newest = min(published.index), max(published.index)
    last = max(d for d in (expected, watermark, max(published.index)) if d is not None)
    calendar = sorted({d for d in open_days if first <= d <= last} | set(published.index))
    rows = []
    for day in calendar:
        if day in published.index:
            row = published.loc[day]
            state = "partial" if str(row.get("status")) == "partial" else "complete"
            rows.append(
                [
                    day,
                    state,
                    _int(row.get("rows")),
                    _int(row.get("paused")),
                    *[_float(row.get(f"coverage_{api}")) for api in COVERAGE_APIS],
                ]
            )
        else:
            hole = day <= watermark or day < newest
            rows.append([day, "missing" if hole else "held", None, None, *[None] * len(COVERAGE_APIS)])
    return pd.DataFrame(rows, columns=columns)


def days_figure(cells: pd.DataFrame, lang: Lang) -> go.Figure:
    """A calendar heatmap: one row per year (newest on top), one column per day of the year."""
    if not len(cells):
        return _empty(t(lang, "chart_days"), t(lang, "no_days"))
    years = sorted({d.year for d in cells["date"]}, reverse=True)
    row_of = {year: i for i, year in enumerate(years)}
    z = [[None] * 366 for _ in years]
    text = [[""] * 366 for _ in years]
    for cell in cells.itertuples(index=False):
        i, j = row_of[cell.date.year], cell.date.timetuple().tm_yday - 1
        z[i][j] = STATE_CODE[cell.state]
        text[i][j] = _cell_hover(cell, lang)
    scale = []
    for i, state in enumerate(STATES):
        scale += [[i / len(STATES), COLORS[state]], [(i + 1) / len(STATES), COLORS[state]]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(1, 367)),
            y=[str(y) for y in years],
            text=text,
            hovertemplate="%{text}<extra></extra>",
            colorscale=scale,
            zmin=-0.5,
            zmax=len(STATES) - 0.5,
            showscale=False,
            xgap=1,
            ygap=3,
            hoverongaps=False,
        )
    )
    counts = cells["state"].value_counts()
    for state in STATES:  # the legend, with the count of each state
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"{t(lang, 'state_' + state)} {counts.get(state, 0):,}",
                marker=dict(color=COLORS[state], size=12, symbol="square"),
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        **LAYOUT,
        title=t(lang, "chart_days"),
        height=150 + 24 * len(years),
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom", xanchor="left", title=None),
        plot_bgcolor="#f4f4f4",
    )
    fig.update_layout(title=dict(x=0, y=0.98, yanchor="top"), margin=dict(l=60, r=20, t=80, b=30))
    fig.update_xaxes(
        tickvals=MONTH_STARTS,
        ticktext=t(lang, "month_ticks").split(","),
        range=[0.5, 366.5],
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(type="category", showgrid=False, autorange="reversed")  # newest year on top
    return fig


def _cell_hover(cell, lang: Lang) -> str:
    lines = [f"<b>{cell.date.isoformat()}</b> · {t(lang, 'state_' + cell.state)}"]
    if cell.rows is None:
        lines.append(t(lang, "hover_not_published"))
        return "<br>".join(lines)
    lines.append(f"{t(lang, 'hover_rows')}: {cell.rows:,} ({t(lang, 'hover_paused')} {cell.paused or 0:,})")
    for api in COVERAGE_APIS:
        value = getattr(cell, f"coverage_{api}")
        if value is not None:
            lines.append(f"{api}: {value * 100:.1f}%")
    return "<br>".join(lines)


# -- coverage over time --------------------------------------------------------------------------
def coverage_figure(days: pd.DataFrame | None, threshold: float, lang: Lang) -> go.Figure:
    """Coverage per interface in % per published trading day; null (before a history) is a gap."""
    if days is None or not len(days):
        return _empty(t(lang, "chart_coverage"), t(lang, "no_days"))
    ordered = days.assign(date=pd.to_datetime(days["date"])).sort_values("date")
    fig = go.Figure()
    low = 100.0
    for api in COVERAGE_APIS:
        column = f"coverage_{api}"
        if column not in ordered:
            continue
        values = ordered[column].astype(float) * 100
        if values.notna().any():
            low = min(low, float(values.min()))
        fig.add_trace(
            go.Scatter(
                x=ordered["date"],
                y=values,
                mode="lines+markers" if len(ordered) < 60 else "lines",
                name=api,
                line=dict(color=API_COLORS.get(api), width=1.5),
                marker=dict(size=4),
                hovertemplate=f"{api}: %{{y:.1f}}%<br>%{{x|%Y-%m-%d}}<extra></extra>",
            )
        )
    fig.add_hline(
        y=threshold * 100,
        line=dict(dash="dash", color="#888", width=1),
        annotation_text=f"{t(lang, 'threshold')} {threshold * 100:g}%",
        annotation_position="bottom right",
    )
    fig.update_layout(
        **LAYOUT,
        title=t(lang, "chart_coverage"),
        height=320,
        hovermode="x unified",
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
    )
    fig.update_layout(title=dict(x=0, y=0.98, yanchor="top"), margin=dict(l=60, r=20, t=80, b=30))
    fig.update_yaxes(title_text="%", range=[max(0.0, min(low, threshold * 100) - 3), 100.8])
    fig.update_xaxes(tickformat="%Y-%m")  # numbers read the same in both languages
    return fig


# -- runs ----------------------------------------------------------------------------------------
def run_points(runs: pd.DataFrame) -> pd.DataFrame:
    """From the Runs table (columns by position: started, finished, kind, trigger, status, days, rows,
    calls, message, as `status_json.runs_table` gives them): one row per run, with its duration in minutes."""
    columns = ["started", "duration_min", "calls", "kind", "trigger", "status", "message", "failed"]
    if runs is None or not len(runs):
        return pd.DataFrame(columns=columns)
    rows = []
    for row in runs.itertuples(index=False):
        start, end = _local_time(row[0]), _local_time(row[1])
        if start is None:
            continue
        duration = (end - start).total_seconds() / 60 if end is not None else None
        state = str(row[4] or "")
        rows.append([start, duration, _calls(row[7]), row[2], row[3], state, row[8] or "", state.lower() in FAILED])
    return pd.DataFrame(rows, columns=columns).sort_values("started", ignore_index=True)


def runs_figure(points: pd.DataFrame, lang: Lang) -> go.Figure:
    """Duration above, API calls below, per run in time; a failed run is a red cross in both."""
    if not len(points):
        return _empty(t(lang, "chart_runs"), t(lang, "no_runs"))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.55, 0.45])
    for kind, color in (("full", "#4c78a8"), ("delta", "#3a9d5d")):
        mine = points[(points["kind"] == kind) & ~points["failed"]]
        if not len(mine):
            continue
        hover = [_run_hover(p, lang) for p in mine.itertuples(index=False)]
        name = word(lang, kind)
        fig.add_trace(
            go.Scatter(
                x=mine["started"],
                y=mine["duration_min"],
                mode="markers",
                name=name,
                marker=dict(color=color, size=8),
                text=hover,
                hovertemplate="%{text}<extra></extra>",
                legendgroup=kind,
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=mine["started"],
                y=mine["calls"],
                mode="markers",
                name=name,
                legendgroup=kind,
                marker=dict(color=color, size=8, symbol="diamond"),
                text=hover,
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            ),
            row=2,
            col=1,
        )
    failed = points[points["failed"]]
    if len(failed):
        hover = [_run_hover(p, lang) for p in failed.itertuples(index=False)]
        for row, column in ((1, "duration_min"), (2, "calls")):
            fig.add_trace(
                go.Scatter(
                    x=failed["started"],
                    y=failed[column].fillna(0),
                    mode="markers",
                    name=f"{t(lang, 'failed')} {len(failed)}",
                    showlegend=row == 1,
                    legendgroup="failed",
                    marker=dict(color=COLORS["missing"], symbol="x", size=11, line=dict(width=1)),
                    text=hover,
                    hovertemplate="%{text}<extra></extra>",
                ),
                row=row,
                col=1,
            )
    fig.update_layout(
        **LAYOUT, title=t(lang, "chart_runs"), height=420, legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom")
    )
    fig.update_layout(title=dict(x=0, y=0.98, yanchor="top"), margin=dict(l=60, r=20, t=80, b=30))
    ticks, labels = time_ticks(pd.Timestamp(points["started"].min()), pd.Timestamp(points["started"].max()))
    wall = [t.tz_localize(None) if t.tzinfo else t for t in ticks]  # as plotly writes the points: Shanghai wall time
    fig.update_xaxes(tickvals=wall, ticktext=labels)  # not a date-only format: runs of one day share a date
    fig.update_yaxes(title_text=t(lang, "duration_min"), rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text=t(lang, "api_calls"), rangemode="tozero", row=2, col=1)
    return fig


def _run_hover(p, lang: Lang) -> str:
    duration = "?" if p.duration_min is None or pd.isna(p.duration_min) else f"{p.duration_min:.1f}"
    calls = "?" if p.calls is None or pd.isna(p.calls) else f"{int(p.calls):,}"
    head = (
        f"<b>{p.started:%Y-%m-%d %H:%M}</b> · {word(lang, p.kind)} ({word(lang, p.trigger)}) · {word(lang, p.status)}"
    )
    message = (p.message or "")[:140]
    return f"{head}<br>{t(lang, 'duration_min')}: {duration}<br>{t(lang, 'api_calls')}: {calls}<br>{message}"


# -- from the close to visible -------------------------------------------------------------------
def publication_lags(days: pd.DataFrame | None, runs: pd.DataFrame | None) -> pd.DataFrame:
    """For each trading day a delta published: when it became visible and the hours since its close.

    meta/runs says how many days each run added, not which: the watermark only moves forward over
    gap-free days, so walking the runs in time order, a run that added `k` days published the `k`
    oldest days not yet assigned whose close was before the run ended. Days a full sync added are
    assigned too (so later runs line up) but left out: a backfill is not a publication lag.
    """
    columns = ["date", "visible_at", "lag_hours", "trigger"]
    if days is None or runs is None or not len(days) or not len(runs):
        return pd.DataFrame(columns=columns)
    queue = sorted(pd.to_datetime(days["date"]).dt.date)
    ordered = runs.assign(finished=pd.to_datetime(runs["finished_at"], utc=True)).sort_values("finished")
    rows, i = [], 0
    for run in ordered.itertuples(index=False):
        added = _int(getattr(run, "days_added", 0)) or 0
        finished = run.finished.to_pydatetime().astimezone(SHANGHAI)
        taken = 0
        while taken < added and i < len(queue) and _close(queue[i]) < finished:
            if run.kind == "delta":
                lag = (finished - _close(queue[i])).total_seconds() / 3600
                rows.append([queue[i], finished, lag, run.trigger])
            i, taken = i + 1, taken + 1
    return pd.DataFrame(rows, columns=columns)


def lag_figure(lags: pd.DataFrame, lang: Lang) -> go.Figure:
    if not len(lags):
        return _empty(t(lang, "chart_lag"), t(lang, "no_lag"))
    hover = [
        f"<b>{row.date.isoformat()}</b><br>{row.visible_at:%Y-%m-%d %H:%M} (Asia/Shanghai)<br>"
        f"{row.lag_hours:.1f} {t(lang, 'lag_hours')} · {word(lang, row.trigger)}"
        for row in lags.itertuples(index=False)
    ]
    fig = go.Figure(
        go.Bar(
            x=[d.isoformat() for d in lags["date"]],
            y=lags["lag_hours"],
            marker_color="#4c78a8",
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            textposition="none",
        )
    )
    median = float(lags["lag_hours"].median())
    fig.add_hline(
        y=median,
        line=dict(dash="dot", color="#888", width=1),
        annotation_text=f"median {median:.1f} h" if lang == "en" else f"中位数 {median:.1f} 小时",
        annotation_position="top left",
    )
    fig.update_layout(**LAYOUT, title=t(lang, "chart_lag"), height=300, bargap=0.2)
    fig.update_layout(title=dict(x=0, y=0.98, yanchor="top"))
    fig.update_xaxes(type="category", nticks=12)
    fig.update_yaxes(title_text=t(lang, "lag_hours"), rangemode="tozero")
    return fig


# -- helpers -------------------------------------------------------------------------------------
def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=note, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=14, color="#666")
    )
    fig.update_layout(**LAYOUT, title=title, height=200)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _close(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, CLOSE, tzinfo=SHANGHAI)


def _local_time(text) -> dt.datetime | None:
    """'2024-04-12 21:03:07' (Shanghai, as the Runs table shows it) → an aware datetime."""
    if text is None or (isinstance(text, float) and pd.isna(text)) or text == "":
        return None
    moment = pd.Timestamp(text).to_pydatetime()
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment.astimezone(SHANGHAI)


def _calls(value) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict):
        return int(sum(int(v) for v in value.values()))
    return int(value)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
