"""Full and delta sync end to end: synthetic market → our Tushare server → client → engine →
a local folder and the local Hub, checked against rows computed independently from the market."""

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from dataset_script.schema import LAST_UPDATE_PATH, shard_month
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.client import TushareClient
from tests.support.expected import assert_same_rows, expected_rows
from tests.support.serving import TOKEN, at

# Crosses a month end and the 2024 Spring Festival closure (Feb 9-16).
START, END = dt.date(2024, 1, 2), dt.date(2024, 3, 8)
MAIN = ("主板",)


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=60, seed=11))


@pytest.fixture(scope="module")
def days(market):
    return market.trade_dates()


@pytest.fixture
def server(market):
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as running:
        yield running


@pytest.fixture
def source(server, market):
    client = TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}, sleep=lambda s: None)
    with client:
        yield Source(client, "test market", market.spec.start)


@pytest.fixture(params=["folder", "hub"])
def repo(request, tmp_path):
    if request.param == "folder":
        return open_repo(str(tmp_path / "dataset"))
    request.getfixturevalue("hub_server")
    return open_repo("hf://datasets/ellendan/a-share-prices")


SETTINGS = Settings(markets=MAIN)


def published(repo) -> pd.DataFrame:
    head = repo.head()
    shards = sorted(p for p in repo.list_files(head) if shard_month(p))
    rows = pa.concat_tables([from_parquet(repo.read(p, head)) for p in shards]).to_pandas()
    return rows.assign(date=pd.to_datetime(rows["date"]))


def test_full_then_deltas_give_exactly_the_contract_rows(repo, source, market, days):
    first = run_full(repo, source, SETTINGS, at(END), end=days[20])
    assert first.published and first.watermark == days[20]
    for end in (days[27], days[-1]):
        result = run_delta(repo, source, SETTINGS, at(END), end=end)
        assert result.published and result.watermark == end
    assert_same_rows(published(repo), expected_rows(market, days, MAIN))
    head = repo.head()
    assert repo.read(LAST_UPDATE_PATH, head) == days[-1].strftime("%Y%m%d").encode()
    assert verify_repo(repo) == []


def test_full_builds_each_month_while_later_chunks_are_fetched_and_publishes_it_from_disk(
    tmp_path, source, days, monkeypatch
):
    """The first month is read from the spill before the last chunk is fetched, and the commit
    carries every shard as a file path (nothing holds all months' bytes until the commit)."""
    import threading
    from pathlib import Path

    from sync.engine import full
    from sync.fetch import plan as fetch_plan
    from sync.fetch.checkpoints import Checkpoints
    from sync.publish import apply

    month_read = threading.Event()
    order = []
    real_month, real_spill, real_plan = Checkpoints.month, Checkpoints._spill, apply.plan_commit

    def month(self, month_days):
        order.append(("build", month_days[0].month))
        month_read.set()
        return real_month(self, month_days)

    def spill(self, chunk, frames):
        if chunk.days[0].month == 3:  # the last chunk of a per-day plan: wait for the first month's build
            assert month_read.wait(60), "no month was built while chunks were still being fetched"
        order.append(("fetch", chunk.days[0].month))
        return real_spill(self, chunk, frames)

    commits = []

    def plan_commit(*args, **kwargs):
        commit, state = real_plan(*args, **kwargs)
        commits.append(commit)
        return commit, state

    monkeypatch.setattr(
        full,
        "plan_full",
        lambda source, days, market, stocks: (  # a chunk per month
            fetch_plan.plan_fetch(days, market, stocks, force="per-day")
        ),
    )
    monkeypatch.setattr(Checkpoints, "month", month)
    monkeypatch.setattr(Checkpoints, "_spill", spill)
    monkeypatch.setattr(apply, "plan_commit", plan_commit)
    repo = open_repo(str(tmp_path / "dataset"))
    result = run_full(repo, source, SETTINGS, at(END))
    assert result.published and result.days == list(days)
    assert order.index(("build", 1)) < order.index(("fetch", 3))
    assert [m for kind, m in order if kind == "build"] == [1, 2, 3], "months are built once each, in order"
    shards = {p: c for p, c in commits[-1].adds.items() if shard_month(p)}
    assert len(shards) == 3 and all(isinstance(c, Path) for c in shards.values())
    assert verify_repo(repo) == []


def test_delisted_stock_keeps_its_history_and_leaves_on_its_delist_date(repo):
    start, end = dt.date(2021, 5, 6), dt.date(2021, 8, 31)
    market = SyntheticMarket(MarketSpec(start=start, end=end, n_stocks=200, seed=11))
    basic = market.table("stock_basic").set_index("ts_code")
    in_range = basic[(basic["list_status"] == "D") & (basic["market"] == "主板") & (basic["delist_date"] > "20210506")]
    assert len(in_range), "fixture market changed: it needs a main-board delisting inside the range"
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(end)) as server:
        with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}) as client:
            run_full(repo, Source(client, "test", start), SETTINGS, at(end))
    rows = published(repo)
    for code, stock in in_range.iterrows():
        history = rows[rows["code"] == code]
        assert history["date"].min() == pd.Timestamp(start)
        assert history["date"].max() < pd.Timestamp(stock["delist_date"]) <= pd.Timestamp(end)
    assert_same_rows(rows, expected_rows(market, market.trade_dates(), MAIN))
    assert rows["is_paused"].any(), "suspended days appear as paused rows"


def test_rerun_changes_nothing(repo, source, days):
    run_full(repo, source, SETTINGS, at(END))
    head = repo.head()
    again = run_delta(repo, source, SETTINGS, at(END))
    assert not again.published and again.commit is None
    assert repo.head() == head
    rebuilt = run_full(repo, source, SETTINGS, at(END))
    assert not rebuilt.published and repo.head() == head


def test_day_without_daily_basic_is_not_published_until_a_later_run(repo, source, server, market, days):
    run_full(repo, source, SETTINGS, at(END), end=days[-3])
    day = days[-2]
    server.set_clock(lambda: at(day, 16, 30))  # daily is out (16:00), daily_basic is not (17:00)
    stopped = run_delta(repo, source, SETTINGS, at(day, 16, 30))
    assert stopped.watermark == days[-3]
    assert stopped.stopped[0] == day and "daily_basic" in stopped.stopped[1]
    assert f"complete through {days[-3].isoformat()}; {day.isoformat()} not yet published" in stopped.headline()
    assert published(repo)["date"].max() == pd.Timestamp(days[-3])

    server.set_clock(lambda: at(day, 17, 30))
    completed = run_delta(repo, source, SETTINGS, at(day, 17, 30))
    assert completed.published and completed.watermark == day
    assert_same_rows(published(repo), expected_rows(market, days[:-1], MAIN))


def test_a_retry_before_publication_costs_one_probe_call(repo, source, server, days):
    run_full(repo, source, SETTINGS, at(END), end=days[-3])
    head, day = repo.head(), days[-2]
    server.set_clock(lambda: at(day, 16, 30))
    stopped = run_delta(repo, source, SETTINGS, at(day, 16, 30))
    assert stopped.stopped == (day, "daily_basic has no rows for it yet") and stopped.watermark == days[-3]
    assert stopped.api_calls == {"trade_cal": 1, "daily_basic": 1}
    assert not stopped.published and repo.head() == head
    server.set_clock(lambda: at(day, 20, 0))
    done = run_delta(repo, source, Settings(markets=SETTINGS.markets, restatement_days=0), at(day, 20, 0))
    assert done.published and done.watermark == day
    assert done.api_calls["daily_basic"] == 1 == done.api_calls["daily"], "the probe's rows are used, not fetched again"


def test_delta_with_an_end_before_the_watermark_only_refreshes_that_window(repo, source, market, days):
    run_full(repo, source, SETTINGS, at(END))
    head = repo.head()
    result = run_delta(repo, source, SETTINGS, at(END), end=days[10])
    assert result.watermark == days[-1] and result.days == days[8:11]
    assert not result.published and repo.head() == head


def test_today_is_not_fetched_before_the_close(repo, source, server, days):
    run_full(repo, source, SETTINGS, at(END), end=days[-2])
    server.set_clock(lambda: at(days[-1], 15, 0))
    early = run_delta(repo, source, SETTINGS, at(days[-1], 15, 0))
    assert early.watermark == days[-2] and not early.published and early.stopped is None


def test_restated_value_inside_the_window_replaces_the_old_one(repo, source, server, market, days):
    run_full(repo, source, SETTINGS, at(END))
    day = days[-2]
    daily = market.table("daily")
    main = set(market.table("stock_basic").query("market == '主板'")["ts_code"])
    code = sorted(set(daily.loc[daily["trade_date"] == day.strftime("%Y%m%d"), "ts_code"]) & main)[0]
    server.restate("adj_factor", code, day.strftime("%Y%m%d"), adj_factor=123.456)
    result = run_delta(repo, source, SETTINGS, at(END))
    assert result.published and result.watermark == days[-1]
    rows = published(repo)
    hit = rows[(rows["code"] == code) & (rows["date"] == pd.Timestamp(day))]
    assert hit["adj_factor"].tolist() == [123.456]
    overrides = {("adj_factor", code, day.strftime("%Y%m%d")): {"adj_factor": 123.456}}
    assert_same_rows(rows, expected_rows(market, days, MAIN, overrides))


def test_all_markets_selection_includes_every_board(repo, source, market, days):
    settings = Settings(markets=("主板", "创业板", "科创板", "北交所", "CDR"))
    run_full(repo, source, settings, at(END), end=days[10])
    rows = published(repo)
    assert set(rows["market"]) >= {"主板", "创业板", "科创板"}
    assert_same_rows(rows, expected_rows(market, days[:11], settings.markets))
