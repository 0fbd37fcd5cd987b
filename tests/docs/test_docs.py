"""The README and docs/ stand on their own: every relative link, every repo path they name in
backticks, and every `docs/<page>.md#anchor` cited from a code comment resolves inside this
repository. Anchors follow GitHub's rule: a heading lowercased, punctuation dropped, spaces as
hyphens; an explicit `<a id="...">` counts too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

PAGES = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")])
CODE = sorted(
    p for top in ("sync", "space_app", "dataset_script", "tests", "benchmarks") for p in (ROOT / top).rglob("*.py")
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"`((?:sync|space_app|dataset_script|tests|benchmarks|docs)/[\w./-]*\.(?:py|md))`")
DOC_CITE = re.compile(r"\bdocs/([\w-]+\.md)(#[\w-]+)?")
OUTSIDE = re.compile(r"DESIGN\.md|shared/reference|\.\./shared|/work/")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: `## Row caps and paging` -> `row-caps-and-paging`."""
    text = re.sub(r"[`*]|<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    found = {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, flags=re.M)}
    return found | set(re.findall(r"<a id=\"([^\"]+)\"", text))


def broken_target(source: Path, target: str) -> str | None:
    """None when `target` (a path relative to `source`, maybe with #anchor) exists, else why not."""
    path_part, _, anchor = target.partition("#")
    page = (source.parent / path_part).resolve() if path_part else source
    if not page.exists():
        return f"{target}: no file {page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}"
    if anchor and page.suffix == ".md" and anchor not in anchors(page):
        return f"{target}: no heading #{anchor} in {page.relative_to(ROOT)}"
    return None


def test_the_docs_pages_exist():
    assert {p.name for p in (ROOT / "docs").glob("*.md")} >= {
        "operations.md",
        "reliability.md",
        "freshness.md",
        "architecture.md",
        "tushare.md",
        "hub.md",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]
    assert [b for t in targets if (b := broken_target(page, t))] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repo_path_named_exists(page):
    named = set(REPO_PATH.findall(page.read_text(encoding="utf-8")))
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_points_outside_the_repository(page):
    assert OUTSIDE.findall(page.read_text(encoding="utf-8")) == []


def test_every_docs_citation_in_the_code_resolves():
    broken = []
    for path in CODE:
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        assert not OUTSIDE.search(text), f"{path.relative_to(ROOT)} points outside the repository"
        for name, anchor in set(DOC_CITE.findall(text)):
            if why := broken_target(ROOT / "docs" / "x.md", name + anchor):
                broken.append(f"{path.relative_to(ROOT)}: {why}")
    assert broken == []


def test_slug_follows_githubs_rule():
    assert slug("Row caps and paging") == "row-caps-and-paging"
    assert slug("Without a Space: cron, GitHub Actions, HF Jobs") == "without-a-space-cron-github-actions-hf-jobs"
    assert slug("`sync/core/`") == "synccore"
    assert slug("One commit, and parent_commit / 412") == "one-commit-and-parent_commit--412"
