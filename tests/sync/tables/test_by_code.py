"""The by_code layout as pure functions: which file holds a month, row groups, bytes and digests."""

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq

from dataset_script.schema import by_code_months, by_code_path, is_by_code
from sync.tables import by_code
from tests.support.tables import FEB1, JAN2, JAN3, table


def test_closed_years_get_one_file_and_the_watermarks_year_one_per_month():
    watermark = dt.date(2025, 1, 2)
    assert by_code_path(2024, 12, watermark) == "by_code/2024.parquet"
    assert by_code_path(2025, 1, watermark) == "by_code/2025/2025-01.parquet"
    assert by_code.layout([(2024, 11), (2024, 12), (2025, 1)], 2025) == {
        "by_code/2024.parquet": [(2024, 11), (2024, 12)],
        "by_code/2025/2025-01.parquet": [(2025, 1)],
    }


def test_by_code_paths_are_recognised_and_nothing_else():
    assert by_code_months("by_code/2024.parquet") == ((2024, 1), (2024, 12))
    assert by_code_months("by_code/2024/2024-03.parquet") == ((2024, 3), (2024, 3))
    for other in ("by_code/2024/2023-03.parquet", "by_code/2024/2024-13.parquet", "data/2024/2024-03.parquet"):
        assert not is_by_code(other)


def test_row_groups_never_split_a_code_and_stay_under_the_target_when_they_can():
    codes = pa.array(["a"] * 3 + ["b"] * 2 + ["c"] * 5 + ["d"])
    groups = by_code.row_groups(codes, target=4)
    assert groups == [(0, 3), (3, 2), (5, 5), (10, 1)]  # c alone passes the target, and stays whole
    assert by_code.row_groups(codes, target=100) == [(0, 11)]
    assert by_code.row_groups(pa.array([], pa.string())) == []


def test_a_file_is_sorted_by_code_with_one_row_group_per_code_group_and_a_page_index():
    rows = [(code, day, 1.0) for day in (JAN2, JAN3) for code in ("600001.SH", "000001.SZ", "300001.SZ")]
    data = by_code.to_parquet(by_code.order(table(rows)), target=2)
    file = pq.ParquetFile(io.BytesIO(data))
    assert file.metadata.num_row_groups == 3
    assert (
        file.read(columns=["code"]).column(0).to_pylist() == ["000001.SZ"] * 2 + ["300001.SZ"] * 2 + ["600001.SH"] * 2
    )
    assert by_code.file_problems("by_code/2024/2024-01.parquet", data) == []


def test_same_rows_give_the_same_bytes_in_any_input_order():
    rows = [("B", JAN2, 1), ("A", JAN3, 2), ("A", JAN2, 3)]
    first = by_code.to_parquet(by_code.order(table(rows)))
    second = by_code.to_parquet(by_code.order(table(list(reversed(rows)))))
    assert first == second


def test_the_digest_ignores_order_adds_over_months_and_sees_one_changed_value():
    jan, feb = table([("A", JAN2, 1), ("B", JAN2, 2)]), table([("A", FEB1, 3)])
    both = pa.concat_tables([feb, jan])
    assert by_code.rows_digest(both) == by_code.add_digests([by_code.rows_digest(jan), by_code.rows_digest(feb)])
    assert by_code.rows_digest(both.take([2, 0, 1])) == by_code.rows_digest(both)
    assert by_code.rows_digest(table([("A", JAN2, 1), ("B", JAN2, 2.0000001)])) != by_code.rows_digest(jan)
    assert by_code.rows_digest(table([("A", JAN2, 2), ("B", JAN2, 1)])) != by_code.rows_digest(jan)  # swapped cells
