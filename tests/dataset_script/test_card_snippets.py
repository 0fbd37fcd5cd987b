"""The card published to the Hub, read as a reader runs it: every ```python block of the generated
card, each on its own in a fresh interpreter, with only HF_ENDPOINT (the test Hub: a non-default
endpoint, as a mirror is), a fresh HF_HOME and HF_TOKEN set, and no way to reach any other host
(tests/support/snippets.py). New recipes are picked up as they are added to the card."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
import yaml

from dataset_script.schema import CARD_PATH, CHANGES_PATH, RUNS_PATH
from sync.core.config import Settings
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.simulated import MarketSpec, SyntheticMarket
from sync.targets import open_repo
from tests.support.serving import at, rows_of, table_of
from tests.support.snippets import build_guard, python_blocks, run_snippet

# A mirror serves every file from its own host. The test Hub's Xet mode, like the real Hub, sends
# plain-HTTP range reads (HfFileSystem.open: pandas, polars, DuckDB, streaming) to a storage bridge on
# another host, which a mirror's reader never reaches; so the card is read here from the inline
# (regular) storage, the mirror's view. tests/harness covers `load_dataset` on Xet-stored files.
pytestmark = pytest.mark.hub_storage("regular")

REPO_ID = "someone/a-share-mirror-test"  # any repo: the card names the repo it is published to
SETTINGS = Settings(markets=("主板",))
TOKEN = "hf_snippet_reader_token"


@pytest.fixture(scope="module")
def market():
    # 000001.SZ... codes only: no 600000.SH, like the demo market; a month boundary inside.
    return SyntheticMarket(MarketSpec(start=dt.date(2024, 1, 2), end=dt.date(2024, 2, 29), n_stocks=30, seed=5))


@pytest.fixture(scope="module")
def guard(tmp_path_factory):
    return build_guard(tmp_path_factory.mktemp("guard"))


# Run after each snippet, unchanged: the tables a recipe names must hold rows (the example code and
# day exist in the data). `new_rows`/`corrections` may be empty: nothing changed since the newest tag.
NOT_EMPTY = """
for _name in ("prices", "stocks", "pinned", "month", "one_day", "one_stock", "days"):
    _value = globals().get(_name)
    if _value is not None and not hasattr(_value, "collect"):  # a polars LazyFrame is not counted
        assert len(_value) > 0, f"{_name} is empty"
        print(_name, len(_value))
"""


def published_card(repo) -> str:
    return repo.read(CARD_PATH, repo.head()).decode("utf-8")


def config_names(card: str) -> list[str]:
    front = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert front, "the card opens with YAML front matter"
    return [c["config_name"] for c in yaml.safe_load(front.group(1))["configs"]]


def test_the_guard_refuses_every_other_host_from_python_and_native_code(hub_server, guard, tmp_path):
    """The check is real: a connection to anything but the test Hub fails and is logged."""
    python = run_snippet(
        "import socket\nsocket.create_connection(('192.0.2.1', 443), timeout=5)",
        hub_server.url,
        guard,
        tmp_path / "py",
        TOKEN,
    )
    assert python.returncode != 0 and python.refused, python.describe()
    native = run_snippet(
        "import polars as pl\npl.read_parquet('http://192.0.2.1/x.parquet')",
        hub_server.url,
        guard,
        tmp_path / "rs",
        TOKEN,
    )
    assert native.returncode != 0 and native.refused, native.describe()
    for name, code in {
        "python": "import socket\nsocket.getaddrinfo('huggingface.co', 443)",
        "polars": "import polars as pl\npl.scan_parquet('hf://datasets/someone/x/data/*.parquet').collect()",
    }.items():
        lookup = run_snippet(code, hub_server.url, guard, tmp_path / f"name-{name}", TOKEN)
        assert lookup.returncode != 0 and any("name huggingface.co" in r for r in lookup.refused), lookup.describe()
    allowed = run_snippet(
        "from huggingface_hub import HfApi\nprint(HfApi().list_datasets(limit=1))",
        hub_server.url,
        guard,
        tmp_path / "ok",
        TOKEN,
    )
    assert allowed.returncode == 0 and not allowed.refused, allowed.describe()


def test_every_snippet_of_the_first_published_card_runs_through_the_endpoint_alone(
    hub_server, source, market, guard, tmp_path
):
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(market.spec.end), repo_id=REPO_ID)
    card = published_card(repo)
    blocks = python_blocks(card)
    assert len(blocks) >= 6, "the card's recipes: datasets, pandas, polars, DuckDB, days, adjusted, since a tag"
    rows = rows_of(repo)
    newest = rows[rows["date"] == rows["date"].max()]
    example = re.search(r'"code"\] == "(\d{6}\.\w\w)"', card)
    assert example and example.group(1) in set(newest["code"]), "the example code has rows on the newest day"
    assert "600000.SH" not in set(rows["code"]) and "600000.SH" not in "".join(blocks)
    priced = re.search(r"^\| stocks with price rows .*\| ([\d,]+) \|$", card, re.M)
    listed = re.search(r"^\| stocks in `stocks` .*\| ([\d,]+) \|$", card, re.M)
    assert priced and int(priced.group(1).replace(",", "")) == rows["code"].nunique()
    assert listed and int(listed.group(1).replace(",", "")) == len(table_of(repo, "meta/stocks.parquet"))
    assert len(table_of(repo, "meta/stocks.parquet")) > rows["code"].nunique(), "the market has stocks delisted before"

    failures, counted = [], []
    for i, block in enumerate(blocks):
        outcome = run_snippet(block + NOT_EMPTY, hub_server.url, guard, tmp_path / f"snippet{i}", TOKEN)
        if outcome.returncode != 0 or outcome.refused:
            failures.append(outcome.describe())
        counted += [line.split()[0] for line in outcome.stdout.splitlines() if line.split()[:1]]
    assert not failures, "\n\n".join(failures)
    assert {"one_stock", "one_day", "month", "pinned"} <= set(counted), "the checks above ran"


def test_every_config_the_first_card_names_loads(hub_server, source, market, hf_home):
    import datasets

    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(market.spec.end), repo_id=REPO_ID)
    card = published_card(repo)
    names = config_names(card)
    assert "changes" not in names, "no correction yet: the empty table is not a config"
    assert '"changes"' not in "".join(python_blocks(card)), "no recipe names a config that does not load"
    assert "the first correction" in card, "the card says when `changes` appears"
    for name in names:
        assert datasets.load_dataset(REPO_ID, name, split="train").num_rows > 0, name


def test_the_changes_since_a_tag_recipe_returns_the_new_rows_and_the_corrected_cells(
    hub_server, server, source, market, guard, tmp_path
):
    days = market.trade_dates()
    repo = open_repo(f"hf://datasets/{REPO_ID}")
    run_full(repo, source, SETTINGS, at(days[-1]), end=days[30], repo_id=REPO_ID)
    tag, tagged = f"{days[30]:%Y%m%d}", repo.head()
    before = rows_of(repo)
    traded = before[(before["date"] == days[29]) & ~before["is_paused"]]
    code, factor = traded["code"].iloc[0], float(traded["adj_factor"].iloc[0])
    server.restate("adj_factor", code, f"{days[29]:%Y%m%d}", adj_factor=factor * 2)
    run_delta(repo, source, SETTINGS, at(days[-1]), repo_id=REPO_ID)
    card = published_card(repo)
    assert "changes" in config_names(card), "the first correction makes `changes` a config"

    runs = table_of(repo, RUNS_PATH)
    last = runs.iloc[-1]
    assert (last["watermark_before"], last["watermark_after"]) == (days[30], days[-1])
    assert last["tag"] == f"{days[-1]:%Y%m%d}" and runs["tag"].iloc[0] == tag
    assert last["commit"] == tagged, "commit: the parent the run was planned on"
    assert "data/2024/2024-02.parquet" in list(last["files_changed"]) and CHANGES_PATH in list(last["files_changed"])

    [recipe] = [b for b in python_blocks(card) if "list_repo_refs" in b]
    recipe = recipe.replace(f'tag = "{REPO_ID}", "{days[-1]:%Y%m%d}"', f'tag = "{REPO_ID}", "{tag}"')
    assert f'"{tag}"' in recipe
    recipe += '\nnew_rows.to_parquet("new_rows.parquet")\ncorrections.to_parquet("corrections.parquet")\n'
    outcome = run_snippet(recipe, hub_server.url, guard, tmp_path / "since", TOKEN)
    assert outcome.returncode == 0 and not outcome.refused, outcome.describe()

    after = rows_of(repo)
    expected = after.merge(before[["code", "date"]], on=["code", "date"], how="left", indicator=True)
    expected = expected[expected["_merge"] == "left_only"]
    got = pd.read_parquet(tmp_path / "since" / "new_rows.parquet")
    want = sorted(zip(expected["code"], pd.to_datetime(expected["date"])))
    assert len(want) > 0 and sorted(zip(got["code"], got["date"])) == want
    corrections = pd.read_parquet(tmp_path / "since" / "corrections.parquet")
    factor_rows = corrections[corrections["column"] == "adj_factor"]
    assert list(zip(factor_rows["code"], factor_rows["date"])) == [(code, pd.Timestamp(days[29]))]
    assert factor_rows["old_value"].iloc[0] == factor and factor_rows["new_value"].iloc[0] == factor * 2
    assert set(corrections["run_id"]) == {last["run_id"]}
