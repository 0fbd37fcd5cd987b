"""The dataset card: its YAML front matter, its runnable snippets, and that every config it lists loads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from dataset_script.card import render_card
from dataset_script.card_facts import Coverage, LastRun
from dataset_script.card_sections import ADJUSTING
from dataset_script.schema import (
    CALENDAR_PATH,
    CALENDAR_SCHEMA,
    CHANGES_PATH,
    CHANGES_SCHEMA,
    DATA_GLOB,
    DAYS_PATH,
    DAYS_SCHEMA,
    PRICE_SCHEMA,
    REPO_ID,
    RUNS_PATH,
    RUNS_SCHEMA,
    SCHEMA_VERSION,
    STOCKS_PATH,
    STOCKS_SCHEMA,
    shard_path,
)
from sync.tables import by_code
from tests.support.snippets import python_blocks

UTC = dt.UTC
META = {"stocks": STOCKS_PATH, "calendar": CALENDAR_PATH, "days": DAYS_PATH, "runs": RUNS_PATH, "changes": CHANGES_PATH}
COVERAGE = Coverage(
    first_date=dt.date(2024, 3, 29),
    watermark=dt.date(2024, 4, 2),
    rows=6,
    codes=2,
    trading_days=3,
    markets=("主板",),
    fingerprint="0123456789abcdef",
    data_bytes=12_345,
    memory_bytes=23_456,
    partial_days=1,
    last_run=LastRun(
        kind="delta",
        trigger="schedule",
        finished_at=dt.datetime(2024, 4, 2, 13, 5, tzinfo=UTC),
        status="success",
        days_added=1,
        rows_added=2,
        rows_changed=0,
    ),
)


def front_matter(card: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert match, "the card must open with YAML front matter"
    return yaml.safe_load(match.group(1))


def section(card: str, title: str) -> str:
    """The text of the `## <title>…` section, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", card, re.S | re.M)
    assert match, f"no section {title!r} in the card"
    return match.group(0)


# -- front matter ----------------------------------------------------------------------------------


def test_front_matter_parses_and_lists_the_seven_configs_with_their_paths():
    meta = front_matter(render_card(COVERAGE))
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs) == ["default", "by_code", "stocks", "calendar", "days", "runs", "changes"]
    assert configs["default"]["data_files"] == [{"split": "train", "path": DATA_GLOB}]
    assert configs["by_code"]["data_files"] == [
        {"split": "train", "path": ["by_code/*.parquet", "by_code/*/*.parquet"]}
    ]
    assert configs["default"]["default"] is True
    for name, path in META.items():
        assert configs[name]["data_files"] == [{"split": "train", "path": path}]
        assert "default" not in configs[name]


def test_dataset_info_gives_the_exact_size_and_rows_of_the_default_config():
    meta = front_matter(render_card(COVERAGE))
    assert meta["dataset_info"] == [
        {
            "config_name": "default",
            "download_size": 12_345,
            "splits": [{"name": "train", "num_bytes": 23_456, "num_examples": 6}],
        }
    ]


def test_front_matter_has_licence_languages_and_hub_metadata():
    meta = front_matter(render_card(dataclasses.replace(COVERAGE, rows=12_000_000)))
    assert meta["license"] == "other" and meta["license_name"] and meta["license_link"].startswith("https://")
    assert meta["language"] == ["zh", "en"]
    assert meta["size_categories"] == ["10M<n<100M"]
    assert meta["pretty_name"] and meta["tags"] and meta["task_categories"]


@pytest.mark.parametrize("theirs", ["mit", "cc-by-4.0", "apache-2.0"])
def test_a_maintainer_s_license_is_kept_without_a_contradicting_license_name(theirs):
    old_card = f"---\nlicense: {theirs}\npretty_name: mine\n---\n# old\n"
    meta = front_matter(render_card(COVERAGE, kept=front_matter(old_card)))
    assert meta["license"] == theirs and meta["pretty_name"] == "mine"
    assert "license_name" not in meta and "license_link" not in meta
    # a card migrated before this rule (mit beside the generated license_name) is repaired
    migrated = render_card(COVERAGE, kept={"license": theirs, "license_name": "tushare-pro-terms"})
    assert "license_name" not in front_matter(migrated)


def test_a_maintainer_s_other_license_keeps_its_name_and_link():
    kept = {"license": "other", "license_name": "my-terms", "license_link": "https://example.org/terms"}
    meta = front_matter(render_card(COVERAGE, kept=kept))
    assert (meta["license"], meta["license_name"], meta["license_link"]) == tuple(kept.values())


# -- body ------------------------------------------------------------------------------------------


def test_freshness_names_the_watermark_partial_days_and_the_last_run():
    text = section(render_card(COVERAGE), "Freshness")
    assert "**2024-04-02** (tag `20240402`)" in text
    assert "| partial days · 不完整交易日 | 1 |" in text and DAYS_PATH in text
    assert "delta (schedule), success, finished 2024-04-02 13:05:00 UTC" in text


def test_last_run_is_shown_in_utc_and_left_out_when_unknown():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    run = LastRun.from_run({"kind": "full", "trigger": "button", "finished_at": "2024-04-02T21:05:00+08:00"})
    assert run.finished_at == dt.datetime(2024, 4, 2, 21, 5, tzinfo=shanghai)
    card = render_card(dataclasses.replace(COVERAGE, last_run=run))
    assert "full (button), success, finished 2024-04-02 13:05:00 UTC" in card
    assert "| last run" not in render_card(dataclasses.replace(COVERAGE, last_run=None))


def test_every_column_of_every_table_is_documented():
    card = render_card(COVERAGE)
    for field in PRICE_SCHEMA:
        assert re.search(rf"^\| `{field.name}` \| \S+ \| .+ \| .+ \| .+ \| (✓|new) \|$", card, re.M), field.name
    meta_text = section(card, "Meta tables")
    for schema in (STOCKS_SCHEMA, CALENDAR_SCHEMA, DAYS_SCHEMA, RUNS_SCHEMA, CHANGES_SCHEMA):
        for name in schema.names:
            assert f"`{name}`" in meta_text, name


def test_the_first_33_columns_are_marked_as_the_old_csv_columns():
    rows = re.findall(r"^\| `(\w+)` \| .* \| (✓|new) \|$", render_card(COVERAGE), re.M)
    assert [name for name, mark in rows if mark == "✓"] == PRICE_SCHEMA.names[:33]


def test_card_states_the_rules_consumers_ask_about():
    card = render_card(COVERAGE)
    for fact in (
        "2007-01-04",
        "`中小板`",
        "is_paused",
        "delist_date",
        "point in time",
        "Tushare Pro",
        "all-prices.csv",
        ".last_update_date",
        'revision="20240402"',
        f"**{SCHEMA_VERSION}**",
        "前复权",
        "后复权",
    ):
        assert fact in card, fact


def test_the_sources_include_suspend_d_and_both_stock_counts_are_named():
    card = render_card(dataclasses.replace(COVERAGE, codes=64, stocks=73))
    assert "`suspend_d`" in card.split("## ", 1)[0]  # the intro, before the first section
    text = section(card, "Freshness")
    assert "| stocks with price rows · 有行情的股票数 | 64 |" in text
    assert re.search(r"^\| stocks in `stocks` .*\| 73 \|$", text, re.M)


def test_the_example_code_comes_from_the_data():
    card = render_card(dataclasses.replace(COVERAGE, example_code="000002.SZ"))
    assert "600000.SH" not in "".join(python_blocks(card)) and "000002.SZ" in section(card, "Loading")


def test_a_folder_card_shows_its_own_tags_file_and_a_hub_card_no_folder_snippet():
    folder_card = render_card(COVERAGE, folder="dataset")
    assert 'json.load(open(".dataset.sync/tags.json"))' in folder_card
    hub_card = render_card(COVERAGE)
    assert not [b for b in python_blocks(hub_card) if "tags.json" in b]
    assert "`.<name>.sync/tags.json`" in section(hub_card, "Versions")


def test_changelog_lists_the_current_schema_version_first():
    text = section(render_card(COVERAGE), "Schema version")
    entries = re.findall(r"^- \*\*(\d+)\*\*", text, re.M)
    assert entries[0] == str(SCHEMA_VERSION) and entries == sorted(entries, reverse=True)


# -- determinism -----------------------------------------------------------------------------------


def test_rendering_is_deterministic():
    assert render_card(COVERAGE) == render_card(dataclasses.replace(COVERAGE))


def test_a_new_watermark_or_other_data_changes_the_card():
    card = render_card(COVERAGE)
    assert render_card(dataclasses.replace(COVERAGE, watermark=dt.date(2024, 4, 3))) != card
    assert render_card(dataclasses.replace(COVERAGE, fingerprint="fedcba9876543210")) != card
    assert render_card(COVERAGE, "someone/else") != card


# -- the qfq/hfq snippet ---------------------------------------------------------------------------


def test_adjustment_snippet_computes_qfq_and_hfq_across_an_ex_dividend_day():
    """600000.SH goes ex-dividend on 2024-04-01 (adj_factor 1.0 → 1.1); a second code keeps factor 2.0."""
    blocks = python_blocks(section(render_card(COVERAGE), "Adjusted prices"))
    assert blocks, "the adjustment section must hold a python snippet"
    days = [dt.date(2024, 3, 28), dt.date(2024, 3, 29), dt.date(2024, 4, 1), dt.date(2024, 4, 2)]
    a = {"close": [10.0, 10.2, 9.5, 9.6], "adj_factor": [1.0, 1.0, 1.1, 1.1]}
    b = {"close": [5.0, 5.0, 5.0, 5.0], "adj_factor": [2.0, 2.0, 2.0, 2.0]}
    records = []
    for i, day in enumerate(days):  # sorted by (date, code), as the default config loads
        for code, series in (("000001.SZ", b), ("600000.SH", a)):
            close = series["close"][i]
            records.append(
                {
                    "code": code,
                    "date": day,
                    "open": close,
                    "high": close,
                    "low": close,
                    "close": close,
                    "adj_factor": series["adj_factor"][i],
                }
            )
    prices = pd.DataFrame(records)
    namespace = {"prices": prices, "pd": pd}
    [block] = blocks
    exec(block.split(ADJUSTING, 1)[1], namespace)  # noqa: S102 - the card's own snippet is what is under test

    got = namespace["prices"].set_index(["code", "date"])
    a_rows = got.loc["600000.SH"]
    assert list(a_rows["hfq_close"]) == pytest.approx([10.0, 10.2, 10.45, 10.56])
    assert list(a_rows["qfq_close"]) == pytest.approx([10.0 / 1.1, 10.2 / 1.1, 9.5, 9.6])
    assert list(a_rows["qfq_open"]) == pytest.approx(list(a_rows["qfq_close"]))
    b_rows = got.loc["000001.SZ"]
    assert list(b_rows["hfq_close"]) == pytest.approx([10.0] * 4)
    assert list(b_rows["qfq_close"]) == pytest.approx([5.0] * 4)


# -- every config loads ----------------------------------------------------------------------------

DAYS = (dt.date(2024, 3, 29), dt.date(2024, 4, 1), dt.date(2024, 4, 2))


def price_rows(through: dt.date = DAYS[-1]) -> pa.Table:
    """Two stocks over three trading days across a month boundary; one suspended day."""
    rows = []
    for day in (d for d in DAYS if d <= through):
        for code, name in (("600000.SH", "浦发银行"), ("600004.SH", "白云机场")):
            paused = code == "600004.SH" and day == dt.date(2024, 4, 1)
            row = {field.name: None for field in PRICE_SCHEMA}
            row.update(
                code=code,
                date=day,
                open=10.0,
                high=10.0,
                low=10.0,
                close=10.0,
                prev_close=10.0,
                quote_rate=0.0,
                volume=0.0 if paused else 1000.0,
                turnover=0.0 if paused else 1000.0,
                name=name,
                market="主板",
                exchange="SSE",
                list_date=dt.date(1999, 11, 10),
                adj_factor=1.0,
                avg_price=None if paused else 10.0,
                is_st=False,
                is_paused=paused,
            )
            rows.append(row)
    return pa.Table.from_pylist(rows, schema=PRICE_SCHEMA)


def meta_tables() -> dict[str, pa.Table]:
    day = dt.date(2024, 4, 2)
    return {
        STOCKS_PATH: pa.Table.from_pylist(
            [
                {
                    "code": "600000.SH",
                    "symbol": "600000",
                    "name": "浦发银行",
                    "market": "主板",
                    "exchange": "SSE",
                    "list_status": "L",
                    "list_date": dt.date(1999, 11, 10),
                },
                {
                    "code": "600004.SH",
                    "symbol": "600004",
                    "name": "白云机场",
                    "market": "主板",
                    "exchange": "SSE",
                    "list_status": "L",
                    "list_date": dt.date(2003, 4, 28),
                },
            ],
            schema=STOCKS_SCHEMA,
        ),
        CALENDAR_PATH: pa.Table.from_pylist(
            [
                {"date": dt.date(2024, 3, 30), "is_open": False, "prev_trade_date": dt.date(2024, 3, 29)},
                {"date": day, "is_open": True, "prev_trade_date": dt.date(2024, 4, 1)},
            ],
            schema=CALENDAR_SCHEMA,
        ),
        DAYS_PATH: pa.Table.from_pylist(
            [
                {
                    "date": day,
                    "status": "complete",
                    "rows": 2,
                    "paused": 0,
                    "coverage_daily": 1.0,
                    "coverage_daily_basic": 1.0,
                    "coverage_stk_limit": 1.0,
                    "coverage_adj_factor": 1.0,
                },
                {
                    "date": dt.date(2024, 4, 1),
                    "status": "partial",
                    "rows": 2,
                    "paused": 1,
                    "coverage_daily": 0.5,
                    "coverage_daily_basic": None,
                    "coverage_stk_limit": 1.0,
                    "coverage_adj_factor": 1.0,
                },
            ],
            schema=DAYS_SCHEMA,
        ),
        RUNS_PATH: pa.Table.from_pylist(
            [
                {
                    "run_id": "r1",
                    "trigger": "cli",
                    "kind": "full",
                    "started_at": dt.datetime(2024, 4, 2, 13, tzinfo=UTC),
                    "finished_at": dt.datetime(2024, 4, 2, 13, 5, tzinfo=UTC),
                    "status": "success",
                    "days_added": 3,
                    "rows_added": 6,
                    "rows_changed": 0,
                    "api_calls": json.dumps({"daily": 3}),
                    "commit": None,
                    "message": "full: data through 2024-04-02",
                    "watermark_before": None,
                    "watermark_after": day,
                    "tag": "20240402",
                    "files_changed": ["data/2024/2024-03.parquet", "data/2024/2024-04.parquet"],
                }
            ],
            schema=RUNS_SCHEMA,
        ),
        CHANGES_PATH: pa.Table.from_pylist(
            [
                {
                    "code": "600000.SH",
                    "date": dt.date(2024, 4, 1),
                    "column": "adj_factor",
                    "old_value": 1.0,
                    "new_value": 1.1,
                    "run_id": "r1",
                },
                {
                    "code": "600004.SH",
                    "date": dt.date(2024, 4, 1),
                    "column": "name",
                    "old_text": "白云机场",
                    "new_text": "ST白云",
                    "run_id": "r1",
                },
            ],
            schema=CHANGES_SCHEMA,
        ),
    }


def build_folder(root: Path, empty: tuple[str, ...] = (), through: dt.date = DAYS[-1]) -> tuple[Path, pa.Table]:
    """A published dataset folder: monthly shards, the meta tables (those named in `empty` with no
    rows) and the rendered card."""
    root.mkdir(parents=True)
    prices = price_rows(through)
    sizes = 0
    frame = prices.to_pandas()
    for path in sorted({shard_path(d) for d in frame["date"]}):
        month = prices.filter(
            pa.compute.equal(
                pa.compute.strftime(prices["date"], "%Y-%m"), path[-len("YYYY-MM.parquet") : -len(".parquet")]
            )
        )
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(month, root / path)
        sizes += (root / path).stat().st_size
    months = {(d.year, d.month) for d in prices.column("date").to_pylist()}
    for path, held in by_code.layout(months, through.year).items():
        rows = prices.filter(pa.array([(d.year, d.month) in held for d in prices.column("date").to_pylist()]))
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(by_code.to_parquet(by_code.order(rows)))
    for name, (path, table) in zip(META, meta_tables().items()):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.schema.empty_table() if name in empty else table, root / path)
    coverage = dataclasses.replace(
        COVERAGE,
        rows=prices.num_rows,
        data_bytes=sizes,
        empty_tables=empty,
        watermark=through,
        trading_days=len([d for d in DAYS if d <= through]),
    )
    (root / "README.md").write_text(render_card(coverage), encoding="utf-8")
    return root, prices


@pytest.fixture
def folder(tmp_path) -> tuple[Path, pa.Table]:
    return build_folder(tmp_path / "a-share-prices")


def test_every_config_loads_from_a_folder(hf_home, folder):
    import datasets

    root, prices = folder
    default = datasets.load_dataset(str(root), split="train")
    assert default.column_names == PRICE_SCHEMA.names
    table = default.to_pandas()
    assert list(zip(table["date"], table["code"])) == sorted(zip(table["date"], table["code"]))
    assert len(table) == prices.num_rows
    for (name, _path), expected in zip(META.items(), meta_tables().values()):
        loaded = datasets.load_dataset(str(root), name, split="train")
        assert loaded.column_names == expected.schema.names, name
        assert loaded.num_rows == expected.num_rows, name


def test_an_empty_meta_table_is_published_but_not_listed_as_a_config(hf_home, tmp_path):
    """Before the first restatement `changes` has no rows; every config the card lists still loads."""
    import datasets

    root, _ = build_folder(tmp_path / "a-share-prices", empty=("changes",))
    card = (root / "README.md").read_text(encoding="utf-8")
    names = [c["config_name"] for c in front_matter(card)["configs"]]
    assert names == ["default", "by_code", "stocks", "calendar", "days", "runs"]
    assert "| `changes`\\* | `meta/changes.parquet` |" in card and "No rows yet" in card
    for name in names:
        assert datasets.load_dataset(str(root), name, split="train").num_rows > 0
    assert pd.read_parquet(root / CHANGES_PATH).columns.tolist() == CHANGES_SCHEMA.names


def test_datasets_cannot_load_an_empty_table(hf_home, tmp_path):
    """Why empty meta tables are left out of `configs:` (datasets 5.2); drop that rule once this fails."""
    import datasets

    (tmp_path / "meta").mkdir()
    pq.write_table(CHANGES_SCHEMA.empty_table(), tmp_path / CHANGES_PATH)
    (tmp_path / "README.md").write_text(
        "---\nconfigs:\n- config_name: changes\n  data_files:\n  - split: train\n    path: meta/changes.parquet\n---\n"
    )
    # a row group of 0 rows: "BatchSize must be greater than 0"; no row group: "corresponds to no data"
    with pytest.raises((datasets.exceptions.DatasetGenerationError, ValueError)):
        datasets.load_dataset(str(tmp_path), "changes", split="train")


# -- the folder card's pinning snippet ------------------------------------------------------------


def test_local_folder_pinning_snippet_loads_the_tagged_version(hf_home, folder, monkeypatch):
    """The folder target: `.<name>.sync/tags.json` maps the tag to a version folder beside the target."""
    import datasets

    root, prices = folder
    version = "0" * 40
    store = root.parent / f".{root.name}.sync"
    shutil.copytree(root, store / "versions" / version)
    (store / "tags.json").write_text(json.dumps({"20240402": version}))
    card = render_card(COVERAGE, folder=root.name)
    blocks = python_blocks(section(card, "Versions and tags"))
    assert len(blocks) == 1
    monkeypatch.chdir(root.parent)
    namespace: dict = {"load_dataset": datasets.load_dataset}
    exec(blocks[0], namespace)  # noqa: S102
    assert namespace["pinned"].num_rows == prices.num_rows


# -- on the test Hub -------------------------------------------------------------------------------


def publish(api, root: Path, tag: str) -> str:
    """One commit of the whole folder on main, tagged like the sync tags it; returns the commit sha."""
    from huggingface_hub import CommitOperationAdd

    operations = [
        CommitOperationAdd(path.relative_to(root).as_posix(), str(path))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    ]
    sha = api.create_commit(REPO_ID, operations, commit_message=tag, repo_type="dataset").oid
    api.create_tag(REPO_ID, repo_type="dataset", tag=tag, revision=sha)
    return sha


def test_on_the_hub_every_config_loads_and_a_tag_pins_the_older_table(hub_server, tmp_path):
    import datasets
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(REPO_ID, repo_type="dataset")
    older, _ = build_folder(tmp_path / "older" / "a-share-prices", through=DAYS[1])
    newer, prices = build_folder(tmp_path / "newer" / "a-share-prices")
    publish(api, older, "20240401")
    publish(api, newer, "20240402")

    assert datasets.load_dataset(REPO_ID, split="train").num_rows == prices.num_rows
    for (name, _), expected in zip(META.items(), meta_tables().values()):
        assert datasets.load_dataset(REPO_ID, name, split="train").num_rows == expected.num_rows, name
    pinned = datasets.load_dataset(REPO_ID, split="train", revision="20240401").to_pandas()
    assert pinned["date"].max() == DAYS[1] and len(pinned) == 4


def test_on_the_hub_the_pandas_snippet_runs_as_printed(hub_server, tmp_path):
    """No path rewriting: `hf://datasets/<repo>` and `@<tag>` go through huggingface_hub to the test Hub."""
    pytest.importorskip("pandas")
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(REPO_ID, repo_type="dataset")
    root, prices = build_folder(tmp_path / "a-share-prices")
    publish(api, root, "20240402")
    card = (root / "README.md").read_text(encoding="utf-8")
    [snippet] = [b for b in python_blocks(section(card, "Loading")) if "import pandas" in b]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102
    assert len(namespace["one_stock"]) == 3 and set(namespace["one_stock"]["code"]) == {"600000.SH"}
    assert len(namespace["pinned"]) == len(namespace["month"]) == 4
