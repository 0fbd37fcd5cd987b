"""`verify` finds what is wrong with a published repo from its files alone."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from sync.core.config import Settings
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.publish.verify import status_of, verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet, to_parquet
from sync.targets import open_repo
from sync.targets.commit import Commit
from sync.tushare.client import TushareClient
from tests.support.serving import TOKEN, at

END = dt.date(2024, 2, 29)
JAN, FEB = "data/2024/2024-01.parquet", "data/2024/2024-02.parquet"


@pytest.fixture
def repo(tmp_path):
    market = SyntheticMarket(MarketSpec(start=dt.date(2024, 1, 2), end=END, n_stocks=30, seed=9))
    repo = open_repo(str(tmp_path / "dataset"))
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}) as client:
            run_full(repo, Source(client, "test", dt.date(2024, 1, 2)), Settings(), at(END))
    return repo


def tamper(repo, adds=None, deletes=()):
    repo.commit(Commit(adds=adds or {}, deletes=list(deletes), message="tamper"), parent=repo.head())


def test_a_fresh_publish_verifies_clean_and_reports_its_status(repo):
    assert verify_repo(repo) == []
    facts = status_of(repo, at(END))
    assert facts["watermark"] == "2024-02-29" and facts["last_update_date"] == "20240229"
    assert facts["shards"] == 2 and [s["path"] for s in facts["shard_files"]] == [JAN, FEB]
    assert facts["trading_days_behind"] == 0


def test_a_missing_shard_is_reported(repo):
    tamper(repo, deletes=[JAN])
    problems = verify_repo(repo)
    assert any(JAN in p and "missing" in p for p in problems)
    assert any("trading days missing" in p for p in problems)


def test_duplicate_rows_and_checksum_drift_are_reported(repo):
    table = from_parquet(repo.read(FEB, repo.head()))
    tamper(
        repo,
        adds={
            FEB: to_parquet(
                pa.concat_tables([table, table.slice(0, 1)]).sort_by([("date", "ascending"), ("code", "ascending")])
            )
        },
    )
    problems = verify_repo(repo)
    assert any("duplicate (code, date)" in p for p in problems)
    assert any("differs from .sync/state.json" in p for p in problems)


def test_a_missing_day_and_a_stale_marker_are_reported(repo):
    table = from_parquet(repo.read(FEB, repo.head()))
    gone = pc.not_equal(table.column("date"), pa.scalar(dt.date(2024, 2, 20), pa.date32()))
    tamper(repo, adds={FEB: to_parquet(table.filter(gone)), ".last_update_date": b"20240228"})
    problems = verify_repo(repo)
    assert any("2024-02-20" in p for p in problems)
    assert any(".last_update_date" in p for p in problems)


def test_a_loading_script_is_reported(repo):
    tamper(repo, adds={"a-share-prices.py": b"# old loading script\n"})
    assert any("loading script" in p for p in verify_repo(repo))


def test_index_files_out_of_order_or_on_a_closed_day_are_reported(repo):
    path = "index/prices.parquet"
    assert path in repo.list_files(repo.head())
    table = from_parquet(repo.read(path, repo.head()))
    shuffled = table.take(list(range(table.num_rows))[::-1])
    sunday = table.slice(0, 1).set_column(1, "date", pa.array([dt.date(2024, 2, 4)], pa.date32()))
    tamper(repo, adds={path: to_parquet(pa.concat_tables([shuffled, sunday]))})
    problems = verify_repo(repo)
    assert any(path in p and "sha256" in p for p in problems)
    assert any("index_prices: not sorted" in p for p in problems)
    assert any("index_prices: bars on 1 day(s) that are not published trading days" in p for p in problems)
