"""Tag YYYYMMDD is created once, on the first commit complete through that day, and never moves:
a restatement published later with the same watermark gets no date tag."""

from __future__ import annotations

import datetime as dt

import pytest

from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.simulated import MarketSpec, SyntheticMarket
from sync.targets import open_repo
from tests.serving import at, rows_of, served

START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
REPO_ID = "someone/prices"


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=25, seed=4))


def restate_last_day(server, market, repo) -> tuple[str, dt.date]:
    rows = rows_of(repo)
    day = END
    code = rows.loc[(rows["date"] == day) & ~rows["is_paused"], "code"].iloc[0]
    server.restate("adj_factor", code, day.strftime("%Y%m%d"), adj_factor=99.5)
    return code, day


@pytest.mark.parametrize("kind", ["folder", "hub"])
def test_a_restatement_leaves_the_date_tag_where_it_was(kind, tmp_path, hub_server, market):
    repo = open_repo(str(tmp_path / "dataset") if kind == "folder" else f"hf://datasets/{REPO_ID}")

    def tags() -> dict[str, str]:
        return repo.tags() if kind == "folder" else hub_server.tags(REPO_ID)

    with served(market, at(END)) as (server, source):
        run_full(repo, source, Settings(), at(END), end=dt.date(2024, 2, 27))
        run_delta(repo, source, Settings(), at(END))
        first = repo.head()
        assert tags()["20240229"] == first
        code, day = restate_last_day(server, market, repo)
        restated = run_delta(repo, source, Settings(), at(END))
    assert restated.published and restated.watermark == day
    assert repo.head() != first
    assert tags()["20240229"] == first, "the tag names the first commit complete through its day"
    assert tags()["20240227"] != repo.head()
    assert set(tags()) == {"20240227", "20240229"}
    rows = rows_of(repo)
    assert rows.loc[(rows["code"] == code) & (rows["date"] == day), "adj_factor"].tolist() == [99.5]


def test_a_full_rebuild_with_the_same_watermark_gets_no_date_tag(tmp_path, market):
    repo = open_repo(str(tmp_path / "dataset"))
    with served(market, at(END)) as (server, source):
        run_full(repo, source, Settings(), at(END))
        first = repo.head()
        restate_last_day(server, market, repo)
        again = run_full(repo, source, Settings(), at(END))
    assert again.published and repo.head() != first
    assert repo.tags() == {"20240229": first}
