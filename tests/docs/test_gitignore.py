"""The repository's .gitignore covers what running the project leaves in a checkout: the demo's
`dataset` (a symlink into `.dataset.sync/`, which git sees as a file, not a folder) and its store."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support import ROOT


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_demo_dataset_symlink_and_its_store_are_ignored(tmp_path):
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    version = tmp_path / ".dataset.sync" / "versions" / ("0" * 40)
    version.mkdir(parents=True)
    (version / "README.md").write_text("card")
    (tmp_path / "dataset").symlink_to(f".dataset.sync/versions/{'0' * 40}")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert status == ["?? .gitignore"]
