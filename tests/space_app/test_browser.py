"""The whole loop in headless Chromium: read the status, full sync with the admin token, see the watermark
and the run, open a chart, and be refused with a wrong token while nothing runs.

The Space runs as deployed with a real token: a Tushare-compatible server (our synthetic market, in
a subprocess) and an empty dataset folder, so it starts with "nothing published yet". Uses
Debian's chromium through playwright (never a downloaded browser); skipped only where
/usr/bin/chromium is absent, and `.ci/run` installs it. Screenshots go to test-artifacts/space/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.browser import BROWSER_ARGS, CHROMIUM, tushare_server
from tests.support.space import WATERMARK, health, running_app, wait_for

ARTIFACTS = ROOT / "test-artifacts" / "space"
TOKEN = "browser-admin-token-4567"

pytestmark = [
    pytest.mark.slow,  # a Space, a Tushare server and a browser over the whole loop
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install -y chromium)"),
]


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# screenshots of the browser tests; never committed\n*\n")
    return ARTIFACTS


@pytest.fixture
def page(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def test_full_loop_in_the_browser(tmp_path, page, artifacts):
    from playwright.sync_api import expect

    with (
        tushare_server() as api_url,
        running_app(
            tmp_path, TUSHARE_TOKEN="browser-tushare-token", TUSHARE_API_URL=api_url, SYNC_ADMIN_TOKEN=TOKEN
        ) as url,
    ):
        page.goto(url)
        status = page.locator("#status")
        expect(status).to_contain_text("Nothing published yet", timeout=30_000)
        expect(status).to_contain_text("Tushare Pro → local folder")
        page.screenshot(path=artifacts / "1-nothing-published.png", full_page=True)

        admin(page, "20260105", TOKEN)
        expect(page.locator("#full-sync-message")).to_contain_text("started full sync (button; 2026-01-05 .. newest)")
        page.get_by_role("tab", name="Status").click()
        expect(status).to_contain_text(f"Complete through {WATERMARK}", timeout=90_000)
        expect(status).to_contain_text("full (button)")
        page.screenshot(path=artifacts / "2-status-after-full-sync.png", full_page=True)

        page.get_by_role("tab", name="Runs").click()
        runs = page.locator("#runs")
        expect(runs).to_contain_text("button")
        expect(runs).to_contain_text("success")
        page.screenshot(path=artifacts / "3-runs.png", full_page=True)

        page.get_by_role("tab", name="Explore").click()
        chart = page.locator("#chart .js-plotly-plot")
        expect(chart).to_be_visible(timeout=30_000)  # opens on a listed stock, not an empty frame
        expect(page.locator("#stock input")).to_have_value(re.compile(r"^\d{6}\.S[HZ] "))
        expect(chart).not_to_contain_text(re.compile(r"600\d{3}\.SH"))
        choose_stock(page, "600")
        page.locator("#show-chart").click()
        expect(chart).to_contain_text(re.compile(r"600\d{3}\.SH"), timeout=30_000)
        expect(page.locator("#chart-note")).to_contain_text("trading days")
        expect(page.locator("#rows")).to_contain_text(WATERMARK)
        expect(page.locator("#from input, #from textarea").first).to_have_value("2026-01-05")  # filled once published
        page.screenshot(path=artifacts / "4-chart.png", full_page=True)

        admin(page, "", "wrong-token")
        expect(page.locator("#full-sync-message")).to_contain_text("refused: wrong admin token; nothing was started")
        page.screenshot(path=artifacts / "5-wrong-token-refused.png", full_page=True)
        assert health(url)["running"] is False
        page.get_by_role("tab", name="Status").click()
        expect(status).to_contain_text("Current run: idle")


def admin(page, start: str, token: str) -> None:
    page.get_by_role("tab", name="Admin").click()
    page.locator("#full-start input, #full-start textarea").first.fill(start)
    page.locator("#admin-token input").fill(token)
    page.locator("#full-sync").click()


def choose_stock(page, typed: str) -> None:
    """Type into the searchable dropdown and take the first match."""
    box = page.locator("#stock input")
    wait_for(lambda: page.locator("#stock").count() > 0, 10)
    box.click()
    box.fill(typed)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
