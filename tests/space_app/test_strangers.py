"""Strangers (issue 22 points 4 to 6): what an anonymous visitor of the Space can cost and see.

The Space runs in process against our Tushare server and the session's Hub test server, and both
count what they serve: an anonymous Sync now with nothing newer to publish, or within 30 minutes
of any run, costs no Tushare call and no Hub request. A too short SYNC_ADMIN_TOKEN refuses the
admin actions and is shown, while the schedule runs on. A public Space shows no rows of a private
or gated dataset, and none when it cannot read the visibility. The latency contract for wrong
admin tokens runs against `python space_app/app.py` in tests/space_app/test_wrong_tokens.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time

import pytest

from space_app import admin, ui
from space_app.anonymous import QUIET as ANONYMOUS_QUIET
from space_app.space import Space
from space_app.status_markdown import status_markdown
from sync.core.clock import SHANGHAI
from sync.core.config import Settings
from sync.engine.full import run_full
from sync.fetch.source import Source
from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from sync.targets import open_repo
from sync.tushare.client import TushareClient

TOKEN = "strangers-tushare-token"
ADMIN = "strangers-admin-token-0123456"
WRITE = "hf-write-token-for-strangers"
START, END = dt.date(2024, 2, 1), dt.date(2024, 3, 8)  # END: a Friday
NOW = dt.datetime.combine(END, dt.time(20), tzinfo=SHANGHAI)  # END may be published (after 15:30)
REPO_ID = "maintainer/a-share-prices"
SPACE_ID = "maintainer/a-share-prices-sync"
TARGET = f"hf://datasets/{REPO_ID}"


@pytest.fixture(scope="module")
def server():
    market = SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=20, seed=22))
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: NOW) as running:
        yield running


def calls(server) -> int:
    return sum(server.calls.values())


def publish(server, end: dt.date) -> None:
    """A full sync through `end` onto the Hub test server (the maintainer's earlier runs)."""
    with TushareClient(TOKEN, server.url, rate_per_min=1_000_000, rate_overrides={}, sleep=lambda s: None) as api:
        run_full(open_repo(TARGET, hf_token=WRITE), Source(api, "strangers", START), settings(server), NOW, end=end)


def settings(server, **changes) -> Settings:
    base = dict(
        tushare_token=TOKEN,
        tushare_api_url=server.url,
        rate_per_min=1_000_000,
        dataset_repo=TARGET,
        hf_token=WRITE,
        markets=("主板",),
        start_date=START,
        admin_token=ADMIN,
    )
    return Settings(**{**base, **changes})


@contextlib.contextmanager
def denied(server, *apis: str):
    server.denied = frozenset(apis)
    try:
        yield
    finally:
        server.denied = frozenset()


# -- 4. strangers cannot spend the quota ---------------------------------------------------------------
def test_an_anonymous_sync_now_with_nothing_newer_costs_no_tushare_call_and_no_hub_request(server, hub_server):
    hub_server.tokens = {WRITE: "write"}
    publish(server, END)
    space = Space(settings(server), lambda: NOW)
    assert space.status()["watermark"] == END.isoformat()  # the status the Space holds (read on start, every tick)
    tushare_before, hub_before = calls(server), len(hub_server.requests)

    answers = {space.sync_now() for _ in range(5)} | {space.sync_now("")}

    assert answers == {f"not started: nothing new can be published yet; complete through {END.isoformat()}"}
    assert space.runner.snapshot() == (None, []), "no run started"
    assert calls(server) == tushare_before, "no Tushare call"
    assert hub_server.requests[hub_before:] == [], "no Hub request (whoami-v2 included)"


def test_an_anonymous_sync_now_waits_30_minutes_after_any_run_then_starts_a_delta(server, hub_server):
    hub_server.tokens = {WRITE: "write"}
    day_before = END - dt.timedelta(days=1)
    publish(server, day_before)  # END may be published: a stranger's Sync now may start the delta
    elapsed = [0.0]  # real elapsed time, moved on by the test (the wall clock stays pinned)
    space = Space(settings(server), lambda: NOW, monotonic=lambda: time.monotonic() + elapsed[0])
    space.view.get()

    with denied(server, "daily"):  # a run that fails still counts as a run
        assert space.sync_now().startswith("started delta sync (button)")
        assert space.runner.wait(120)
    assert space.runner.snapshot()[1][-1].status == "failed"

    tushare_before, hub_before = calls(server), len(hub_server.requests)
    refused = space.sync_now()
    elapsed[0] += ANONYMOUS_QUIET - 90  # 28.5 minutes later
    still = space.sync_now()
    assert refused == (
        "not started: a run started 0 min ago; Sync now waits 30 minutes after any run (try again in 30 min)"
    )
    assert still.startswith("not started: a run started 28 min ago") and still.endswith("(try again in 2 min)")
    assert calls(server) == tushare_before and hub_server.requests[hub_before:] == [], "refusals cost nothing"

    elapsed[0] += 120  # 30.5 minutes after the failed run
    assert space.sync_now().startswith("started delta sync (button)")
    assert space.runner.wait(120)
    last = space.runner.snapshot()[1][-1]
    assert last.status == "success" and space.status()["watermark"] == END.isoformat()

    # The maintainer's token starts a delta whenever the slot is free; a wrong one starts nothing.
    assert space.sync_now("wrong-token-000000000") == admin.WRONG_TOKEN
    assert space.sync_now(ADMIN).startswith("started delta sync (button)")
    assert space.runner.wait(120)
    assert space.runner.snapshot()[1][-1].status == "nothing new"


# -- 5. a short admin token is a configuration error; no lockout -----------------------------------------
def test_admin_token_is_stripped_and_empty_means_unset():
    assert Settings.from_env({"SYNC_ADMIN_TOKEN": "   "}).admin_token is None
    assert Settings.from_env({"SYNC_ADMIN_TOKEN": f"  {ADMIN}\n"}).admin_token == ADMIN


def test_a_short_admin_token_refuses_admin_actions_is_shown_and_the_schedule_runs_on(tmp_path):
    short = "fifteen-chars-x"
    assert len(short) == admin.MIN_ADMIN_TOKEN - 1
    space = Space(Settings(dataset_repo=str(tmp_path / "dataset"), admin_token=short), lambda: NOW)
    status = space.status()
    error = status["last_error"]["message"]
    assert (
        error.startswith("configuration error: SYNC_ADMIN_TOKEN is shorter than 16 characters") and short not in error
    )
    assert status["config_error"] is None and status["next_run"] is not None, "the schedule runs on"
    assert space.scheduler.automatic
    assert error in ui.status_messages(status, "en") and error in status_markdown(status)  # the Status tab
    for answer in (space.full_sync("", "", "", short), space.migrate_legacy(short), space.sync_now(short)):
        assert answer == f"refused: {error}"
    assert space.runner.snapshot() == (None, [])
    assert Space(Settings(dataset_repo=str(tmp_path / "d"), admin_token=short + "y"), lambda: NOW).admin_error is None


def test_wrong_admin_tokens_never_lock_the_maintainer_out(tmp_path):
    space = Space(Settings(dataset_repo=str(tmp_path / "dataset"), admin_token=ADMIN), lambda: NOW)
    for i in range(100):
        assert space.full_sync("20240301", "20240101", "", f"guess-{i:016d}") == admin.WRONG_TOKEN
    assert space.full_sync("20240301", "20240101", "", ADMIN) == (
        "refused: start 2024-03-01 is after end 2024-01-01; nothing was started"
    ), "the right token is checked, not locked out"


# -- 6. a public Space never serves a private or gated dataset's rows -------------------------------------
CASES = {
    # name: (dataset private, dataset gated, Space: "public" / "private" / None (not on the Hub), rows served)
    "public dataset, public Space": (False, False, "public", True),
    "private dataset, public Space": (True, False, "public", False),
    "gated dataset, public Space": (False, "manual", "public", False),
    "private dataset, private Space": (True, False, "private", True),
    "gated dataset, private Space": (False, "auto", "private", True),
    "private dataset, Space unknown to the Hub": (True, False, None, False),
}


def test_a_public_space_never_serves_a_private_or_gated_datasets_rows(server, hub_server):
    hub_server.tokens = {WRITE: "write"}
    publish(server, END)
    seen = {}
    for name, (private, gated, space_kind, served) in CASES.items():
        hub_server.set_visibility(REPO_ID, private=private, gated=gated)
        if space_kind:
            hub_server.set_visibility(SPACE_ID, "space", private=space_kind == "private")
        else:
            hub_server.repos.pop(("space", SPACE_ID), None)
        space = Space(settings(server), lambda: NOW, space_id=SPACE_ID)
        choices, chosen = space.stock_choices(), space.default_stock()
        figure, rows, note = space.chart("600000.SH" if not chosen else chosen, "", "", "qfq")
        status = space.status()
        seen[name] = (bool(choices), chosen is not None, figure is not None, len(rows) > 0)
        assert status["watermark"] == END.isoformat() and status["behind_trading_days"] == 0, "freshness is shown"
        if not served:
            assert "this app is not a private Space, so it shows no rows" in note, name
    assert seen == {name: (served,) * 4 for name, (*_, served) in CASES.items()}


def test_rows_are_hidden_when_the_visibility_cannot_be_read(server, hub_server):
    hub_server.tokens = {WRITE: "write"}
    publish(server, END)
    hub_server.set_visibility(SPACE_ID, "space", private=False)
    space = Space(settings(server), lambda: NOW, space_id=SPACE_ID)
    hub_server.fail_next("GET", f"/api/datasets/{REPO_ID}", 503)  # the first request: the dataset's info
    assert space.stock_choices() == []
    figure, rows, note = space.chart("600000.SH", "", "", "qfq")
    assert figure is None and len(rows) == 0
    assert note.startswith("the dataset's visibility could not be read and this app is not a private Space")
    assert space.status()["watermark"] == END.isoformat()


def test_a_folder_target_serves_its_rows(tmp_path):
    space = Space(Settings(dataset_repo=str(tmp_path / "dataset")), lambda: NOW, space_id=SPACE_ID)
    assert space.rows_gate.refusal() is None  # no Hub dataset: nothing to hide, nothing read


def test_an_anonymous_sync_now_before_the_first_read_or_during_a_run_is_answered_at_no_cost():
    from space_app import anonymous
    from space_app.repo_view import Facts
    from space_app.run_slot import RunRecord
    from sync.engine.run import RunRequest

    behind = Facts(head="abc", published=True, watermark=END - dt.timedelta(days=1), open_days=(END,))
    running = RunRecord(RunRequest("delta", "schedule"), NOW, started_mono=0.0)
    assert anonymous.refusal(None, None, [], NOW, 0.0) == anonymous.NOT_READ  # the repo not read yet
    assert anonymous.refusal(Facts(error="HTTP 503"), None, [], NOW, 0.0) == anonymous.NOT_READ
    assert anonymous.refusal(Facts(), None, [], NOW, 0.0) == anonymous.NOTHING_PUBLISHED
    assert anonymous.refusal(behind, running, [], NOW, 1e9).startswith(
        "not started: a delta sync (schedule) is already running since 20:00:00"
    )
    assert anonymous.refusal(behind, None, [], NOW, 0.0) is None  # a newer day, no run yet: a delta may start
