"""The dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against the real platform app
served by uvicorn with a dialer running. Calls are placed by `StoredCallPlacer` (tests/dashboard/platform.py):
acceptable for a UI test, it produces real stored calls quickly — rows written by the platform's CallStore with a
short WAV recording — without a phone network. Screenshots go to var/test-artifacts/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.platform import ROOT, Platform

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = ROOT / "var" / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} absent: apt-get install chromium"),
]
playwright = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed: pip install -e '.[dev]'"
)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with Platform(tmp_path, contacts=6, call_seconds=1.5) as running:
        yield running


@pytest.fixture
def page(platform: Platform):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="ru-RU", viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def cell(page, campaign_id: int, column: str) -> int:
    return int(page.inner_text(f'tr[data-campaign="{campaign_id}"] td.{column}').replace("\u00a0", ""))


def test_log_in_start_a_campaign_watch_it_progress_and_play_a_call(platform, page):
    expect = playwright.expect
    page.goto(platform.url + "/dashboard/")
    assert "/dashboard/login" in page.url  # nothing without a session
    shot(page, "login")
    page.fill("#api-key", platform.key)
    page.click("#login-key")
    page.wait_for_url(platform.url + "/dashboard/")
    row = f'tr[data-campaign="{platform.campaign_id}"]'
    expect(page.locator(f"{row} .state")).to_have_attribute("data-state", "draft")
    expect(page.locator(f"{row} td.remaining")).to_have_text("6")
    assert cell(page, platform.campaign_id, "dialled") == 0
    page.evaluate("window.notReloaded = true")

    page.click(f'{row} button[data-action="start"]')
    expect(page.locator(f"{row} .state")).to_have_attribute("data-state", "running")
    page.wait_for_function(f"Number(document.querySelector('{row} td.dialled').textContent) >= 1")
    first = cell(page, platform.campaign_id, "dialled")
    shot(page, "campaigns-running")
    page.wait_for_function(f"Number(document.querySelector('{row} td.dialled').textContent) > {first}")
    assert (
        cell(page, platform.campaign_id, "reached") >= 1
        and cell(page, platform.campaign_id, "converted") >= 1
    )
    assert cell(page, platform.campaign_id, "remaining") < 6
    assert page.evaluate("window.notReloaded") is True  # the figures changed without a reload

    page.click(f"{row} a")
    page.wait_for_selector("#timeline svg rect")
    expect(page.locator("#outcomes")).to_contain_text("confirmed")
    shot(page, "campaign")

    page.goto(platform.url + f"/dashboard/calls?campaign_id={platform.campaign_id}")
    ended = '#calls tbody tr[data-state="ended"] a'  # a call still ringing has no recording yet
    page.wait_for_selector(ended)
    shot(page, "calls")
    page.click(ended)
    page.wait_for_selector("#recording")
    expect(page.locator("#outcome")).to_contain_text("confirmed")
    expect(page.locator("#transcript")).to_contain_text("да оплачу")
    expect(page.locator("#turns")).to_contain_text("402")
    page.evaluate("document.getElementById('recording').play()")
    page.wait_for_function(
        "document.getElementById('recording').readyState >= 2 && document.getElementById('recording').currentTime > 0.3"
    )
    shot(page, "call")

    expect(page.locator("header nav")).to_contain_text("Звонки")
    page.click("#lang-switch")
    expect(page.locator("header nav")).to_contain_text("Calls")
    expect(page.locator("h2").first).to_contain_text("Recording")
    assert "/dashboard/calls/" in page.url  # the switch comes back to the same page
    shot(page, "call-en")

    page.click("#logout")
    page.goto(platform.url + "/dashboard/calls")
    assert "/dashboard/login" in page.url
