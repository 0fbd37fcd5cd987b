"""Every tab of the Space in headless Chromium, in English and in Chinese, on a published dataset with
a permanent hole: the pictures are drawn from the published data, the current run shows as a
progress bar, the language follows the browser and the switch. Saves the README's screenshots to
docs/screenshots/.

The dataset is built as a maintainer's would be: `python -m sync full`, a delta that fails (a
wrong token; its row reaches meta/runs with the next publish), then two evening deltas, against our
Tushare-compatible server whose daily_basic covers only half the stocks on 2026-01-05 (a settled
day, so it is published as partial). The Space then starts on it with a slower server (3 s per
request) and catches up 2026-03-13 by itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.browser import BROWSER_ARGS, CHROMIUM, tushare_server
from tests.support.space import health, running_app, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)"),
]

SCREENSHOTS = ROOT / "docs" / "screenshots"
TOKEN = "browser-tushare-token"
HOLE = "2026-01-05"
TABS = {"en": ["Status", "Runs", "Logs", "Explore", "Admin"], "zh": ["状态", "运行记录", "日志", "浏览", "管理"]}
FILES = ["status", "runs", "logs", "explore", "admin"]


def sync_cli(folder: Path, api_url: str, now: str, *args: str, token: str = TOKEN, ok: bool = True) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUSHARE_", "SYNC_")) and k != "DATASET_REPO"}
    env.update(TUSHARE_TOKEN=token, TUSHARE_API_URL=api_url, SYNC_NOW=now, HF_HOME=str(folder / "hf"))
    done = subprocess.run(
        [sys.executable, "-m", "sync", *args, "--repo", str(folder / "dataset")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (done.returncode == 0) == ok, done.stdout + done.stderr


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A dataset through 2026-03-10 with a partial day, a failed run and two evening deltas."""
    folder = tmp_path_factory.mktemp("pictures")
    with tushare_server("--hole", f"daily_basic:{HOLE.replace('-', '')}:0.5", start="20240102") as api_url:
        sync_cli(folder, api_url, "2026-03-06T22:00", "full")
        sync_cli(folder, api_url, "2026-03-09T21:05", "delta", token="a-wrong-token", ok=False)
        sync_cli(folder, api_url, "2026-03-09T21:10", "delta")
        sync_cli(folder, api_url, "2026-03-10T21:05", "delta")
    return folder


@pytest.fixture(scope="module")
def space(published):
    with tushare_server(
        "--hole", f"daily_basic:{HOLE.replace('-', '')}:0.5", "--latency", "3", start="20240102"
    ) as api_url:
        with running_app(
            published,
            TUSHARE_TOKEN=TOKEN,
            TUSHARE_API_URL=api_url,
            SYNC_ADMIN_TOKEN="pictures-admin-token-0123",
            HF_HOME=str(published / "hf"),
        ) as url:
            yield url


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def page_in(browser, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def plot(page, elem_id: str) -> list[dict]:
    """The traces plotly drew in `#elem_id` (what the browser shows, not what the server meant to send)."""
    page.locator(f"#{elem_id} .js-plotly-plot").wait_for(timeout=30_000)
    return page.evaluate(PLOTTED, elem_id)


# What plotly resolved and drew (`_fullData`: base64 arrays decoded), as plain lists that compare in Python.
PLOTTED = """(id) => document.querySelector('#' + id + ' .js-plotly-plot')._fullData.map(trace => {
  const plain = v => ArrayBuffer.isView(v) ? Array.from(v) : (Array.isArray(v) ? v.map(plain) : v);
  const out = {name: trace.name, type: trace.type, symbol: trace.marker && trace.marker.symbol};
  for (const key of ['x', 'y', 'z', 'text']) if (trace[key] !== undefined) out[key] = plain(trace[key]);
  return JSON.parse(JSON.stringify(out));
})"""


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_catch_up_shows_as_a_progress_bar_then_idle(space, browser):
    from playwright.sync_api import expect

    with page_in(browser, "en-US") as page:
        page.goto(space)
        bar = page.locator("#progress .sync-progress")
        if health(space)["running"]:  # the start-up catch-up, 3 s a request; else start a run from Admin
            expect(bar).to_have_attribute("data-state", "running", timeout=20_000)
        else:
            open_tab(page, "Admin")
            page.locator("#sync-now").click()
            expect(page.locator("#sync-now-message")).to_contain_text("started delta sync (button)")
            open_tab(page, "Status")
            expect(bar).to_have_attribute("data-state", "running", timeout=20_000)
        expect(bar).to_contain_text(" sync (")
        expect(bar).to_have_attribute("data-phase", "fetch", timeout=30_000)  # a phase with done/total
        expect(bar.locator(".details")).to_contain_text(re.compile(r"fetch · \d+/\d+ \w+ · \d+ API calls"))
        with contextlib.suppress(AssertionError):  # for the picture only: a share above zero
            expect(bar).to_have_attribute("data-done", re.compile(r"^[1-9]"), timeout=15_000)
        page.screenshot(path=SCREENSHOTS / "progress-en.png", clip={"x": 0, "y": 0, "width": 1280, "height": 560})
        expect(bar).to_have_attribute("data-state", "idle", timeout=120_000)
    wait_for(lambda: (lambda h: h and not h["running"] and h["watermark"] == "2026-03-13")(health(space)), 60)


@pytest.mark.parametrize("locale, lang", [("en-US", "en"), ("zh-CN", "zh")])
def test_every_tab_draws_the_published_data_in_the_browser_language(space, published, browser, locale, lang):
    import pandas as pd
    from playwright.sync_api import expect

    days = pd.read_parquet(published / "dataset" / "meta" / "days.parquet")
    hole = days[days["date"].astype(str) == HOLE].iloc[0]
    assert hole["status"] == "partial" and (days["status"] == "partial").sum() == 1
    short = round(float(hole["coverage_daily_basic"]) * 100, 1)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wait_for(lambda: (lambda h: h and not h["running"] and h["watermark"] == "2026-03-13")(health(space)), 120)
    with page_in(browser, locale) as page:
        page.goto(space)
        status = page.locator("#status")
        headline = {"en": "Complete through 2026-03-13 · up to date", "zh": "已完整发布至 2026-03-13 · 已是最新"}[lang]
        expect(status).to_contain_text(headline, timeout=30_000)
        expect(page.get_by_role("tab", name=TABS[lang][0])).to_be_visible()

        heat = plot(page, "days-chart")[0]
        year, column = heat["y"].index("2026"), 5 - 1  # 2026-01-05 is the 5th day of the year
        assert heat["z"][year][column] == 1, "the partial day is drawn as partial"  # charts.STATES
        assert (
            f"daily_basic: {short:.1f}%" in heat["text"][year][column]
            and f"{ {'en': 'rows', 'zh': '行数'}[lang] }: {hole['rows']}" in heat["text"][year][column]
        )
        assert heat["z"][year][column + 1] == 0  # 2026-01-06: complete
        expect(page.locator("#days-chart")).to_contain_text({"en": "partial 1", "zh": "不完整 1"}[lang])

        coverage = {trace["name"]: trace for trace in plot(page, "coverage-chart")}
        basic = coverage["daily_basic"]
        lowest = min(basic["y"])
        assert round(lowest, 1) == short and basic["x"][basic["y"].index(lowest)].startswith(HOLE)

        lags = plot(page, "lag-chart")[0]
        assert lags["x"] == ["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"]
        assert [round(h, 1) for h in lags["y"][:2]] == [6.2, 6.1]  # 21:10 and 21:05 after the 15:00 close
        assert 55 < lags["y"][2] < 56 and 7 < lags["y"][4] < 8  # the Space slept: caught up 03-13 ~22:00

        runs = plot(page, "runs-chart")
        failed = [t for t in runs if t.get("symbol") == "x"]
        assert failed and len(failed[0]["x"]) >= 1, "the failed run is marked"
        page.wait_for_timeout(500)
        page.screenshot(path=SCREENSHOTS / f"status-{lang}.png", full_page=True)

        for name, file in zip(TABS[lang][1:], FILES[1:]):
            open_tab(page, name)
            if file == "runs":
                expect(page.locator("#runs")).to_contain_text({"en": "failed", "zh": "失败"}[lang])
                expect(page.locator("#runs")).to_contain_text({"en": "started (Shanghai)", "zh": "开始（上海）"}[lang])
            if file == "logs":
                expect(page.locator("#logs")).to_contain_text("catch-up")
            if file == "explore":
                chart = plot(page, "chart")
                assert chart[0]["type"] == "candlestick" and chart[0]["x"][-1] == "2026-03-13"
                expect(page.locator("#chart-note")).to_contain_text({"en": "trading days", "zh": "个交易日"}[lang])
                page.wait_for_timeout(500)
            if file == "admin":
                expect(page.locator("#full-sync")).to_have_text({"en": "Full sync", "zh": "全量同步"}[lang])
            page.screenshot(path=SCREENSHOTS / f"{file}-{lang}.png", full_page=True)


def test_the_switch_changes_the_language_and_is_remembered(space, browser):
    from playwright.sync_api import expect

    with page_in(browser, "zh-CN") as page:
        page.goto(space)
        expect(page.locator("#status")).to_contain_text("已完整发布至", timeout=30_000)
        page.locator("#lang label", has_text="English").click()
        expect(page.locator("#status")).to_contain_text("Complete through 2026-03-13")
        expect(page.get_by_role("tab", name="Explore")).to_be_visible()
        expect(page.locator("#days-chart")).to_contain_text("partial 1")
        open_tab(page, "Explore")
        expect(page.locator("#chart-note")).to_contain_text("trading days")
        page.reload()
        expect(page.locator("#status")).to_contain_text("Complete through 2026-03-13", timeout=30_000)
        expect(page.get_by_role("tab", name="Runs")).to_be_visible()
        page.locator("#lang label", has_text="中文").click()
        expect(page.locator("#status")).to_contain_text("已完整发布至 2026-03-13")
        expect(page.get_by_role("tab", name="运行记录")).to_be_visible()
