"""The Space's indexes: Explore charts an index like a stock and overlays one on a stock's chart as %
change; Status shows their coverage in both languages. On a folder published by the engine."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from space_app import index_view
from space_app.space import Space
from space_app.status_markdown import status_markdown
from sync.core.config import Settings
from sync.engine.full import run_full
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from tests.support.serving import at, served

START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 29)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    market = SyntheticMarket(MarketSpec(START, END, n_stocks=200, seed=3))
    path = tmp_path_factory.mktemp("space-indexes") / "dataset"
    with served(market, at(END)) as (_, source):
        run_full(open_repo(str(path)), source, Settings(markets=("主板",)), at(END))
    return path


@pytest.fixture(scope="module")
def space(folder):
    return Space(Settings(dataset_repo=str(folder)), clock=lambda: at(END))


def _published(folder, path: str) -> pd.DataFrame:
    repo = open_repo(str(folder))
    return from_parquet(repo.read(path, repo.head())).to_pandas()


def test_explore_lists_the_indexes_beside_the_stocks(space):
    choices = space.stock_choices()
    indexes = [(label, code) for label, code in choices if label.endswith("(index)")]
    assert choices[-len(indexes) :] == indexes  # the stocks first, then the indexes
    assert ("000300.SH 沪深300 (index)", "000300.SH") in indexes
    assert len(choices) > len(indexes)
    overlays, default = space.overlay_choices()
    assert default == "000300.SH" and ("—", "") in overlays


def test_an_index_is_charted_like_a_stock(space, folder):
    prices = _published(folder, "index/prices.parquet")
    want = prices[prices["code"] == "000905.SH"].sort_values("date")
    figure, table, note = space.chart("000905.SH", "", "", "qfq")
    candles = figure.data[0]
    assert list(candles.close) == want["close"].tolist()
    assert note == f"{len(want)} trading days" and len(table) == len(want)


def test_an_index_overlays_a_stocks_chart_as_percent_change_from_the_first_day_shown(space, folder):
    rows = _published(folder, "data/2024/2024-02.parquet")
    code = rows[~rows["is_paused"]]["code"].iloc[0]
    figure, _, _ = space.chart(code, "2024-02-01", "2024-02-29", "hfq", "000300.SH")
    lines = [trace for trace in figure.data if trace.type == "scatter"]
    assert len(lines) == 2 and {trace.yaxis for trace in lines} == {"y3"}
    stock = rows[(rows["code"] == code) & ~rows["is_paused"]].sort_values("date")
    hfq = (stock["close"] * stock["adj_factor"]).round(4).to_numpy()
    assert np.allclose(lines[0].y, (hfq / hfq[0] - 1) * 100, atol=1e-3)
    prices = _published(folder, "index/prices.parquet")
    index = prices[prices["code"] == "000300.SH"].set_index("date")["close"].reindex(stock["date"]).to_numpy()
    assert np.allclose(lines[1].y, (index / index[0] - 1) * 100, atol=1e-9)


def test_no_overlay_when_none_is_chosen(space, folder):
    rows = _published(folder, "data/2024/2024-02.parquet")
    figure, _, _ = space.chart(rows["code"].iloc[0], "2024-02-01", "2024-02-29", "none", "")
    assert not [trace for trace in figure.data if trace.type == "scatter"]


def test_status_shows_the_indexes_coverage_in_both_languages(space, folder):
    facts = space.view.get()
    cover = index_view.coverage(facts.index_prices, facts.days, None)
    assert cover is not None and "000300.SH" in cover["codes"]
    st = {"published": True, "watermark": END.isoformat(), "behind_trading_days": 0, "indexes": cover}
    english, chinese = status_markdown(st, "en"), status_markdown(st, "zh")
    assert "**Indexes**: " in english and "000300.SH" in english and "missing an index bar" in english
    assert "**指数**：" in chinese and "缺少指数日线" in chinese


def test_before_an_overlay_is_chosen_the_default_index_is_overlaid(space, folder):
    rows = _published(folder, "data/2024/2024-02.parquet")
    figure, _, _ = space.chart(rows["code"].iloc[0], "2024-02-01", "2024-02-29", "qfq")
    assert [trace.name for trace in figure.data if trace.type == "scatter"][1] == "000300.SH %"
