"""Config by_code through full and delta runs: the default config's rows by (code, date), one row
group per code per file, only recent files rewritten by a delta, and a repo without it backfilled."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataset_script.schema import STATE_PATH, is_by_code
from dataset_script.state import SyncState
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.targets.commit import Commit
from tests.support.serving import at, rows_of, served

START, END = dt.date(2023, 11, 20), dt.date(2024, 1, 12)
SETTINGS = Settings(markets=("主板",), restatement_days=3)
KEYS = ["code", "date"]


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=11))


def by_code_rows(repo) -> pd.DataFrame:
    """Every row of config by_code at the head, file by file (each file in its own order)."""
    head = repo.head()
    files = sorted(p for p in repo.list_files(head) if is_by_code(p))
    return pa.concat_tables([from_parquet(repo.read(p, head)) for p in files]).to_pandas()


def assert_same_rows(repo) -> None:
    """by_code holds exactly the default config's rows, value for value."""
    ours = by_code_rows(repo).sort_values(KEYS, ignore_index=True)
    default = rows_of(repo).sort_values(KEYS, ignore_index=True)
    pd.testing.assert_frame_equal(ours, default)


def assert_readable_by_code(repo) -> None:
    """Each file sorted by (code, date), each code in one row group, code statistics and a page index."""
    head = repo.head()
    for path in (p for p in repo.list_files(head) if is_by_code(p)):
        file = pq.ParquetFile(io.BytesIO(repo.read(path, head)))
        table = file.read(columns=KEYS).to_pandas()
        assert list(zip(table["code"], table["date"])) == sorted(zip(table["code"], table["date"])), path
        seen: dict[str, int] = {}
        for i in range(file.metadata.num_row_groups):
            group = file.metadata.row_group(i)
            column = group.column(0)
            assert column.statistics is not None and column.statistics.has_min_max, path
            assert column.has_column_index and column.has_offset_index, path
            for code in set(file.read_row_group(i, columns=["code"]).column(0).to_pylist()):
                assert seen.setdefault(code, i) == i, f"{code} in two row groups of {path}"


def by_code_changes(repo, before: str) -> tuple[set[str], set[str]]:
    """(by_code paths written, by_code paths deleted) by the commits after `before`."""
    old = {p: repo.read(p, before) for p in repo.list_files(before) if is_by_code(p)}
    head = repo.head()
    new = {p: repo.read(p, head) for p in repo.list_files(head) if is_by_code(p)}
    return {p for p, data in new.items() if old.get(p) != data}, set(old) - set(new)


def test_full_then_deltas_keep_by_code_equal_to_the_default_config(market, tmp_path):
    days = market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=days[-6])
        assert_same_rows(repo)
        assert_readable_by_code(repo)
        for end in days[-5:-3]:
            run_delta(repo, source, SETTINGS, at(END), end=end)
            assert_same_rows(repo)
    assert_readable_by_code(repo)
    assert verify_repo(repo) == []


def test_a_delta_rewrites_only_the_recent_month_file(market, tmp_path):
    days = market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=days[-3])
        before = repo.head()
        run_delta(repo, source, SETTINGS, at(END), end=days[-2])
    written, deleted = by_code_changes(repo, before)
    assert written == {"by_code/2024/2024-01.parquet"} and deleted == set()
    assert "by_code/2023.parquet" in repo.list_files(repo.head())


def test_the_first_delta_of_a_year_compacts_the_closed_year_into_one_file(market, tmp_path):
    days = market.trade_dates()
    last_of_2023 = max(d for d in days if d.year == 2023)
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=last_of_2023)
        before = repo.head()
        assert sorted(p for p in repo.list_files(before) if is_by_code(p)) == [
            "by_code/2023/2023-11.parquet",
            "by_code/2023/2023-12.parquet",
        ]
        run_delta(repo, source, SETTINGS, at(END), end=min(d for d in days if d.year == 2024))
    written, deleted = by_code_changes(repo, before)
    assert written == {"by_code/2023.parquet", "by_code/2024/2024-01.parquet"}
    assert deleted == {"by_code/2023/2023-11.parquet", "by_code/2023/2023-12.parquet"}
    assert_same_rows(repo)
    assert verify_repo(repo) == []


def test_a_repo_published_before_by_code_gets_it_on_its_next_delta(market, tmp_path):
    days = market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=days[-2])
        _forget_by_code(repo)
        assert any("missing from config by_code" in p for p in verify_repo(repo))
        result = run_delta(repo, source, SETTINGS, at(END), end=days[-2])  # nothing new to fetch
    assert result.published
    assert_same_rows(repo)
    assert verify_repo(repo) == []
    state = SyncState.from_json(repo.read(STATE_PATH, repo.head()))
    assert set(state.by_code) == {"by_code/2023.parquet", "by_code/2024/2024-01.parquet"}
    assert all(info.digest for info in state.shards.values())


def test_a_repo_published_before_by_code_gets_it_on_its_next_full(market, tmp_path):
    days = market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=days[-2])
        _forget_by_code(repo)
        run_full(repo, source, SETTINGS, at(END), start=days[-8], end=days[-2])
    assert_same_rows(repo)
    assert verify_repo(repo) == []


def _forget_by_code(repo) -> None:
    """The repo as the sync published it before by_code existed: no files, no record, no digests."""
    head = repo.head()
    state = SyncState.from_json(repo.read(STATE_PATH, head))
    old = dataclasses.replace(
        state, by_code={}, shards={p: dataclasses.replace(i, digest="") for p, i in state.shards.items()}
    )
    files = [p for p in repo.list_files(head) if is_by_code(p)]
    repo.commit(Commit(adds={STATE_PATH: old.to_json().encode()}, deletes=files, message="old"), parent=head)


def test_by_code_loads_with_datasets_as_the_default_rows(market, tmp_path, hf_home):
    import datasets

    days = market.trade_dates()
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=days[-1])
    loaded = datasets.load_dataset(str(tmp_path / "dataset"), "by_code", split="train").to_pandas()
    default = datasets.load_dataset(str(tmp_path / "dataset"), split="train").to_pandas()
    pd.testing.assert_frame_equal(
        loaded.sort_values(KEYS, ignore_index=True), default.sort_values(KEYS, ignore_index=True)
    )


def test_by_code_on_the_hub_equals_the_default_config_after_full_and_delta(market, hub_server, hf_home):
    import datasets

    days = market.trade_dates()
    repo = open_repo("hf://datasets/ellendan/by-code")
    with served(market, at(END)) as (_, source):
        run_full(repo, source, SETTINGS, at(END), end=days[-3])
        run_delta(repo, source, SETTINGS, at(END), end=days[-1])
    assert_same_rows(repo)
    assert_readable_by_code(repo)
    loaded = datasets.load_dataset("ellendan/by-code", "by_code", split="train").to_pandas()
    assert len(loaded) == len(rows_of(repo))
    assert verify_repo(repo) == []
