"""The real Tushare history, as our server models it: late interface starts, old gaps, permanent
holes, legacy labels, reordered listings, dropped fields. The sync publishes what it can, marks
what is partial, holds back what is fresh, and never loses a stock, a field or a published day."""

import contextlib
import dataclasses
import datetime as dt
import re
import shutil

import pandas as pd
import pytest

from dataset_script.schema import DAYS_PATH, STOCKS_PATH
from sync.core.config import Settings
from sync.core.errors import SyncError
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.errors import TushareMissingFieldError
from tests.support.serving import at, rows_of, served, table_of

MAIN = Settings(markets=("主板",))
HOLE_DAY = dt.date(2007, 6, 5)
STK_LIMIT_START = dt.date(2007, 1, 4)


def manifest_of(repo) -> pd.DataFrame:
    return table_of(repo, DAYS_PATH)


@pytest.fixture
def serve():
    """serve(market, now, **server knobs) → a Source talking to our server over HTTP."""
    with contextlib.ExitStack() as stack:
        yield lambda market, now, **knobs: stack.enter_context(served(market, now, **knobs))[1]


@pytest.fixture(scope="module")
def old_market():
    spec = MarketSpec(
        start=dt.date(2005, 1, 4), end=dt.date(2007, 12, 28), n_stocks=60, seed=3, holes={("adj_factor", HOLE_DAY): 0.5}
    )
    return SyntheticMarket(spec)


@pytest.mark.slow  # a full sync over three years (2005-2007) of 60 stocks with the old gaps
def test_full_sync_from_2005_meets_every_reality_and_marks_partial_days_only_at_holes(tmp_path, serve, old_market):
    source = serve(old_market, at(old_market.spec.end))
    repo = open_repo(str(tmp_path / "dataset"))
    result = run_full(repo, source, MAIN, at(old_market.spec.end), start=dt.date(2005, 1, 1))
    days = old_market.trade_dates()
    assert result.published and result.watermark == days[-1]
    assert verify_repo(repo) == []
    manifest = manifest_of(repo)
    assert manifest["date"].tolist() == days, "every trading day is published"
    partial = manifest[manifest["status"] == "partial"]
    # Partial exactly where the source has holes: daily_basic's 2005-2006 gaps and the adj_factor hole.
    expected_partial = [d for d in days if d.year <= 2006] + [HOLE_DAY]
    assert partial["date"].tolist() == expected_partial
    assert manifest.loc[manifest["date"] == HOLE_DAY, "coverage_adj_factor"].item() == pytest.approx(0.5, abs=0.05)
    before_limits = manifest[manifest["date"] < STK_LIMIT_START]
    assert before_limits["coverage_stk_limit"].isna().all(), "stk_limit is not available before 2007-01-04"
    assert manifest.loc[manifest["date"] >= STK_LIMIT_START, "coverage_stk_limit"].eq(1.0).all()
    rows = rows_of(repo)
    assert rows.loc[rows["date"] < STK_LIMIT_START, "high_limit"].isna().all()
    assert rows.loc[(rows["date"] >= STK_LIMIT_START) & ~rows["is_paused"], "high_limit"].notna().all()


def test_legacy_and_empty_market_labels_keep_their_stocks_in_the_main_board(tmp_path, serve):
    market = SyntheticMarket(MarketSpec(start=dt.date(2023, 1, 3), end=dt.date(2023, 1, 31), n_stocks=1500, seed=3))
    source = serve(market, at(market.spec.end))
    wire = market.table("stock_basic")
    legacy = wire[(wire["market"].isna() | wire["market"].isin(["", "中小板"]))]
    main_codes = legacy[legacy["ts_code"].str.match(r"^(60[0135]|00[0-3])")]["ts_code"]
    assert len(main_codes), "the market has legacy-labelled main-board stocks to test with"
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, MAIN, at(market.spec.end))
    stocks = from_parquet(repo.read(STOCKS_PATH, repo.head())).to_pandas()
    assert set(main_codes) <= set(stocks["code"]), "no legacy label drops a stock"
    assert set(stocks["market"]) == {"主板"}
    listed = set(rows_of(repo)["code"])
    traded = set(market.table("daily")["ts_code"])
    assert set(main_codes) & traded <= listed


@pytest.fixture(scope="module")
def wide_market():
    """Enough main-board stocks over two years for a per-stock plan of several chunks."""
    return SyntheticMarket(MarketSpec(start=dt.date(2022, 1, 4), end=dt.date(2023, 12, 29), n_stocks=320, seed=8))


@pytest.mark.slow  # three full syncs of 320 stocks over two years (clean, interrupted, resumed)
def test_interrupted_per_stock_full_sync_resumed_after_a_reordered_listing_equals_a_clean_run(
    tmp_path, serve, wide_market
):
    end = wide_market.spec.end
    source = serve(wide_market, at(end))
    clean = open_repo(str(tmp_path / "clean"))
    assert run_full(clean, source, MAIN, at(end)).published
    row_apis = ("daily", "stk_limit", "daily_basic", "adj_factor", "suspend_d")
    clean_calls = sum(source.client.calls[a] for a in row_apis)

    class Interrupted(Exception):
        pass

    def stop_after_two_chunks(progress):
        if progress.phase == "fetch" and progress.done == 2:
            raise Interrupted

    resumed = open_repo(str(tmp_path / "resumed"))
    with pytest.raises(Interrupted):
        run_full(resumed, source, MAIN, at(end), on_progress=stop_after_two_chunks)
    assert resumed.head() is None, "nothing is visible before the rebuild completes"
    before = sum(source.client.calls[a] for a in row_apis)
    result = run_full(resumed, source, MAIN, at(end))  # stock_basic now lists the stocks in another order
    assert result.published
    assert sum(source.client.calls[a] for a in row_apis) - before < clean_calls, (
        "the staged chunks were not fetched again"
    )
    pd.testing.assert_frame_equal(rows_of(resumed), rows_of(clean))
    assert set(rows_of(resumed)["code"]) == set(rows_of(clean)["code"]), "no stock went missing"


@pytest.fixture(scope="module")
def recent_market():
    return SyntheticMarket(MarketSpec(start=dt.date(2024, 1, 2), end=dt.date(2024, 3, 29), n_stocks=50, seed=21))


def test_a_dropped_field_fails_the_run_and_leaves_the_repo_unchanged(tmp_path, serve, recent_market):
    days = recent_market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, serve(recent_market, at(days[-1])), MAIN, at(days[-1]), end=days[30])
    head = repo.head()
    broken = serve(recent_market, at(days[-1]), drop_fields={"daily": {"vol"}})
    with pytest.raises(TushareMissingFieldError, match="vol"):
        run_delta(repo, broken, MAIN, at(days[-1]))
    with pytest.raises(SyncError, match="vol"):
        run_full(repo, broken, MAIN, at(days[-1]))
    assert repo.head() == head


def test_a_settled_partial_day_is_published_and_a_fresh_one_is_held_back(tmp_path, serve):
    settled, fresh = dt.date(2024, 2, 27), dt.date(2024, 3, 27)
    spec = MarketSpec(
        start=dt.date(2024, 1, 2),
        end=dt.date(2024, 3, 29),
        n_stocks=50,
        seed=21,
        holes={("daily_basic", settled): 0.6, ("daily_basic", fresh): 0.6},
    )
    market = SyntheticMarket(spec)
    days = market.trade_dates()
    now = at(days[-1])  # 2024-03-29: 2024-03-27 is one of the 5 newest trading days
    source = serve(market, now)
    repo = open_repo(str(tmp_path / "dataset"))
    result = run_full(repo, source, MAIN, now)
    assert result.watermark == days[days.index(fresh) - 1]
    assert result.stopped and result.stopped[0] == fresh
    assert re.match(r"daily_basic covers (5[5-9]|6[0-5])% of the codes with a daily bar, below 98%", result.stopped[1])
    manifest = manifest_of(repo).set_index("date")
    assert manifest.loc[settled, "status"] == "partial"
    assert manifest.loc[settled, "coverage_daily_basic"] == pytest.approx(0.6, abs=0.06)
    assert (manifest.drop(index=settled)["status"] == "complete").all()
    rows = rows_of(repo)
    on_settled = rows[(rows["date"] == settled) & ~rows["is_paused"]]
    assert on_settled["pe_ttm"].isna().mean() >= 0.3, "missing daily_basic values stay null"
    # A week later the fresh day has settled: the delta publishes it as partial and moves on.
    later = serve(market, at(dt.date(2024, 4, 8)))
    after = run_delta(repo, later, MAIN, at(dt.date(2024, 4, 8)), end=days[-1])
    assert after.watermark == days[-1] and manifest_of(repo).set_index("date").loc[fresh, "status"] == "partial"
    assert verify_repo(repo) == []


def test_a_settled_day_without_any_daily_rows_fails_naming_the_day(tmp_path, serve):
    empty = dt.date(2024, 2, 1)
    market = SyntheticMarket(
        MarketSpec(
            start=dt.date(2024, 1, 2), end=dt.date(2024, 3, 29), n_stocks=40, seed=4, holes={("daily", empty): 0.0}
        )
    )
    source = serve(market, at(market.spec.end))
    repo = open_repo(str(tmp_path / "dataset"))
    with pytest.raises(SyncError, match="2024-02-01"):
        run_full(repo, source, MAIN, at(market.spec.end))
    assert repo.head() is None


def test_a_half_loaded_daily_never_replaces_published_rows(tmp_path, serve, recent_market):
    days = recent_market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(
        repo, serve(recent_market, at(days[-1])), dataclasses.replace(MAIN, indexes=()), at(days[-1]), end=days[40]
    )
    before = rows_of(repo)
    half = SyntheticMarket(
        MarketSpec(
            start=recent_market.spec.start,
            end=recent_market.spec.end,
            n_stocks=50,
            seed=21,
            holes={("daily", days[40]): 0.5},
        )
    )
    # Without indexes: the other market's index snapshots would (rightly) be re-published by the delta.
    stocks_only = dataclasses.replace(MAIN, indexes=())
    result = run_delta(repo, serve(half, at(days[-1])), stocks_only, at(days[-1]), end=days[40])
    assert not result.published, "a re-fetch that is not complete keeps the published rows"
    pd.testing.assert_frame_equal(rows_of(repo), before)


def test_a_copied_dataset_folder_syncs(tmp_path, serve, recent_market):
    days = recent_market.trade_dates()
    source = serve(recent_market, at(days[-1]))
    original = open_repo(str(tmp_path / "dataset"))
    run_full(original, source, MAIN, at(days[-1]), end=days[30])
    shutil.copytree(tmp_path / "dataset", tmp_path / "copy")  # follows the symlink: a plain folder, as `cp -rL`
    copy = open_repo(str(tmp_path / "copy"))
    result = run_delta(copy, source, MAIN, at(days[-1]), end=days[35])
    assert result.published and result.watermark == days[35]
    assert verify_repo(copy) == []
    assert (tmp_path / "copy").is_symlink(), "adopted into the versioned layout"
