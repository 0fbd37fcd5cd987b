"""Whose paths are whose: the old pipeline's layout, the project's own paths, foreign files."""

from __future__ import annotations

import pytest

from dataset_script.schema import foreign_files, is_legacy_layout, is_own_path, maintainer_files

REAL_OLD_REPO = ["all-prices.csv", "calendar.csv", "README.md", ".last_update_date", ".gitattributes", "img/k.png"]


def test_all_prices_csv_without_a_state_is_legacy_whatever_is_beside_it():
    assert is_legacy_layout(["all-prices.csv"])
    assert is_legacy_layout(REAL_OLD_REPO)
    assert not is_legacy_layout([*REAL_OLD_REPO, ".sync/state.json"])
    assert not is_legacy_layout(["calendar.csv", "README.md"])


def test_a_migration_keeps_the_maintainer_s_files_and_takes_calendar_csv_over():
    assert maintainer_files(REAL_OLD_REPO) == ["img/k.png"]
    assert maintainer_files([*REAL_OLD_REPO, "notes/a.md", ".github/workflows/x.yml"]) == [
        ".github/workflows/x.yml",
        "img/k.png",
        "notes/a.md",
    ]


@pytest.mark.parametrize(
    "path, own",
    [
        ("data/2024/2024-01.parquet", True),
        ("meta/calendar.parquet", True),
        (".sync/state.json", True),
        ("by_code/2024.parquet", True),
        ("index/prices.parquet", True),
        ("README.md", True),
        (".last_update_date", True),
        (".gitattributes", True),
        ("calendar.csv", False),
        ("all-prices.csv", False),
        ("img/k.png", False),
        ("database/x", False),
    ],
)
def test_the_project_s_own_paths(path, own):
    assert is_own_path(path) is own


def test_calendar_csv_is_own_only_where_the_repo_owns_it():
    assert is_own_path("calendar.csv", calendar_csv=True) and not is_own_path("calendar.csv")


def test_foreign_files_are_all_but_the_card_gitattributes_and_dot_paths():
    files = [
        "README.md",
        ".gitattributes",
        ".last_update_date",
        ".cache/huggingface/x",
        "a/.hidden/b",
        "x.png",
        "data/1",
    ]
    assert foreign_files(files) == ["data/1", "x.png"]
