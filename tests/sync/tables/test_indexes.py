"""The index tables' pure parts: merge, late snapshots, odd sums, index_missing."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from sync.tables import indexes

D1, D2, D3 = dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 29)


def weights(rows):
    return pd.DataFrame(rows, columns=["index_code", "date", "code", "weight"])


def test_a_snapshot_outside_100_plus_or_minus_half_is_named():
    frame = weights(
        [
            ("000300.SH", D1, "600000.SH", 60.0),
            ("000300.SH", D1, "600001.SH", 40.4),
            ("000905.SH", D1, "600002.SH", 99.0),
        ]
    )
    assert indexes.odd_sums(frame) == ["000905.SH 2024-01-31 (99.00)"]


def test_a_new_snapshot_dated_before_the_watermark_is_late_and_a_newer_one_is_not():
    old = weights([("000300.SH", D1, "600000.SH", 100.0)])
    new = weights([("000300.SH", D2, "600000.SH", 100.0), ("000300.SH", D3, "600000.SH", 100.0)])
    assert indexes.late_snapshots(old, new, published_through=D2) == [("000300.SH", D2, 1)]


def test_a_refetched_snapshot_replaces_the_old_one_whole_and_a_dropped_code_goes():
    old = weights(
        [
            ("000300.SH", D1, "600000.SH", 50.0),
            ("000300.SH", D1, "600001.SH", 50.0),
            ("000905.SH", D1, "600002.SH", 100.0),
        ]
    )
    new = weights([("000300.SH", D1, "600000.SH", 100.0)])
    merged = indexes.merge_weights(old, new, ["000300.SH"])
    assert merged.to_dict("records") == [{"index_code": "000300.SH", "date": D1, "code": "600000.SH", "weight": 100.0}]


def test_index_missing_lists_codes_without_a_bar_after_their_first():
    prices = pd.DataFrame({"code": ["A", "A", "B"], "date": [D1, D3, D2]})
    assert indexes.index_missing(prices, [D1, D2, D3]) == {D2: ["A"], D3: ["B"]}
