"""The commit plan (one atomic commit as data), `Commit` validation and `InvariantError`.

The plan tests moved here from tests/sync/tables/test_shards.py unchanged in what they assert.
"""

import dataclasses
import datetime as dt
import hashlib

import pyarrow as pa
import pytest

from dataset_script.schema import STATE_PATH, shard_month
from sync.core.errors import SyncError
from sync.publish.by_code import build
from sync.publish.plan import BuiltShard, InvariantError, PublishInput, plan_commit
from sync.tables.by_code import layout
from sync.targets.commit import Commit, check_repo_path
from tests.support.tables import FEB1, JAN2, JAN3, JAN31, table


def manifest(tables, days, watermark):
    """meta/days.parquet for these shard tables: each trading day through the watermark, its row count."""
    dates = [d for t in tables for d in t.column("date").to_pylist()]
    return pa.table(
        {
            "date": pa.array([d for d in days if d <= watermark], pa.date32()),
            "status": ["complete"] * len([d for d in days if d <= watermark]),
            "rows": pa.array([dates.count(d) for d in days if d <= watermark], pa.int64()),
            "paused": pa.array([0] * len([d for d in days if d <= watermark]), pa.int64()),
            **{
                f"coverage_{api}": pa.array([None] * len([d for d in days if d <= watermark]), pa.float64())
                for api in ("daily", "daily_basic", "stk_limit", "adj_factor")
            },
        }
    )


def by_code_files(shards, watermark):
    """Config by_code for these shard tables, as a run builds it."""
    months = {shard_month(path): t for path, t in shards.items()}
    return {
        path: build(path, pa.concat_tables([months[m] for m in ms]))
        for path, ms in layout(months, watermark.year).items()
    }


def publish_input(shards, days, watermark, full=True):
    stocks = pa.table({n: pa.array([], type=t) for n, t in zip(["code"], [pa.string()])})
    calendar = pa.table({"date": pa.array(days, pa.date32())})
    built = {path: BuiltShard.build(path, t) for path, t in shards.items()}
    return PublishInput(
        shards=built,
        by_code=by_code_files(shards, watermark),
        stocks=stocks,
        calendar=calendar,
        days=manifest(shards.values(), days, watermark),
        trading_days=days,
        first_date=days[0],
        watermark=watermark,
        markets=("主板",),
        run={"kind": "test"},
        replace_all=full,
    )


def test_plan_refuses_to_publish_a_gap_before_the_watermark():
    jan = table([("A", JAN2, 1), ("A", JAN31, 1)])  # JAN3 missing
    with pytest.raises(InvariantError, match="2024-01-03"):
        plan_commit(publish_input({"data/2024/2024-01.parquet": jan}, [JAN2, JAN3, JAN31], JAN31), None, [], "o/n")


def test_full_plan_deletes_stale_shards_and_never_the_maintainer_s_files():
    jan = table([("A", JAN2, 1)])
    existing = ["data/2023/2023-12.parquet", "data/2024/2024-01.parquet", "a-share-prices.py", "README.md", "x.png"]
    commit, state = plan_commit(publish_input({"data/2024/2024-01.parquet": jan}, [JAN2], JAN2), None, existing, "o/n")
    assert sorted(commit.deletes) == ["data/2023/2023-12.parquet"]  # a loading script is reported by verify
    assert not {"a-share-prices.py", "x.png", "calendar.csv"} & set(commit.adds)
    assert {".last_update_date", STATE_PATH, "README.md", "data/2024/2024-01.parquet"} <= set(commit.adds)
    assert commit.adds[".last_update_date"] == b"20240102"
    assert commit.tag == "20240102"
    assert state.watermark == JAN2 and state.shards["data/2024/2024-01.parquet"].rows == 1


def test_plan_is_empty_when_nothing_changed():
    jan = table([("A", JAN2, 1)])
    planned = publish_input({"data/2024/2024-01.parquet": jan}, [JAN2], JAN2)
    _, state = plan_commit(planned, None, [], "o/n")
    commit, again = plan_commit(planned, state, ["data/2024/2024-01.parquet"], "o/n")
    assert commit is None and again is state
    changed = publish_input({"data/2024/2024-01.parquet": table([("A", JAN2, 2)])}, [JAN2], JAN2)
    commit, _ = plan_commit(changed, state, ["data/2024/2024-01.parquet"], "o/n")
    assert "data/2024/2024-01.parquet" in commit.adds


# -- BuiltShard -------------------------------------------------------------------------------


def test_a_shard_built_with_a_spill_is_on_disk_and_planned_as_its_path(tmp_path):
    jan = table([("A", JAN2, 1), ("B", JAN2, 2)])
    in_memory = BuiltShard.build("data/2024/2024-01.parquet", jan)
    spilled = BuiltShard.build("data/2024/2024-01.parquet", jan, spill=tmp_path)
    assert spilled.content == tmp_path / f"{spilled.info.sha256}.parquet"
    assert spilled.data == in_memory.data and spilled.info == in_memory.info
    planned = dataclasses.replace(
        publish_input({"data/2024/2024-01.parquet": jan}, [JAN2], JAN2), shards={"data/2024/2024-01.parquet": spilled}
    )
    commit, _ = plan_commit(planned, None, [], "o/n")
    assert commit.adds["data/2024/2024-01.parquet"] == spilled.content


def test_a_built_shard_carries_its_bytes_hash_rows_and_days():
    jan = table([("A", JAN2, 1), ("B", JAN2, 2), ("A", JAN31, 3)])
    built = BuiltShard.build("data/2024/2024-01.parquet", jan)
    assert built.info.sha256 == hashlib.sha256(built.data).hexdigest()
    assert built.info.bytes == len(built.data)
    assert built.info.rows == 3
    assert built.days == (JAN2, JAN31)
    assert (built.info.first_date, built.info.last_date, built.info.days) == (JAN2, JAN31, 2)
    assert built.problems == ()


def test_a_built_shard_keeps_its_problems_and_the_plan_refuses_it():
    unsorted = table([("B", JAN2, 1), ("A", JAN2, 1)])
    built = BuiltShard.build("data/2024/2024-01.parquet", unsorted)
    assert any("not sorted" in p for p in built.problems)
    with pytest.raises(InvariantError, match="not sorted"):
        plan_commit(publish_input({"data/2024/2024-01.parquet": unsorted}, [JAN2], JAN2), None, [], "o/n")


def test_a_shard_in_the_wrong_file_is_refused():
    feb = table([("A", FEB1, 1)])
    with pytest.raises(InvariantError, match="outside 2024-01"):
        plan_commit(publish_input({"data/2024/2024-01.parquet": feb}, [FEB1], FEB1), None, [], "o/n")


# -- InvariantError ---------------------------------------------------------------------------


def test_invariant_error_lists_every_problem_and_is_a_final_sync_error():
    error = InvariantError(["data/2024/2024-01.parquet: not sorted", "2024-01-03 missing"])
    assert isinstance(error, SyncError)
    assert error.problems == ["data/2024/2024-01.parquet: not sorted", "2024-01-03 missing"]
    assert str(error) == (
        "refusing to publish, the dataset invariants do not hold:\n"
        "  - data/2024/2024-01.parquet: not sorted\n"
        "  - 2024-01-03 missing\n"
        "Nothing was published. Run `python -m sync verify` to see the state of the repo; "
        "`python -m sync full` rebuilds it"
    )
    assert error.retryable is False
    assert error.exit_code == 1


# -- Commit validation ------------------------------------------------------------------------


def test_a_valid_commit_is_built_and_frozen():
    commit = Commit(
        adds={"data/2024/2024-01.parquet": b"x", ".last_update_date": b"20240131"},
        deletes=["a-share-prices.py"],
        message="delta: data through 2024-01-31",
        tag="20240131",
    )
    assert commit.tag == "20240131"
    with pytest.raises(dataclasses.FrozenInstanceError):
        commit.message = "other"  # type: ignore[misc]


def test_a_commit_without_deletes_or_tag_is_valid():
    assert Commit(adds={"README.md": b"# card"}, deletes=(), message="card").tag is None


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../outside",
        "data/../../x",
        "./README.md",
        "data//2024.parquet",
        "data/",
        "",
        "data\\2024\\2024-01.parquet",
        "data/./x",
    ],
)
def test_a_commit_refuses_a_path_outside_the_repo_or_not_posix(path):
    with pytest.raises(ValueError, match="not a valid path inside a dataset repo") as raised:
        Commit(adds={path: b"x"}, deletes=(), message="m")
    assert "data/2024/2024-01.parquet" in str(raised.value)  # shows a valid example
    with pytest.raises(ValueError, match="not a valid path inside a dataset repo"):
        Commit(adds={}, deletes=[path], message="m")


@pytest.mark.parametrize("path", ["README.md", ".last_update_date", ".sync/state.json", "data/2024/2024-01.parquet"])
def test_check_repo_path_accepts_relative_posix_paths(path):
    assert check_repo_path(path) == path


def test_a_commit_cannot_add_and_delete_the_same_path():
    with pytest.raises(ValueError, match="both add and delete") as raised:
        Commit(
            adds={"README.md": b"x", "data/2024/2024-01.parquet": b"y"},
            deletes=["data/2024/2024-01.parquet", "old.py"],
            message="m",
        )
    assert "data/2024/2024-01.parquet" in str(raised.value)
    assert "README.md" not in str(raised.value)


@pytest.mark.parametrize("message", ["", "   ", "\n"])
def test_a_commit_needs_a_message(message):
    with pytest.raises(ValueError, match="non-empty message"):
        Commit(adds={"README.md": b"x"}, deletes=(), message=message)


@pytest.mark.parametrize("tag", ["", "-20240131", ".hidden", "has space", "a/b", "v1:2", "x" * 101, "标签"])
def test_a_commit_refuses_a_tag_that_is_not_a_simple_name(tag):
    with pytest.raises(ValueError, match="tag must be") as raised:
        Commit(adds={"README.md": b"x"}, deletes=(), message="m", tag=tag)
    assert "20241231" in str(raised.value)  # shows a valid example


@pytest.mark.parametrize("tag", ["20241231", "v1.0", "release_2024-12", "x" * 100])
def test_a_commit_accepts_simple_tag_names(tag):
    assert Commit(adds={"README.md": b"x"}, deletes=(), message="m", tag=tag).tag == tag


def test_plan_refuses_by_code_whose_rows_differ_from_the_shards():
    jan = table([("A", JAN2, 1), ("B", JAN2, 2)])
    planned = publish_input({"data/2024/2024-01.parquet": jan}, [JAN2], JAN2)
    other = by_code_files({"data/2024/2024-01.parquet": table([("A", JAN2, 1), ("B", JAN2, 3)])}, JAN2)
    with pytest.raises(InvariantError, match=r"by_code/2024/2024-01.parquet: its rows differ from its months"):
        plan_commit(dataclasses.replace(planned, by_code=other), None, [], "o/n")
    fewer = by_code_files({"data/2024/2024-01.parquet": table([("A", JAN2, 1)])}, JAN2)
    with pytest.raises(InvariantError, match=r"by_code/2024/2024-01.parquet: 1 rows, its months' shards hold 2"):
        plan_commit(dataclasses.replace(planned, by_code=fewer), None, [], "o/n")
    with pytest.raises(InvariantError, match=r"by_code/2024/2024-01.parquet: missing from config by_code"):
        plan_commit(dataclasses.replace(planned, by_code={}), None, [], "o/n")


def test_plan_records_by_code_and_deletes_month_files_of_a_closed_year():
    dec, jan = table([("A", dt.date(2023, 12, 29), 1)]), table([("A", JAN2, 2)])
    days = [dt.date(2023, 12, 29), JAN2]
    shards = {"data/2023/2023-12.parquet": dec, "data/2024/2024-01.parquet": jan}
    existing = ["data/2023/2023-12.parquet", "by_code/2023/2023-12.parquet"]
    commit, state = plan_commit(publish_input(shards, days, JAN2), None, existing, "o/n")
    assert set(state.by_code) == {"by_code/2023.parquet", "by_code/2024/2024-01.parquet"}
    assert {"by_code/2023.parquet", "by_code/2024/2024-01.parquet"} <= set(commit.adds)
    assert "by_code/2023/2023-12.parquet" in commit.deletes
    assert state.by_code["by_code/2023.parquet"].digest == state.shards["data/2023/2023-12.parquet"].digest
