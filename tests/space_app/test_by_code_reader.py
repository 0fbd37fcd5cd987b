"""Ranged reads of one stock from a by_code file: the footer and one row group's columns, nothing else."""

import datetime as dt

from space_app import by_code_reader
from sync.tables import by_code
from tests.support.tables import table

DAYS = [dt.date(2024, 1, 2) + dt.timedelta(days=i) for i in range(20)]
CODES = [f"{600000 + i:06d}.SH" for i in range(1000)]


def published() -> bytes:
    rows = [(code, day, 10.0 + i + d / 100) for i, code in enumerate(CODES) for d, day in enumerate(DAYS)]
    return by_code.to_parquet(by_code.order(table(rows)), target=1000)  # 50 stocks per row group


def test_one_stock_costs_the_footer_and_one_row_groups_columns(monkeypatch):
    data = published()
    footer = int.from_bytes(data[-8:-4], "little") + 8
    monkeypatch.setattr(by_code_reader, "FOOTER_GUESS", footer)
    tail = max(footer, 64 * 1024)
    requests = []

    def fetch(start, end):
        requests.append((start, end))
        return data[start:end]

    rows, fetched = by_code_reader.read_code(fetch, len(data), CODES[77], ["code", "date", "close"])
    assert rows.column("code").to_pylist() == [CODES[77]] * len(DAYS)
    assert rows.column("close").to_pylist() == [10.0 + 77 + d / 100 for d in range(len(DAYS))]
    assert requests[0] == (len(data) - tail, len(data))  # the footer
    assert len(requests) == 2  # then the one group's three columns, in one range
    assert fetched == sum(end - start for start, end in requests)
    assert requests[1][1] - requests[1][0] < (len(data) - tail) / 20  # of 20 row groups' 37 columns


def test_a_code_the_file_does_not_hold_costs_only_the_footer():
    data = published()
    requests = []

    def fetch(start, end):
        requests.append((start, end))
        return data[start:end]

    rows, _ = by_code_reader.read_code(fetch, len(data), "000001.SZ", ["code", "close"])
    assert rows.num_rows == 0 and rows.column_names == ["code", "close"] and len(requests) == 1
