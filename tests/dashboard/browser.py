"""Headless Debian Chromium driven by Playwright, for the dashboard's browser tests: one launch, one set of flags,
one place for screenshots. A test module imports from here and sets `pytestmark = [*BROWSER, ...]`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import ROOT

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
BROWSER = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} absent: apt-get install chromium"),
]
playwright = pytest.importorskip(
    "playwright.sync_api", reason="playwright not installed: pip install -e '.[dev]'"
)


@contextmanager
def chromium() -> Iterator[Any]:
    """A fresh headless Chromium; closed on exit."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, locale: str = "ru-RU", timeout: float = 20.0, **context: Any) -> Any:
    """A page in a new context (cookies of its own) of `browser`, 1366×900 unless `context` says otherwise."""
    options = {"viewport": {"width": 1366, "height": 900}, **context}
    page = browser.new_context(locale=locale, **options).new_page()
    page.set_default_timeout(timeout * 1000)
    return page


@contextmanager
def chromium_page(locale: str = "ru-RU", timeout: float = 20.0, **context: Any) -> Iterator[Any]:
    """A page of a fresh headless Chromium (see `new_page`); the browser is closed on exit."""
    with chromium() as browser:
        yield new_page(browser, locale, timeout, **context)
