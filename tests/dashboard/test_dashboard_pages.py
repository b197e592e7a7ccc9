"""Dashboard pages rendered by the server: call detail from a stored call, scripts with their validation status,
the language switch, and catalogues that cover every string the pages and scripts use."""

from __future__ import annotations

import json
import re

from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from bot.dashboard.i18n import LANGUAGES, LOCALES
from tests.dashboard.conftest import ROOT

DASHBOARD = ROOT / "bot" / "dashboard"


async def test_the_call_page_shows_transcript_outcome_slots_latencies_and_the_recording(dashboard, tmp_path):
    store = CallStore(dashboard.db)
    await store.started(
        CallStart("c-77", "inbound", caller="+79161234567", called="4951112233", script="inbound")
    )
    await store.answered("c-77")
    line = {"at": 2.5, "speaker": "caller", "text": "где мой заказ", "step": "menu", "intent": "order_status"}
    turn = {
        "index": 1,
        "kind": "text",
        "heard": "где мой заказ",
        "ms": {"asr_final": 35.0, "first_audio_out": 512.4},
    }
    wav = tmp_path / "c-77.wav"
    wav.write_bytes(b"RIFF")
    end = CallResult(
        outcome="transferred",
        slots={"order": "A-15"},
        transcript=[line],
        turns=[turn],
        recording=str(wav),
    )
    await store.ended("c-77", end)
    dashboard.login()
    page = dashboard.client.get("/dashboard/calls/c-77", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert "где мой заказ" in page.text and "order_status" in page.text and "transferred" in page.text
    assert "A-15" in page.text and ">512<" in page.text and ">35<" in page.text
    assert (
        '<audio id="recording" controls preload="metadata" src="/api/v1/calls/c-77/recording">' in page.text
    )
    missing = dashboard.client.get("/dashboard/calls/nope", headers={"accept-language": "en"})
    assert missing.status_code == 404 and "No such call." in missing.text


def test_the_scripts_page_lists_valid_scripts_and_the_errors_of_broken_ones(dashboard):
    (dashboard.dialogs / "broken.yml").write_text(
        "id: broken\ntitle: {ru: x, en: x}\nstart: nowhere\n", "utf-8"
    )
    dashboard.login()
    page = dashboard.client.get("/dashboard/scripts", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert '<tr data-script="reminder">' in page.text and "valid" in page.text
    broken = page.text[page.text.index('<tr data-script="broken" class="bad">') :]
    assert "broken.yml:" in broken and "errors (" in broken


def test_the_language_follows_the_browser_until_switched(dashboard):
    dashboard.login()
    assert "Кампании" in dashboard.client.get("/dashboard/", headers={"accept-language": "ru-RU,ru"}).text
    assert ">Campaigns<" in dashboard.client.get("/dashboard/", headers={"accept-language": "en-US"}).text
    switched = dashboard.client.get("/dashboard/lang/ru?next=/dashboard/calls", follow_redirects=False)
    assert switched.headers["location"] == "/dashboard/calls"
    assert (
        "Журнал звонков" in dashboard.client.get("/dashboard/calls", headers={"accept-language": "en"}).text
    )
    elsewhere = dashboard.client.get("/dashboard/lang/en?next=https://evil.example", follow_redirects=False)
    assert elsewhere.headers["location"] == "/dashboard/"


def test_each_catalogue_has_every_string_the_pages_and_scripts_use():
    used = set()
    for template in (DASHBOARD / "templates").glob("*.html"):
        used |= set(re.findall(r't\["([a-z_.]+)"\]', template.read_text("utf-8")))
    for script in (DASHBOARD / "static").glob("*.js"):
        used |= set(re.findall(r'VB\.t\("([a-z_.]+)"\)', script.read_text("utf-8")))
    assert len(used) > 50
    for lang in LANGUAGES:
        strings = json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))
        assert used <= set(strings), f"{lang} lacks {sorted(used - set(strings))}"
        assert all(text.strip() for text in strings.values())
    assert (
        len({frozenset(json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))) for lang in LANGUAGES}) == 1
    )
