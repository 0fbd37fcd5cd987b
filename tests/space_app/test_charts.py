"""The Status tab's pictures: the data each one is drawn from, cell by cell, and the figure's data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from space_app import charts
from space_app.charts import day_cells, publication_lags, run_points
from space_app.status_markdown import progress_html

D = dt.date
UTC = dt.UTC
# Trading days around the 2024 New Year and the end of 2023 (Jan 1 is a holiday).
OPEN = [D(2023, 12, 27), D(2023, 12, 28), D(2023, 12, 29), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5)]


def days_table(statuses: dict[dt.date, str]) -> pd.DataFrame:
    rows = []
    for day, status in statuses.items():
        short = status == "partial"
        rows.append(
            {
                "date": day,
                "status": status,
                "rows": 100,
                "paused": 2,
                "coverage_daily": 1.0,
                "coverage_daily_basic": 0.5 if short else 1.0,
                "coverage_stk_limit": 1.0,
                "coverage_adj_factor": None,
            }
        )
    return pd.DataFrame(rows)


def test_every_trading_day_gets_its_state_and_a_hole_before_the_watermark_is_missing():
    published = days_table(
        {D(2023, 12, 27): "complete", D(2023, 12, 28): "partial", D(2024, 1, 2): "complete", D(2024, 1, 3): "complete"}
    )
    cells = day_cells(published, OPEN, watermark=D(2023, 12, 28), expected=D(2024, 1, 4))
    assert dict(zip(cells["date"], cells["state"])) == {
        D(2023, 12, 27): "complete",
        D(2023, 12, 28): "partial",
        D(2023, 12, 29): "missing",  # a trading day inside the published range without a row
        D(2024, 1, 2): "complete",
        D(2024, 1, 3): "complete",  # published beyond the watermark (over the hole)
        D(2024, 1, 4): "held",  # could be published, is not yet
    }
    partial = cells[cells["date"] == D(2023, 12, 28)].iloc[0]
    assert partial["coverage_daily_basic"] == 0.5 and partial["rows"] == 100 and partial["coverage_adj_factor"] is None


def test_days_before_the_first_published_day_and_after_the_expected_day_are_not_cells():
    published = days_table({D(2023, 12, 28): "complete", D(2023, 12, 29): "complete"})
    cells = day_cells(published, OPEN, watermark=D(2023, 12, 29), expected=D(2023, 12, 29))
    assert list(cells["date"]) == [D(2023, 12, 28), D(2023, 12, 29)]
    assert not len(day_cells(None, OPEN, D(2023, 12, 29), None))  # a dataset version without meta/days


def test_heatmap_puts_each_day_in_its_year_row_and_day_of_year_column_with_its_hover():
    published = days_table({D(2023, 12, 29): "partial", D(2024, 1, 2): "complete"})
    cells = day_cells(published, OPEN, watermark=D(2024, 1, 2), expected=D(2024, 1, 3))
    heat = charts.days_figure(cells, "en").data[0]
    assert list(heat.y) == ["2024", "2023"]  # newest year first
    assert heat.z[1][363 - 1] == charts.STATE_CODE["partial"]  # 2023-12-29 is day 363
    assert heat.z[0][2 - 1] == charts.STATE_CODE["complete"] and heat.z[0][3 - 1] == charts.STATE_CODE["held"]
    assert heat.z[0][1 - 1] is None  # Jan 1: no trading day, no cell
    assert "2023-12-29" in heat.text[1][362] and "daily_basic: 50.0%" in heat.text[1][362]
    legend = [trace.name for trace in charts.days_figure(cells, "en").data[1:]]
    assert legend == ["complete 1", "partial 1", "held back 1", "missing 0"]
    assert [trace.name for trace in charts.days_figure(cells, "zh").data[1:]][1] == "不完整 1"


def test_coverage_lines_are_percent_per_interface_with_gaps_before_a_history():
    published = days_table({D(2024, 1, 2): "complete", D(2024, 1, 3): "partial"})
    figure = charts.coverage_figure(published, 0.98, "en")
    lines = {trace.name: list(trace.y) for trace in figure.data}
    assert lines["daily_basic"] == [100.0, 50.0]
    assert all(pd.isna(v) for v in lines["adj_factor"])
    assert figure.layout.shapes[0].y0 == 98.0  # the threshold


def runs_table(rows: list[list]) -> pd.DataFrame:
    columns = [
        "started (Shanghai)",
        "finished (Shanghai)",
        "kind",
        "trigger",
        "status",
        "days added",
        "rows",
        "API calls",
        "message",
    ]
    return pd.DataFrame(rows, columns=columns)


def test_run_points_give_duration_in_minutes_and_mark_failures():
    table = runs_table(
        [
            [
                "2024-04-12 21:00:00",
                "2024-04-12 21:03:30",
                "delta",
                "schedule",
                "success",
                1,
                5000,
                10,
                "complete through 2024-04-12",
            ],
            [
                "2024-04-11 21:00:00",
                "2024-04-11 21:00:20",
                "delta",
                "schedule",
                "failed",
                None,
                None,
                3,
                "Tushare said 40203",
            ],
            ["2024-04-10 09:00:00", None, "full", "button", "running", None, None, None, ""],
        ]
    )
    points = run_points(table)
    assert list(points["status"]) == ["running", "failed", "success"]  # oldest first
    assert points["duration_min"].iloc[2] == 3.5 and pd.isna(points["duration_min"].iloc[0])
    assert list(points["failed"]) == [False, True, False]
    figure = charts.runs_figure(points, "en")
    crosses = [trace for trace in figure.data if trace.name == "failed 1"]
    assert crosses and list(crosses[0].y) == [pytest_approx(20 / 60)]


def runs_at(*starts: str):
    return runs_table([[start, start, "delta", "schedule", "success", 1, 10, 5, "ok"] for start in starts])


@pytest.mark.parametrize(
    "starts",
    [
        ("2024-04-12 21:00:00", "2024-04-12 21:30:00", "2024-04-12 23:30:00"),  # one evening's runs and retries
        ("2024-04-12 21:00:00", "2024-04-13 09:00:00", "2024-04-13 21:00:00"),  # two days
        ("2024-04-12 21:00:00", "2024-04-19 21:00:00"),
        ("2024-01-02 21:00:00", "2024-12-31 21:00:00"),
        ("2005-01-04 21:00:00", "2024-12-31 21:00:00"),
        ("2024-04-12 21:00:00",),
    ],
)
def test_the_runs_chart_never_repeats_a_tick_label(starts):
    figure = charts.runs_figure(run_points(runs_at(*starts)), "zh")
    labels, ticks = list(figure.layout.xaxis.ticktext), list(figure.layout.xaxis.tickvals)
    assert labels and len(labels) == len(ticks) <= 8
    assert len(set(labels)) == len(labels), labels
    first, last = pd.Timestamp(starts[0], tz="Asia/Shanghai"), pd.Timestamp(starts[-1], tz="Asia/Shanghai")
    if last - first < pd.Timedelta(days=2):
        assert all(":" in label for label in labels), "runs of a day or two: the ticks tell the hours apart"
    assert pd.Timestamp(ticks[0]) <= first.tz_localize(None), "the first run is within the ticks (Shanghai wall time)"


def pytest_approx(value):
    import pytest

    return pytest.approx(value)


def test_publication_lag_counts_from_the_close_to_the_run_that_added_the_day():
    days = days_table({d: "complete" for d in OPEN[:6]})
    runs = pd.DataFrame(
        [
            {
                "kind": "full",
                "trigger": "button",
                "finished_at": dt.datetime(2023, 12, 28, 12, 0, tzinfo=UTC),
                "days_added": 2,
            },
            # 21:05 Shanghai on the 29th: adds the 29th
            {
                "kind": "delta",
                "trigger": "schedule",
                "finished_at": dt.datetime(2023, 12, 29, 13, 5, tzinfo=UTC),
                "days_added": 1,
            },
            {
                "kind": "delta",
                "trigger": "schedule",
                "finished_at": dt.datetime(2024, 1, 2, 13, 0, tzinfo=UTC),
                "days_added": 0,
            },
            # the next morning, two days at once (Jan 2 was held back the evening before)
            {
                "kind": "delta",
                "trigger": "catch-up",
                "finished_at": dt.datetime(2024, 1, 4, 1, 0, tzinfo=UTC),
                "days_added": 2,
            },
        ]
    )
    lags = publication_lags(days, runs)
    assert list(lags["date"]) == [D(2023, 12, 29), D(2024, 1, 2), D(2024, 1, 3)]  # the full sync's days are left out
    assert [round(h, 2) for h in lags["lag_hours"]] == [6.08, 42.0, 18.0]
    assert list(lags["trigger"]) == ["schedule", "catch-up", "catch-up"]
    bars = charts.lag_figure(lags, "en").data[0]
    assert list(bars.x) == ["2023-12-29", "2024-01-02", "2024-01-03"]


def test_a_run_never_takes_a_day_whose_close_came_after_it():
    days = days_table({D(2024, 1, 2): "complete", D(2024, 1, 3): "complete"})
    runs = pd.DataFrame(
        [
            {
                "kind": "delta",
                "trigger": "button",
                "finished_at": dt.datetime(2024, 1, 2, 12, 0, tzinfo=UTC),
                "days_added": 2,
            }
        ]
    )  # 20:00 on Jan 2: only Jan 2 had closed
    assert list(publication_lags(days, runs)["date"]) == [D(2024, 1, 2)]


def test_empty_inputs_draw_a_note_not_an_error():
    for figure in (
        charts.days_figure(day_cells(None, [], None, None), "zh"),
        charts.coverage_figure(None, 0.98, "en"),
        charts.runs_figure(run_points(runs_table([])), "en"),
        charts.lag_figure(publication_lags(None, None), "zh"),
    ):
        assert figure.layout.annotations and not figure.data


def test_progress_bar_shows_phase_share_calls_and_eta_in_both_languages():
    run = {
        "kind": "full",
        "trigger": "button",
        "started_at": "2024-04-15T13:00:00+00:00",
        "phase": "fetch",
        "done": 30,
        "total": 120,
        "unit": "chunk",
        "calls": 151,
        "eta_seconds": 600,
    }
    english, chinese = progress_html(run, "en"), progress_html(run, "zh")
    assert 'style="width:25.0%"' in english and "30/120 chunk · 151 API calls" in english
    assert "about 10 min left in this phase" in english and "full sync (button) · since 2024-04-15 21:00" in english
    assert (
        "下载" in chinese and "151 次 API 调用" in chinese and "本阶段约剩 10 分钟" in chinese and "全量同步" in chinese
    )
    unknown = progress_html({**run, "phase": "publish", "done": 0, "total": 0, "eta_seconds": None}, "en")
    assert "indeterminate" in unknown and "151 API calls" in unknown
    assert 'data-state="idle"' in progress_html(None, "en")
