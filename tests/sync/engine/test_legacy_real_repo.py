"""The real old repo as it is: `all-prices.csv`, the calendar flow's `calendar.csv`, `README.md`,
`.last_update_date`, `.gitattributes` and a picture of the maintainer's, on the Hub test server and
in a folder. It is named legacy, refused until migrated on purpose, and migrated in one step that
keeps the picture, takes `calendar.csv` over (regenerated in its old format on every publish,
checked by `verify`) and never touches the maintainer's files again. A target without a state that
holds someone else's files is refused, naming them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from sync.simulated import MarketSpec, SyntheticMarket
from sync.simulated.server import TushareServer
from tests.support.cli import cli_env, sync
from tests.support.folders import snapshot
from tests.support.old_pipeline import (
    IMAGE,
    IMAGE_PATH,
    all_prices_csv,
    old_repo_files,
    trade_cal_open_days,
    upload_like_the_old_pipeline,
)
from tests.support.serving import at

TOKEN = "legacy-real-repo-token-5d2a"
START, END = dt.date(2024, 1, 2), dt.date(2024, 2, 29)
REPO_ID = "ellendan/a-share-prices"
HUB_TARGET = f"hf://datasets/{REPO_ID}"
MIGRATE = ("full", "--migrate-legacy", "--start", "20240102", "--end", "20240227")


@pytest.fixture(scope="module")
def market():
    return SyntheticMarket(MarketSpec(start=START, end=END, n_stocks=30, seed=11))


@pytest.fixture
def tushare(market):
    with TushareServer(market, tokens=(TOKEN,), clock=lambda: at(END)) as server:
        yield server


@pytest.fixture
def env(tushare):
    return cli_env(TUSHARE_TOKEN=TOKEN, TUSHARE_API_URL=tushare.url, SYNC_NOW="2024-02-29T20:00")


@pytest.fixture
def old_files(tushare):
    """The old repo as of its last run: the calendar flow last ran in 2023, the prices on 2024-01-03."""
    return old_repo_files(trade_cal_open_days(tushare.url, TOKEN, dt.date(2005, 1, 1), dt.date(2023, 12, 31)))


@pytest.fixture
def legacy_hub(hub_server, old_files):
    upload_like_the_old_pipeline(REPO_ID, old_files)
    return hub_server


@pytest.fixture
def legacy_folder(tmp_path, old_files):
    folder = tmp_path / "dataset"
    for path, data in {**old_files, ".gitattributes": b"*.csv filter=lfs diff=lfs merge=lfs -text\n"}.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


def expected_calendar_lines(tushare) -> list[str]:
    """Every SSE open day from 2005 through 31 December of the run's year (2024), from trade_cal itself."""
    days = trade_cal_open_days(tushare.url, TOKEN, dt.date(2005, 1, 1), dt.date(2024, 12, 31))
    assert days[0] == dt.date(2005, 1, 4) and days[-1].year == 2024 and days[-1] >= dt.date(2024, 12, 20)
    return [d.isoformat() for d in days]


def assert_old_calendar_format(data: bytes, tushare) -> None:
    assert b"\r" not in data and data.endswith(b"\n")
    lines = data.decode().split("\n")[:-1]
    assert lines[0] == "cal_date"
    assert lines[1:] == expected_calendar_lines(tushare)


def front_matter(card: bytes) -> dict:
    return yaml.safe_load(card.decode().split("---", 2)[1])


def target_of(kind: str, request) -> tuple[str, object]:
    if kind == "hub":
        return HUB_TARGET, request.getfixturevalue("legacy_hub")
    return "dataset", request.getfixturevalue("legacy_folder")


def fingerprint(kind: str, fixture) -> object:
    if kind == "hub":
        return fixture.head(REPO_ID), fixture.tags(REPO_ID)
    return snapshot(fixture)


# -- recognised, refused until migrated --------------------------------------------------------


@pytest.mark.parametrize("kind", ["hub", "folder"])
def test_status_and_verify_name_the_real_repo_as_the_legacy_layout(tmp_path, env, kind, request):
    target, _ = target_of(kind, request)
    status = sync("status", "--repo", target, cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert "legacy layout" in status.stdout and "--migrate-legacy" in status.stdout
    assert "nothing published yet" not in status.stdout
    facts = json.loads(sync("status", "--json", "--repo", target, cwd=tmp_path, env=env).stdout)
    assert facts["legacy_layout"] is True and facts["published"] is False
    verify = sync("verify", "--repo", target, cwd=tmp_path, env=env)
    assert verify.returncode == 1 and "--migrate-legacy" in verify.stdout


@pytest.mark.parametrize("command", [["delta"], ["full", "--start", "20240102"]])
@pytest.mark.parametrize("kind", ["hub", "folder"])
def test_delta_and_a_plain_full_refuse_the_real_repo_and_change_nothing(tmp_path, env, kind, command, request):
    target, fixture = target_of(kind, request)
    before = fingerprint(kind, fixture)
    result = sync(*command, "--repo", target, cwd=tmp_path, env=env)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "all-prices.csv and no .sync/state.json" in message
    assert "`python -m sync full --migrate-legacy`" in message
    what = "tags the current commit `legacy-csv`" if kind == "hub" else "keeps a copy of the old files"
    assert what in message and "calendar.csv becomes the sync's" in message and "Nothing was changed" in message
    assert fingerprint(kind, fixture) == before


# -- the migration ------------------------------------------------------------------------------


def test_migrating_the_real_hub_repo_tags_it_keeps_the_picture_and_takes_over_calendar_csv(
    tmp_path, legacy_hub, env, tushare, old_files
):
    from huggingface_hub import hf_hub_download

    legacy_head = legacy_hub.head(REPO_ID)
    commits_before = len(legacy_hub.commit_dates(REPO_ID))
    result = sync(*MIGRATE, "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert 'revision="legacy-csv"' in result.stdout
    assert f"files of yours kept as they were: {IMAGE_PATH}" in result.stdout

    assert legacy_hub.tags(REPO_ID)["legacy-csv"] == legacy_head
    for name in ("all-prices.csv", "calendar.csv"):  # both old files stay readable at the tag
        old = hf_hub_download(REPO_ID, name, repo_type="dataset", revision="legacy-csv", cache_dir=tmp_path / "c")
        assert Path(old).read_bytes() == old_files[name]
    assert len(legacy_hub.commit_dates(REPO_ID)) == commits_before + 1  # one commit adds and deletes
    files = legacy_hub.files(REPO_ID)
    assert "all-prices.csv" not in files and ".sync/state.json" in files
    assert files[IMAGE_PATH] == IMAGE and files[".gitattributes"]
    assert_old_calendar_format(files["calendar.csv"], tushare)
    front = front_matter(files["README.md"])
    assert front["license"] == "mit" and "license_name" not in front and "license_link" not in front
    assert front["maintainer_note"] == "kept by hand"
    assert sync("verify", "--repo", HUB_TARGET, cwd=tmp_path, env=env).returncode == 0

    # verify catches a damaged calendar.csv (here: CRLF line ends and a lost day) ...
    damaged = files["calendar.csv"].replace(b"\n", b"\r\n").replace(b"2024-02-28\r\n", b"")
    legacy_hub.commit_files(REPO_ID, {"calendar.csv": damaged})
    verify = sync("verify", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert verify.returncode == 1 and "calendar.csv is not the SSE trading days" in verify.stdout

    # ... and the next delta regenerates it, leaving the picture as it was
    delta = sync("delta", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert delta.returncode == 0, delta.stderr
    files = legacy_hub.files(REPO_ID)
    assert files[".last_update_date"] == b"20240229"
    assert files[IMAGE_PATH] == IMAGE
    assert_old_calendar_format(files["calendar.csv"], tushare)
    assert sync("verify", "--repo", HUB_TARGET, cwd=tmp_path, env=env).returncode == 0
    assert legacy_hub.tags(REPO_ID)["legacy-csv"] == legacy_head


def test_migrating_the_real_folder_keeps_the_old_files_aside_and_the_picture_in_place(
    tmp_path, legacy_folder, env, tushare, old_files
):
    result = sync(*MIGRATE, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    kept = tmp_path / ".dataset.sync" / "legacy-csv"
    assert f"the old all-prices.csv is kept at {kept / 'all-prices.csv'}" in result.stdout
    assert f"files of yours kept as they were: {IMAGE_PATH}" in result.stdout
    assert (kept / "all-prices.csv").read_bytes() == all_prices_csv()
    assert (kept / "calendar.csv").read_bytes() == old_files["calendar.csv"]

    published = {p.relative_to(legacy_folder).as_posix() for p in legacy_folder.rglob("*") if p.is_file()}
    assert "all-prices.csv" not in published and ".sync/state.json" in published
    assert (legacy_folder / IMAGE_PATH).read_bytes() == IMAGE
    assert (legacy_folder / ".gitattributes").read_bytes().startswith(b"*.csv filter=lfs")
    assert_old_calendar_format((legacy_folder / "calendar.csv").read_bytes(), tushare)
    front = front_matter((legacy_folder / "README.md").read_bytes())
    assert front["license"] == "mit" and "license_name" not in front
    assert sync("verify", cwd=tmp_path, env=env).returncode == 0

    calendar = legacy_folder / "calendar.csv"
    good = calendar.read_bytes()
    calendar.unlink()  # the version's own file (not a hard link shared with another version)
    calendar.write_bytes(good.replace(b"cal_date\n", b"cal_date\n2005-01-03\n"))
    verify = sync("verify", cwd=tmp_path, env=env)
    assert verify.returncode == 1 and "calendar.csv is not the SSE trading days" in verify.stdout

    delta = sync("delta", cwd=tmp_path, env=env)
    assert delta.returncode == 0, delta.stderr
    assert (legacy_folder / ".last_update_date").read_bytes() == b"20240229"
    assert (legacy_folder / IMAGE_PATH).read_bytes() == IMAGE
    assert_old_calendar_format(calendar.read_bytes(), tushare)
    assert sync("verify", cwd=tmp_path, env=env).returncode == 0


def test_a_folder_migration_cut_off_before_its_commit_is_finished_by_running_it_again(tmp_path, legacy_folder, env):
    from sync.targets.local import LocalFolderRepo

    repo = LocalFolderRepo(legacy_folder)
    first = repo.retire_legacy()  # what the migration does right before its one commit; then the machine stops
    assert first is not None and legacy_folder.is_symlink() and (legacy_folder / "all-prices.csv").is_file()
    assert "legacy layout" in sync("status", cwd=tmp_path, env=env).stdout
    assert sync("delta", cwd=tmp_path, env=env).returncode == 1  # still refused: it is still the legacy layout

    result = sync(*MIGRATE, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert f"the old all-prices.csv is kept at {first.location}" in result.stdout
    assert sorted(p.name for p in (tmp_path / ".dataset.sync").iterdir() if p.name.startswith("legacy-csv")) == [
        "legacy-csv"
    ]
    assert (legacy_folder / IMAGE_PATH).read_bytes() == IMAGE and not (legacy_folder / "all-prices.csv").exists()


# -- someone else's files --------------------------------------------------------------------


FOREIGN = {f"notes/{i:02d}.md": b"mine" for i in range(12)}


@pytest.mark.parametrize("command", [["delta"], ["full", "--start", "20240102"]])
@pytest.mark.parametrize("kind", ["hub", "folder"])
def test_a_target_without_a_state_holding_foreign_files_is_refused_naming_them(tmp_path, env, kind, command, request):
    files = {**FOREIGN, "README.md": b"# my notes\n", ".last_update_date": b"20240103"}
    if kind == "hub":
        hub = request.getfixturevalue("hub_server")
        hub.commit_files(REPO_ID, files)
        target, before = HUB_TARGET, hub.head(REPO_ID)
    else:
        folder = tmp_path / "dataset"
        for path, data in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(data)
        target, before = "dataset", snapshot(folder)
    result = sync(*command, "--repo", target, cwd=tmp_path, env=env)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    named = ", ".join(sorted(FOREIGN)[:10])
    assert (
        f"has no .sync/state.json and holds files that are not a dataset this sync published ({named}, and 2 more)"
        in message
    )
    assert "Publish to another target" in message and "nothing was changed" in message
    assert (hub.head(REPO_ID) if kind == "hub" else snapshot(folder)) == before


@pytest.mark.parametrize("kind", ["hub", "folder"])
def test_status_and_verify_say_why_a_target_of_someone_else_s_is_not_published_into(tmp_path, env, kind, request):
    if kind == "hub":
        request.getfixturevalue("hub_server").commit_files(REPO_ID, {"notes.md": b"mine"})
        target = HUB_TARGET
    else:
        (tmp_path / "dataset").mkdir()
        (tmp_path / "dataset" / "notes.md").write_bytes(b"mine")
        target = "dataset"
    status = sync("status", "--repo", target, cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert "holds files that are not a dataset this sync published (notes.md)" in status.stdout
    assert "nothing published yet" not in status.stdout
    verify = sync("verify", "--repo", target, cwd=tmp_path, env=env)
    assert verify.returncode == 1 and "holds files that are not a dataset this sync published" in verify.stdout


def test_a_hub_repo_with_only_a_card_is_published_into_keeping_its_license(tmp_path, hub_server, env):
    hub_server.commit_files(REPO_ID, {"README.md": b"---\nlicense: apache-2.0\n---\n# soon\n"})
    result = sync("full", "--start", "20240102", "--repo", HUB_TARGET, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    files = hub_server.files(REPO_ID)
    front = front_matter(files["README.md"])
    assert front["license"] == "apache-2.0" and "license_name" not in front and "license_link" not in front
    assert "calendar.csv" not in files  # a target that never had it never gets it
