"""`verify` compares config by_code with the monthly shards row for row, and checks its reading aids."""

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sync.core.config import Settings
from sync.engine.full import run_full
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables import by_code
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.targets.commit import Commit
from tests.support.serving import at, served

END = dt.date(2024, 2, 29)
FEB = "by_code/2024/2024-02.parquet"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    market = SyntheticMarket(MarketSpec(start=dt.date(2024, 1, 2), end=END, n_stocks=30, seed=9))
    folder = tmp_path_factory.mktemp("verify-by-code") / "dataset"
    repo = open_repo(str(folder))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, Settings(), at(END))
    return repo


@pytest.fixture
def repo(published, tmp_path):
    """A copy of the published folder that a test may damage."""
    import shutil

    copy = tmp_path / "dataset"
    shutil.copytree(published.path, copy, symlinks=True)
    return open_repo(str(copy))


def tamper(repo, adds=None, deletes=()):
    repo.commit(Commit(adds=adds or {}, deletes=list(deletes), message="tamper"), parent=repo.head())


def feb(repo) -> pa.Table:
    return from_parquet(repo.read(FEB, repo.head()))


def test_a_fresh_publish_has_clean_by_code(repo):
    assert verify_repo(repo) == []


def test_one_changed_value_in_by_code_is_caught_row_for_row(repo):
    table = feb(repo)
    close = table.column("close").to_pylist()
    close[7] = close[7] + 0.01
    damaged = table.set_column(table.schema.get_field_index("close"), "close", pa.array(close))
    tamper(repo, adds={FEB: by_code.to_parquet(damaged)})
    problems = verify_repo(repo)
    assert any(FEB in p and "rows differ from the monthly shards" in p for p in problems)
    assert any(FEB in p and "sha256" in p for p in problems)


def test_a_missing_row_in_by_code_is_caught(repo):
    table = feb(repo)
    tamper(repo, adds={FEB: by_code.to_parquet(table.slice(1))})
    assert any(FEB in p and "rows" in p and "hold" in p for p in verify_repo(repo))


def test_a_truncated_by_code_file_is_caught(repo):
    data = repo.read(FEB, repo.head())
    tamper(repo, adds={FEB: data[: len(data) // 2]})
    assert any(FEB in p and "not a readable Parquet file" in p for p in verify_repo(repo))


def test_a_by_code_file_sorted_by_date_or_split_across_row_groups_is_caught(repo):
    table = feb(repo).sort_by([("date", "ascending"), ("code", "ascending")])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=100)
    tamper(repo, adds={FEB: sink.getvalue().to_pybytes()})
    problems = [p for p in verify_repo(repo) if FEB in p]
    assert any("more than one row group" in p for p in problems)
    assert any("not sorted by (code, date)" in p for p in problems)
    assert any("page index" in p for p in problems)


def test_a_missing_by_code_file_names_the_run_that_writes_it(repo):
    tamper(repo, deletes=[FEB])
    assert any(FEB in p and "missing from config by_code" in p and "delta" in p for p in verify_repo(repo))


def test_a_month_file_left_after_its_year_closed_is_reported(repo):
    tamper(repo, adds={"by_code/2023/2023-12.parquet": repo.read(FEB, repo.head())})
    assert any("by_code/2023/2023-12.parquet" in p and "not a file of config by_code" in p for p in verify_repo(repo))


def test_a_filter_on_code_reads_one_row_group_per_file(published):
    data = published.read(FEB, published.head())
    file = pq.ParquetFile(pa.BufferReader(data))
    code = file.read_row_group(file.metadata.num_row_groups - 1, columns=["code"]).column(0)[0].as_py()
    groups = [
        i
        for i in range(file.metadata.num_row_groups)
        if pc.any(pc.equal(file.read_row_group(i, columns=["code"]).column(0), code)).as_py()
    ]
    assert len(groups) == 1
