"""A newcomer's first campaign, walked in headless Chromium (Playwright) against the real product: `voicebot serve`
(SQLite, its own Rasa, the 12-word Vosk test model) registered at a Kamailio PBX, where baresip customers answer
with recorded espeak-ng Russian ("алло", then "да"). Log in → new campaign from the reminder script in the wizard →
upload a Windows-1251 list with one bad row (reported, the rest imported) → a test call to a simulated customer
whose transcript and outcome appear live → launch → the campaign page and its results CSV. Each step's screenshot
goes to var/test-artifacts/walk/; the scripted walk's time is printed."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

from bot.devtools.demo import CUSTOMERS, Platform, free_port, platform_env, start_phone
from telephony import rig
from tests.conftest import ROOT, TEST_DATA_DIR, TINY
from tests.dashboard.browser import chromium_page, playwright

pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.sip, pytest.mark.browser]

ARTIFACTS = ROOT / "var" / "test-artifacts" / "walk"
PBX, ROBOT_SIP, ROBOT_RTP, PHONES = 5800, 5810, 33500, 5820  # away from other tests' ports
SAYS_YES = CUSTOMERS[0]  # "алло", then "да" once the robot has asked
CUSTOMER_PHONES = ("+79990000001", "+79990000002")  # both answer like SAYS_YES
LISTING = (
    "ФИО;Телефон;Сумма;Срок оплаты\n"
    "Иван Петров;8 (999) 000-00-01;1500;2026-12-20\n"
    "Анна Смирнова;8 (999) 000-00-02;2300;2026-12-21\n"
    "Без номера;нет телефона;50;2026-12-24\n"
).encode("cp1251")


@pytest.fixture
def product(dialog_service, tmp_path: Path):
    """Kamailio, two baresip customers and `voicebot serve` with a write key; stopped afterwards."""
    if not rig.have_peers():
        pytest.skip("kamailio, baresip and sipp are needed: scripts/setup.sh")
    workdir = ARTIFACTS / "platform"
    pbx_dir = workdir / "pbx"
    pbx_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **dialog_service,
        "VOICEBOT_RASA__PORT": str(free_port()),
        "VOICEBOT_RASA__ACTION_PORT": str(free_port()),
        **platform_env(workdir, PBX, ROBOT_SIP, ROBOT_RTP, free_port(), TINY),
    }
    platform = Platform(workdir, env)
    pbx = None
    phones = []
    try:
        platform.prepare("", models_from=[TEST_DATA_DIR / "rasa" / "models"])
        pbx = rig.start_kamailio(pbx_dir, PBX, PBX + 90)
        for n, phone in enumerate(CUSTOMER_PHONES):
            phones.append(start_phone(pbx_dir, phone, PHONES + 2 * n, PBX, SAYS_YES.audio())[1])
        key = platform.voicebot("apikeys", "create", "newcomer", "--scope", "write").strip()
        platform.use_api_key(key)
        platform.launch()
        platform.wait_ready(600)
        yield platform, key
    finally:
        platform.stop()
        for peer in phones:
            peer.stop()
        if pbx is not None:
            pbx.stop()


@pytest.fixture
def page():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(timeout=30, accept_downloads=True) as page:
        yield page


def test_a_newcomers_first_campaign(product, page):
    platform, key = product
    expect = playwright.expect
    url = str(platform.api.base_url).removesuffix("/api/v1/")
    shots = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{next(shots):02d}-{name}.png"), full_page=True)

    started = time.monotonic()
    page.goto(url + "/dashboard/")
    page.fill("#api-key", key)
    shot("login")
    page.click("#login-key")
    page.wait_for_url(url + "/dashboard/")

    page.click("#new-campaign")  # step 1: the script, its languages and variables, a name
    page.select_option("#script", "reminder")
    expect(page.locator("#script-languages")).to_have_text("русский, английский")
    expect(page.locator("#variables")).to_contain_text("due_date")
    page.fill('input[data-variable="company"]', "Ромашка")
    page.fill("#name", "Напоминание о платеже, декабрь")
    shot("wizard-script")
    page.click("#next")
    expect(page.locator("#saved")).to_contain_text("Черновик сохранён")
    assert "/wizard?step=rules" in page.url  # the draft exists from the first step

    # step 2: rules — a mistake first (the end before the start), said at its field
    page.fill("#working-start", "21:00")
    page.fill("#working-end", "09:00")
    page.click("#next")
    expect(page.locator('[data-error-for="rules.working_hours"]')).to_have_text(
        "Конец должен быть позже начала."
    )
    shot("wizard-rules-error")
    page.fill("#working-start", "00:00")  # any hour the test runs
    page.fill("#working-end", "23:59")
    page.check("#rest-days")
    page.fill("#rest-start", "00:00")
    page.fill("#rest-end", "23:59")
    page.select_option("#holidays", "")
    shot("wizard-rules")
    page.click("#next")
    page.fill("#max-concurrent", "2")  # step 3: retries, concurrency, pace
    shot("wizard-dialling")
    page.click("#next")

    page.click("#upload-link")  # step 4: the contact list, Windows-1251, one bad row
    page.set_input_files("#file", files=[{"name": "должники.csv", "mimeType": "text/csv", "buffer": LISTING}])
    page.click("#send")
    expect(page.locator("#row-count")).to_have_text("3")
    page.select_option('select[data-column="Сумма"]', "var:amount")
    page.select_option('select[data-column="Срок оплаты"]', "var:due_date")
    page.click("#check")
    bad = page.locator('#issues tr[data-kind="bad_phone"]')
    expect(bad).to_have_attribute("data-row", "4")
    expect(page.locator("#r-imported")).to_have_text("2")
    shot("upload-report")
    page.click("#import")
    expect(page.locator("#import-done")).to_contain_text("новых контактов 2")
    shot("upload-done")
    page.click("#to-campaign")  # back to the wizard, at the test call

    expect(page.locator("#test-phone")).to_be_visible()  # step 5: the test call, live
    page.fill("#test-phone", "8 999 000-00-01")
    page.fill('input.test-variable[data-variable="name"]', "Иван")
    page.fill('input.test-variable[data-variable="amount"]', "1500")
    page.fill('input.test-variable[data-variable="due_date"]', "2026-12-20")
    page.click("#call-me")
    expect(page.locator("#test-state")).to_have_attribute("data-state", "active", timeout=30_000)
    expect(page.locator("#test-transcript li.robot").first).to_contain_text("Ромашка", timeout=30_000)
    shot("test-call-live")
    expect(page.locator("#test-transcript li.caller").last).to_contain_text("да", timeout=60_000)
    expect(page.locator("#test-outcome")).to_have_attribute("data-outcome", "confirmed", timeout=30_000)
    shot("test-call-done")

    page.click("#next")  # step 6: launch
    expect(page.locator("#summary")).to_contain_text("Напоминание о платеже, декабрь")
    page.click("#launch")
    page.wait_for_url(f"{url}/dashboard/campaigns/*")
    campaign_id = int(page.url.rstrip("/").split("/")[-1])
    page.wait_for_function("Number(document.getElementById('p-converted').textContent) >= 2", timeout=120_000)
    shot("campaign")
    with page.expect_download() as results:
        page.click("#results-csv")
    walked = time.monotonic() - started
    table = list(csv.reader(io.StringIO(Path(results.value.path()).read_bytes().decode("utf-8-sig"))))
    assert [row[1] for row in table[1:]] == list(CUSTOMER_PHONES)
    assert [row[5] for row in table[1:]] == ["confirmed", "confirmed"]

    # the test call is in no metric: the campaign counts its two contacts' calls only
    metrics = platform.ok(platform.api.get(f"/metrics?campaign_id={campaign_id}"), 200)
    assert metrics[0]["calls"] == 2, metrics
    said = f"the newcomer's walk, scripted: {walked:.1f} s from the login page to the results CSV"
    (ARTIFACTS / "walk-time.txt").write_text(said + "\n", encoding="utf-8")
    print("\n" + said)
