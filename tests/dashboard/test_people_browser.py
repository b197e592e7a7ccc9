"""The People page in headless Chromium against the real platform app (as test_dashboard_browser.py): an admin
creates a user, the user logs in in another browser context, the admin disables them, their session ends and their
login is refused, and the audit page lists it; a new API key's secret is shown once. Screenshots go to
var/test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.api.auth import Scope, create_key
from tests.dashboard.browser import ARTIFACTS, BROWSER, chromium, new_page, playwright
from tests.dashboard.platform import Platform

pytestmark = BROWSER
PASSWORD = "nina-password-1"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with Platform(tmp_path, contacts=1, call_seconds=1.0) as running:
        yield running


@pytest.fixture
def browser() -> Iterator:
    with chromium() as browser:
        yield browser


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"people-{name}.png"), full_page=True)


def test_people_admin_creates_a_user_then_disables_them_and_the_audit_page_lists_it(platform, browser):
    expect = playwright.expect
    with platform.db.session() as session:
        admin_key = create_key(session, "главный админ", [Scope.ADMIN], datetime.now(UTC))[1]
    admin = new_page(browser)
    admin.goto(platform.url + "/dashboard/people")
    admin.fill("#api-key", admin_key)
    admin.click("#login-key")
    admin.wait_for_url(platform.url + "/dashboard/people")
    admin.fill("#user-name", "nina")
    admin.fill("#user-password", PASSWORD)
    admin.select_option("#user-scope", "write")
    admin.click("#user-create")
    row = admin.locator('tr[data-user="nina"]')
    expect(row).to_contain_text("запись")
    expect(row).to_contain_text("активен")
    shot(admin, "user-created")

    nina = new_page(browser)
    nina.goto(platform.url + "/dashboard/")
    nina.fill("#username", "nina")
    nina.fill("#password", PASSWORD)
    nina.click("#login-password")
    nina.wait_for_url(platform.url + "/dashboard/")
    expect(nina.locator(".who")).to_contain_text("nina")
    expect(nina.locator("#nav-people")).to_have_count(0)  # no People page for a writer

    admin.locator('tr[data-user="nina"] button.disable').click()
    expect(admin.locator('tr[data-user="nina"]')).to_contain_text("отключён")
    shot(admin, "user-disabled")

    nina.goto(platform.url + "/dashboard/calls")
    assert "/dashboard/login" in nina.url  # the session ended with the account
    nina.fill("#username", "nina")
    nina.fill("#password", PASSWORD)
    nina.click("#login-password")
    expect(nina.locator("#login-error")).to_be_visible()
    shot(nina, "login-refused")

    admin.click("#nav-audit")
    admin.wait_for_url(platform.url + "/dashboard/audit")
    expect(admin.locator('tr[data-action="user.disable"]')).to_contain_text("user:nina")
    expect(admin.locator('tr[data-action="user.create"]')).to_contain_text("главный админ")
    admin.select_option("#filter-action", "user.disable")
    admin.click("#audit-filter button[type=submit]")
    expect(admin.locator("#audit tbody tr")).to_have_count(1)
    expect(admin.locator("#audit tbody tr")).to_contain_text("пользователь отключён")
    shot(admin, "audit")

    admin.goto(platform.url + "/dashboard/people")
    admin.fill("#key-name", "CRM")
    admin.click("#key-create")
    secret = admin.locator("#secret")
    expect(secret).not_to_be_empty()
    key = secret.inner_text()
    assert key.startswith("vb_")
    shot(admin, "key-shown-once")
    admin.click("#secret-done")
    expect(admin.locator("#keys tr[data-key]").last).to_contain_text("CRM")
    assert key not in admin.content()
