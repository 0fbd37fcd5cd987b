"""A tiny dataset for the repo adapters' tests: a card, a parquet file of a few days, a first commit."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from sync.publish.plan import Commit

REPO_ID = "ellendan/a-share-prices"
TOKEN = "hf_SecretTokenThatMustNeverLeak123"
CARD = b"""---
configs:
- config_name: default
  default: true
  data_files:
  - split: train
    path: data/*/*.parquet
---
# test
"""


def parquet(days: list[int], month: int = 1) -> bytes:
    sink = io.BytesIO()
    dates = [f"2024-{month:02d}-{d:02d}" for d in days]
    pq.write_table(pa.table({"code": ["600000.SH"] * len(days), "date": dates}), sink)
    return sink.getvalue()


def first_commit(repo) -> str:
    adds = {"README.md": CARD, "data/2024/2024-01.parquet": parquet([2, 3]), ".last_update_date": b"20240103"}
    return repo.commit(Commit(adds=adds, deletes=(), message="first"), parent=None)
