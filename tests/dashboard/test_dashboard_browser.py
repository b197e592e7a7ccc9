"""The dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against the real platform app
served by uvicorn with a dialer running. Calls are placed by `StoredCallPlacer` (tests/dashboard/platform.py):
acceptable for a UI test, it produces real stored calls quickly — rows written by the platform's CallStore with a
short WAV recording — without a phone network. Screenshots go to var/test-artifacts/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.browser import ARTIFACTS, BROWSER, chromium_page, playwright
from tests.dashboard.platform import Platform

pytestmark = BROWSER


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with Platform(tmp_path, contacts=6, call_seconds=1.5) as running:
        yield running


@pytest.fixture
def page(platform: Platform):
    with chromium_page() as page:
        yield page


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


def test_upload_a_windows_1251_list_with_a_bad_row_then_download_the_results(platform, page):
    """The bad row is reported with its reason (and in the error report), the rest imported; the campaign runs
    and its results come out as CSV, one row per contact."""
    expect = playwright.expect
    rows = "".join(f"Клиент {n};8 (916) 777-00-{n:02d};{100 * n};2026-12-{20 + n}\n" for n in range(1, 4))
    listing = ("ФИО;Телефон;Сумма;Срок оплаты\n" + rows + "Без номера;нет телефона;50;2026-12-24\n").encode(
        "cp1251"
    )
    page.goto(platform.url + "/dashboard/login")
    page.fill("#api-key", platform.key)
    page.click("#login-key")
    page.goto(platform.url + f"/dashboard/campaigns/{platform.campaign_id}")
    page.click("#upload-contacts")
    page.set_input_files("#file", files=[{"name": "клиенты.csv", "mimeType": "text/csv", "buffer": listing}])
    page.click("#send")
    expect(page.locator("#preview")).to_contain_text("Клиент 2")
    expect(page.locator("#row-count")).to_have_text("4")
    expect(page.locator('select[data-column="Телефон"]')).to_have_value("phone")
    expect(page.locator('select[data-column="ФИО"]')).to_have_value("name")
    page.select_option('select[data-column="Сумма"]', "var:amount")
    page.select_option('select[data-column="Срок оплаты"]', "var:due_date")
    shot(page, "upload-mapping")

    page.click("#check")
    bad = page.locator('#issues tr[data-kind="bad_phone"]')
    expect(bad).to_have_attribute("data-row", "5")
    expect(bad).to_contain_text("Неверный номер телефона: «нет телефона»")
    expect(page.locator("#r-imported")).to_have_text("3")
    expect(page.locator("#r-skipped")).to_have_text("1")
    with page.expect_download() as report:
        page.click("#error-report")
    assert "нет телефона" in Path(report.value.path()).read_bytes().decode("utf-8-sig")
    shot(page, "upload-report")

    page.click("#import")
    expect(page.locator("#import-done")).to_contain_text("новых контактов 3")
    expect(page.locator("#import-done")).to_contain_text("пропущено строк 1")
    shot(page, "upload-done")

    page.click("#to-campaign")
    expect(page.locator("#p-contacts")).to_have_text("9")
    page.click('#controls button[data-action="start"]')
    page.wait_for_function("Number(document.getElementById('p-converted').textContent) >= 1")
    with page.expect_download() as results:
        page.click("#results-csv")
    assert results.value.suggested_filename == f"campaign-{platform.campaign_id}-results.csv"
    table = list(csv.reader(io.StringIO(Path(results.value.path()).read_bytes().decode("utf-8-sig"))))
    assert table[0][:6] == ["contact_id", "phone", "name", "state", "attempts", "outcome"]
    assert len(table) == 1 + 9  # one row per contact
    assert {"+79167770001", "+79167770002", "+79167770003"} <= {row[1] for row in table}
    assert any(row[5] == "confirmed" for row in table[1:])
    shot(page, "campaign-after-upload")


def test_upload_a_do_not_call_list_for_every_campaign(platform, page):
    expect = playwright.expect
    numbers = "Телефон;Причина\n+7 916 555 00 01;жалоба\n+7 916 555 00 02;\nне номер;\n".encode("cp1251")
    page.goto(platform.url + "/dashboard/login")
    page.fill("#api-key", platform.key)
    page.click("#login-key")
    page.goto(platform.url + f"/dashboard/campaigns/{platform.campaign_id}")
    page.click("#upload-dnc")
    expect(page.locator("h1")).to_have_text("Загрузка списка «не звонить»")
    page.set_input_files("#file", files=[{"name": "жалобы.csv", "mimeType": "text/csv", "buffer": numbers}])
    page.click("#send")
    expect(page.locator('select[data-column="Телефон"]')).to_have_value("phone")
    expect(page.locator('select[data-column="Причина"] option')).to_have_count(
        2
    )  # skip or phone, nothing else
    page.check("#everywhere")
    page.click("#check")
    expect(page.locator('#issues tr[data-kind="bad_phone"]')).to_have_attribute("data-row", "4")
    page.click("#import")
    expect(page.locator("#import-done")).to_contain_text("добавлено номеров 2")
    shot(page, "dnc-upload-done")
    page.click("#to-campaign")
    expect(page.locator("#contact-states")).to_contain_text("не звонить")  # two of its contacts blocked


def test_the_campaigns_page_says_while_the_dialer_is_paused_for_a_line_down(platform, page):
    expect = playwright.expect
    page.goto(platform.url + "/dashboard/login")
    page.fill("#api-key", platform.key)
    page.click("#login-key")
    page.wait_for_url(platform.url + "/dashboard/")
    paused = page.locator("#dialer-paused")
    expect(page.locator(f'tr[data-campaign="{platform.campaign_id}"]')).to_be_visible()
    expect(paused).to_be_hidden()

    platform.placer.line = False  # the phone's registration lost: the dialer pauses on its next tick
    expect(paused).to_have_text(
        "Обзвон приостановлен: телефонная линия недоступна (нет регистрации на АТС). "
        "Он продолжится сам, когда регистрация восстановится."
    )
    shot(page, "campaigns-line-down")
    platform.placer.line = True
    expect(paused).to_be_hidden()
