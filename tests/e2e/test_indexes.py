"""Index universes end to end: synthetic market → our Tushare server → engine → a folder and the test Hub,
checked against what the market serves, computed here from the market's own tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pandas as pd
import pytest

from dataset_script.schema import DAYS_PATH, INDEX_PRICES_PATH
from sync.core.config import Settings
from sync.core.errors import ConfigError
from sync.engine.delta import run_delta
from sync.engine.full import run_full
from sync.fetch import indexes as fetching
from sync.fetch.source import Source
from sync.publish.verify import verify_repo
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.tables.shards import from_parquet
from sync.targets import open_repo
from sync.tushare.client import TushareClient
from tests.support.serving import TOKEN, at

# Crosses the end of the daily snapshots (2011-09-02) into the monthly ones.
START, END = dt.date(2011, 7, 1), dt.date(2011, 11, 30)
FIRST_END = dt.date(2011, 10, 31)
HOLE = ("000905.SH", dt.date(2011, 8, 10))
CODES = ("000001.SH", "399001.SZ", "000300.SH", "000905.SH")
WEIGHT_CAP = 300  # the cap knob: index_weight cuts at 300 rows here, so windows must be small
SETTINGS = Settings(markets=("主板",), indexes=CODES)
DENIED = ("index_basic", "index_daily", "index_weight")


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(START, END, n_stocks=150, seed=5, index_holes=(HOLE,)))


@pytest.fixture
def server(market):
    with TushareServer(
        market, tokens=(TOKEN,), clock=lambda: at(FIRST_END), row_caps={"index_weight": WEIGHT_CAP}
    ) as running:
        yield running


def _source(server: TushareServer, market: SyntheticMarket) -> Source:
    client = TushareClient(
        TOKEN,
        server.url,
        rate_per_min=1_000_000,
        rate_overrides={},
        sleep=lambda s: None,
        row_caps={"index_weight": WEIGHT_CAP},
    )
    return Source(client, "test market", market.spec.start)


@pytest.fixture
def source(server, market):
    made = _source(server, market)
    with made.client:
        yield made


# -- what the market serves, computed here ---------------------------------------------------------


def served_weights(market: SyntheticMarket, codes, on: dt.date, first: dt.date) -> pd.DataFrame:
    """Every snapshot published by `on`, dated from `first`; 000300.SH's older ones under 399300.SZ."""
    table = market.table("index_weight")
    table = table[(table["published"] <= on) & (table["trade_date"] >= first.strftime("%Y%m%d"))]
    parts = [table[table["index_code"] == code] for code in codes]
    if "000300.SH" in codes:
        own = set(table.loc[table["index_code"] == "000300.SH", "trade_date"])
        alias = table[(table["index_code"] == "399300.SZ") & (table["trade_date"] < "20200331")]
        parts.append(alias[~alias["trade_date"].isin(own)].assign(index_code="000300.SH"))
    frame = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(
        {
            "index_code": frame["index_code"],
            "date": pd.to_datetime(frame["trade_date"]),
            "code": frame["con_code"],
            "weight": frame["weight"].astype(float),
        }
    ).sort_values(["date", "index_code", "code"], ignore_index=True)


def served_bars(market: SyntheticMarket, codes, through: dt.date) -> pd.DataFrame:
    table = market.table("index_daily")
    table = table[table["ts_code"].isin(codes) & (table["trade_date"] <= through.strftime("%Y%m%d"))]
    names = dict(zip(market.table("index_basic")["ts_code"], market.table("index_basic")["name"]))
    return pd.DataFrame(
        {
            "code": table["ts_code"],
            "date": pd.to_datetime(table["trade_date"]),
            "name": table["ts_code"].map(names),
            "close": table["close"],
            "prev_close": table["pre_close"],
            "volume": table["vol"],
        }
    ).sort_values(["date", "code"], ignore_index=True)


def published_weights(repo) -> pd.DataFrame:
    head = repo.head()
    files = sorted(p for p in repo.list_files(head) if p.startswith("index/weights/"))
    frame = pd.concat([from_parquet(repo.read(p, head)).to_pandas() for p in files], ignore_index=True)
    return frame.assign(date=pd.to_datetime(frame["date"]))


def published_table(repo, path: str) -> pd.DataFrame:
    frame = from_parquet(repo.read(path, repo.head())).to_pandas()
    return frame.assign(date=pd.to_datetime(frame["date"]))


# -- the tests -------------------------------------------------------------------------------------


def test_index_tables_equal_what_the_market_serves_every_snapshot_whole_despite_the_cut(tmp_path, source, market):
    repo = open_repo(str(tmp_path / "dataset"))
    result = run_full(repo, source, SETTINGS, at(FIRST_END))
    assert result.published
    weights = published_weights(repo)
    expected = served_weights(market, CODES, FIRST_END, START)
    assert expected.groupby(["index_code", "date"]).size().max() < WEIGHT_CAP < len(expected)
    pd.testing.assert_frame_equal(weights, expected, check_dtype=False)
    bars = published_table(repo, INDEX_PRICES_PATH)
    want = served_bars(market, CODES, FIRST_END)
    pd.testing.assert_frame_equal(bars[want.columns.tolist()], want, check_dtype=False)
    assert verify_repo(repo) == []


def test_a_reply_at_the_cap_is_split_and_asked_again(source, market):
    days = [d for d in market.trade_dates() if d <= dt.date(2011, 8, 31)]
    frame, splits = fetching._whole_window(source, "000001.SH", days, WEIGHT_CAP)
    served = market.table("index_weight")
    served = served[(served["index_code"] == "000001.SH") & (served["trade_date"] <= "20110831")]
    assert splits > 0
    assert sorted(zip(frame["con_code"], frame["trade_date"].dt.strftime("%Y%m%d"))) == sorted(
        zip(served["con_code"], served["trade_date"])
    )


def test_a_source_hole_is_reported_in_index_missing_and_published_around(tmp_path, source):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(FIRST_END))
    days = published_table(repo, DAYS_PATH).set_index("date")
    code, day = HOLE
    assert list(days.loc[pd.Timestamp(day), "index_missing"]) == [code]
    assert days.loc[pd.Timestamp(day), "status"] == "complete"
    others = days.drop(pd.Timestamp(day))
    assert all(len(m) == 0 for m in others["index_missing"])
    bars = published_table(repo, INDEX_PRICES_PATH)
    on_day = set(bars.loc[bars["date"] == pd.Timestamp(day), "code"])
    assert on_day == set(CODES) - {code}


def test_a_late_snapshot_is_picked_up_by_a_later_delta_and_logged(tmp_path, server, source, market):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(FIRST_END))
    before = published_weights(repo)
    server.set_clock(lambda: at(END))
    result = run_delta(repo, source, SETTINGS, at(END))
    assert result.published
    after = published_weights(repo)
    pd.testing.assert_frame_equal(after, served_weights(market, CODES, END, START), check_dtype=False)
    late = set(map(tuple, after[["index_code", "date"]].drop_duplicates().to_numpy())) - set(
        map(tuple, before[["index_code", "date"]].drop_duplicates().to_numpy())
    )
    late = {(c, d) for c, d in late if d <= pd.Timestamp(FIRST_END)}
    assert late, "the market should publish a snapshot dated before the first run's end after it"
    changes = published_table(repo, "meta/changes.parquet")
    logged = set(map(tuple, changes.loc[changes["column"] == "index_weights", ["code", "date"]].to_numpy()))
    assert logged == late
    notes = changes.loc[changes["column"] == "index_weights", "new_text"]
    assert notes.str.endswith("published late").all(), "a late snapshot is logged as text, not as a number"


def test_an_unknown_index_code_is_a_configuration_error_before_anything_is_published(tmp_path, source):
    repo = open_repo(str(tmp_path / "dataset"))
    with pytest.raises(ConfigError, match="999999.SH"):
        run_full(repo, source, dataclasses.replace(SETTINGS, indexes=("000300.SH", "999999.SH")), at(FIRST_END))
    assert repo.head() is None


def test_a_token_without_the_points_for_indexes_publishes_the_stock_table_and_says_why(tmp_path, market):
    repo = open_repo(str(tmp_path / "dataset"))
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(FIRST_END), denied=DENIED) as server:
        source = _source(server, market)
        with source.client:
            result = run_full(repo, source, SETTINGS, at(FIRST_END))
    assert result.published
    files = repo.list_files(repo.head())
    assert any(f.startswith("data/") for f in files) and not any(f.startswith("index/") for f in files)
    runs = from_parquet(repo.read("meta/runs.parquet", repo.head())).to_pandas()
    assert re.search(r"indexes skipped: .*points", runs["message"].iloc[-1])


def test_a_repo_published_before_indexes_gets_their_history_and_a_removed_code_is_dropped(
    tmp_path, server, source, market
):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, dataclasses.replace(SETTINGS, indexes=()), at(FIRST_END), end=dt.date(2011, 10, 28))
    assert not any(f.startswith("index/") for f in repo.list_files(repo.head()))
    assert "index_prices" not in repo.read("README.md", repo.head()).decode()  # SYNC_INDEXES="": neither config
    run_delta(repo, source, SETTINGS, at(FIRST_END))
    assert "config_name: index_weights" in repo.read("README.md", repo.head()).decode()
    pd.testing.assert_frame_equal(
        published_weights(repo), served_weights(market, CODES, FIRST_END, START), check_dtype=False
    )
    fewer = ("000300.SH",)
    server.set_clock(lambda: at(END))
    run_delta(repo, source, dataclasses.replace(SETTINGS, indexes=fewer), at(END))
    assert set(published_table(repo, INDEX_PRICES_PATH)["code"]) == set(fewer)
    pd.testing.assert_frame_equal(published_weights(repo), served_weights(market, fewer, END, START), check_dtype=False)


# -- consumers: load_dataset on a folder and on the test Hub, the card's recipe ----------------------


def _recipe(card: str, day: dt.date) -> str:
    section = card.split("## Index universes", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, re.S)
    return re.sub(r'pd\.Timestamp\("\d{4}-\d{2}-\d{2}"\)', f'pd.Timestamp("{day.isoformat()}")', block)


@pytest.mark.parametrize("where", ["folder", "hub"])
def test_load_dataset_gives_both_index_configs(where, tmp_path, source, request):
    import datasets

    if where == "hub":
        request.getfixturevalue("hub_server")
        target = "hf://datasets/ellendan/a-share-prices"
    else:
        target = str(tmp_path / "dataset")
    repo = open_repo(target)
    run_full(repo, source, SETTINGS, at(FIRST_END))
    path = "ellendan/a-share-prices" if where == "hub" else target
    prices = datasets.load_dataset(path, "index_prices", split="train").to_pandas()
    weights = datasets.load_dataset(path, "index_weights", split="train").to_pandas()
    pd.testing.assert_frame_equal(prices, published_table(repo, INDEX_PRICES_PATH), check_dtype=False)
    pd.testing.assert_frame_equal(weights, published_weights(repo), check_dtype=False)


def test_the_cards_recipe_gives_the_latest_snapshot_on_a_day_between_snapshots(hub_server, source, market):
    repo = open_repo("hf://datasets/ellendan/a-share-prices")
    run_full(repo, source, SETTINGS, at(FIRST_END))
    card = repo.read("README.md", repo.head()).decode()
    served = served_weights(market, ("000300.SH",), FIRST_END, START)
    snapshots = sorted(served["date"].unique())
    gaps = [(a, [d for d in market.trade_dates() if a < pd.Timestamp(d) < b]) for a, b in zip(snapshots, snapshots[1:])]
    latest, between = next((a, days) for a, days in gaps if days)  # two snapshots with trading days between
    day = between[len(between) // 2]
    namespace: dict = {}
    exec(_recipe(card, day), namespace)  # noqa: S102 - the card's own recipe is what is under test
    want = served[served["date"] == latest]
    assert sorted(namespace["members"]["code"]) == sorted(want["code"])
    stocks = from_parquet(repo.read("meta/stocks.parquet", repo.head())).to_pandas()
    assert sorted(namespace["uncovered"]) == sorted(set(want["code"]) - set(stocks["code"]))
    assert namespace["universe"]["close"].notna().sum() == len(set(want["code"]) & set(stocks["code"]))


def test_before_the_first_snapshot_the_recipe_finds_no_members(tmp_path, source, market):
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(FIRST_END))
    weights = published_weights(repo)
    first = weights.loc[weights["index_code"] == "000300.SH", "date"].min()
    assert not len(weights[(weights["index_code"] == "000300.SH") & (weights["date"] < first)])


def test_the_printed_plan_counts_the_index_calls(tmp_path, source, caplog):
    repo = open_repo(str(tmp_path / "dataset"))
    with caplog.at_level("INFO", logger="sync.engine.indexes"):
        result = run_full(repo, source, SETTINGS, at(FIRST_END))
    [plan] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("planned index fetch")]
    counted = {api: int(n.replace(",", "")) for api, n in re.findall(r"(index_\w+) ([\d,]+)", plan)}
    assert counted["index_basic"] == result.api_calls["index_basic"] == len(CODES)
    assert counted["index_daily"] == result.api_calls["index_daily"] == len(CODES)
    # the plan sizes windows at the real indexes' member counts; the market's are smaller, so fewer are needed
    assert 0 < result.api_calls["index_weight"] <= counted["index_weight"]


def test_a_fresh_days_missing_bars_are_fetched_again_by_the_next_delta(tmp_path, server, source, market):
    days = market.trade_dates()
    a, b, c = (days[days.index(FIRST_END) + i] for i in (0, 1, 2))
    repo = open_repo(str(tmp_path / "dataset"))
    run_full(repo, source, SETTINGS, at(a))
    server.set_clock(lambda: at(b, 18, 0))  # the stocks are out (17:00), index_daily not yet (19:00)
    assert run_delta(repo, source, SETTINGS, at(b, 18, 0)).watermark == b
    missing = published_table(repo, DAYS_PATH).set_index("date")["index_missing"]
    assert sorted(missing[pd.Timestamp(b)]) == sorted(CODES)
    assert published_table(repo, DAYS_PATH).set_index("date").loc[pd.Timestamp(b), "status"] == "complete"
    server.set_clock(lambda: at(c))
    run_delta(repo, source, SETTINGS, at(c))
    missing = published_table(repo, DAYS_PATH).set_index("date")["index_missing"]
    assert len(missing[pd.Timestamp(b)]) == 0 and len(missing[pd.Timestamp(c)]) == 0
    bars = published_table(repo, INDEX_PRICES_PATH)
    assert set(bars.loc[bars["date"] == pd.Timestamp(b), "code"]) == set(CODES)
