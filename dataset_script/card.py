"""The dataset card (README.md): YAML `configs:` that give the date-sorted unified view, plus docs.

`datasets` 4+ no longer runs loading scripts, so the card's configs are what make
`load_dataset("ellendan/a-share-prices")` return one table: the default config globs the monthly
shards, whose names sort chronologically and whose rows are sorted by (date, code).
The card depends only on the data it describes (no clock), so re-publishing the same data yields
the same bytes and no commit; and it changes whenever any row changes (the content fingerprint),
which is what invalidates `datasets`' cache of a local folder, keyed by its card.
The body text (Chinese and English) lives in `dataset_script.card_sections`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import yaml

from dataset_script import card_indexes, card_sections
from dataset_script.card_facts import Coverage
from dataset_script.schema import (
    BY_CODE_GLOBS,
    CALENDAR_PATH,
    CHANGES_PATH,
    DATA_GLOB,
    DAYS_PATH,
    REPO_ID,
    RUNS_PATH,
    STOCKS_PATH,
)

# Data from Tushare Pro is redistributed under Tushare's terms, not an open licence: `other`, with
# a name and a link, and the card's licence section says what that means for users.
META_CONFIGS = {
    "stocks": STOCKS_PATH,
    "calendar": CALENDAR_PATH,
    "days": DAYS_PATH,
    "runs": RUNS_PATH,
    "changes": CHANGES_PATH,
}

LICENSE = {"license": "other", "license_name": "tushare-pro-terms", "license_link": "https://tushare.pro"}


def card_configs(empty_tables: Collection[str] = (), index_rows: tuple[int, int] = (0, 0)) -> list[dict]:
    """YAML `configs:`; the default config never mixes the meta tables in; empty meta tables are left
    out, and so are the index configs without rows (SYNC_INDEXES empty, or not fetched yet)."""

    def single(name: str, path: str, default: bool = False) -> dict:
        config = {"config_name": name, "data_files": [{"split": "train", "path": path}]}
        return {**config, "default": True} if default else config

    by_code = {"config_name": "by_code", "data_files": [{"split": "train", "path": list(BY_CODE_GLOBS)}]}
    return (
        [single("default", DATA_GLOB, default=True), by_code]
        + [single(name, path) for name, path in META_CONFIGS.items() if name not in empty_tables]
        + [single(name, path) for (name, path), rows in zip(card_indexes.CONFIGS.items(), index_rows) if rows]
    )


def card_metadata(coverage: Coverage) -> dict:
    """The YAML front matter as data."""
    return {
        "pretty_name": "A-share daily prices (A股日线行情)",
        **LICENSE,
        "language": ["zh", "en"],
        "tags": ["finance", "stocks", "china", "a-shares", "time-series", "tushare"],
        "task_categories": ["time-series-forecasting", "tabular-regression"],
        "size_categories": [_size_category(coverage.rows)],
        "configs": card_configs(coverage.empty_tables, coverage.index_rows),
        # Exact facts about the default config. `datasets` keys its cache of a local folder on
        # these (not on file times), so they must change when the data does; this card is rewritten
        # in the same commit as the shards. Note: datasets 5.2 reads `splits` only when each split
        # also has `num_bytes` (it warns "Ignoring part of dataset_info" otherwise); it verifies
        # num_examples only, so num_bytes is the shards' Arrow size in memory, a close estimate.
        "dataset_info": [
            {
                "config_name": "default",
                "download_size": coverage.data_bytes,
                "splits": [{"name": "train", "num_bytes": coverage.memory_bytes, "num_examples": coverage.rows}],
            }
        ],
    }


# Front-matter keys computed from the data on every publish. Every other key (license, language,
# tags, pretty_name, ...) is the maintainer's once the card exists: an edit on the Hub is kept.
OWNED_KEYS = ("configs", "dataset_info", "size_categories")


def front_matter(card: bytes | str | None) -> dict:
    """The YAML front matter of an existing card as data; {} when there is none or it is unreadable."""
    text = card.decode("utf-8", "replace") if isinstance(card, bytes) else (card or "")
    if not text.startswith("---"):
        return {}
    parts = text.split("---", 2)
    try:
        data = yaml.safe_load(parts[1]) if len(parts) == 3 else None
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def merged_metadata(coverage: Coverage, kept: Mapping | None = None) -> dict:
    """The generated front matter, with the existing card's keys that the generator does not own;
    no `license_name`/`license_link` beside a license of the maintainer's other than `other`.

    >>> merged_metadata(Coverage(dt.date(2024, 1, 2), dt.date(2024, 1, 2), 1, 1, 1, ("主板",), "f", 1),
    ...                 {"license": "cc-by-4.0", "configs": []})["license"]
    'cc-by-4.0'
    """
    generated = card_metadata(coverage)
    theirs = {k: v for k, v in (kept or {}).items() if k not in OWNED_KEYS}
    merged = {k: theirs.get(k, v) for k, v in generated.items()}
    merged.update((k, v) for k, v in theirs.items() if k not in merged)
    if merged.get("license") != "other":  # the Hub reads license_name/link only with `license: other`
        merged = {k: v for k, v in merged.items() if k not in ("license_name", "license_link")}
    return merged


def render_card(
    coverage: Coverage, repo_id: str = REPO_ID, kept: Mapping | None = None, folder: str | None = None
) -> str:
    """README.md text for the dataset repo: a pure function of `coverage`, `repo_id`, the front
    matter `kept` from the card it replaces (see `merged_metadata`) and, for a local folder target,
    the folder's name (its card then also shows how to load a tagged version from the folder).

    Every ```python block of a card published to the Hub runs on its own against the Hub it is on
    (tests/dataset_script/test_card_snippets.py): keep new recipes self-contained."""
    front = yaml.safe_dump(merged_metadata(coverage, kept), allow_unicode=True, sort_keys=False)
    loadable = [c["config_name"] for c in card_configs(coverage.empty_tables)]
    sections = [
        card_sections.intro(coverage),
        card_sections.freshness(coverage, repo_id),
        card_sections.loading(coverage, repo_id, [name for name in loadable if name not in ("default", "stocks")]),
        card_sections.files(coverage.empty_tables),
        card_sections.columns(),
        card_sections.rows(),
        card_sections.meta_tables(),
        card_indexes.section(coverage, repo_id),
        card_sections.adjustment(coverage, repo_id),
        card_sections.versions(coverage, repo_id, folder),
        card_sections.changes_since(coverage, repo_id),
        card_sections.changelog(coverage.schema_version),
        card_sections.migration(repo_id),
        card_sections.licence(),
    ]
    return f"---\n{front}---\n\n" + "\n".join(sections)


def _size_category(rows: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
    ):
        if rows < limit:
            return label
    return "100M<n<1B"
