"""The script studio over HTTP (SQLite and PostgreSQL): live checks with file:line, saves that keep a version
history, conflicts that lose nothing, rollback, diff, a YAML bomb refused, and a started campaign pinned to the
version it started with (the dialer asks for its calls in that version). Chat, listen and going live with the real
engine: test_script_studio_engine.py."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, time

import pytest

from bot.api.auth import Scope
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.core.calendar import Hours
from bot.core.clock import SimulatedClock
from bot.dialog.catalogue import load_catalogue
from bot.dialog.versions import older_versions
from bot.outcomes import Outcome
from bot.storage.models import Campaign
from tests.campaigns.simtools import dialer_for, make_campaign
from tests.dashboard.conftest import ROOT, Dashboard

HEADERS = {"X-Voicebot-Dashboard": "1"}
GREETING = "Здравствуйте, {name}!"
BOMB = "id: reminder\n" + "".join(
    f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9) if n else ', '.join(['lol'] * 9)}]\n" for n in range(9)
)


def _text(dashboard: Dashboard) -> str:
    return (dashboard.dialogs / "reminder.yml").read_text(encoding="utf-8")


def _changed(text: str, greeting: str) -> str:
    """The reminder with another Russian greeting (the first `say` line of the greet step)."""
    assert GREETING in text
    return text.replace(GREETING, greeting, 1)


def _save(dashboard: Dashboard, text: str, base: int):
    return dashboard.client.post(
        "/dashboard/scripts/reminder/save", json={"text": text, "base": base}, headers=HEADERS
    )


def _current(dashboard: Dashboard) -> int:
    versions = dashboard.client.get("/dashboard/scripts/reminder/versions").json()["versions"]
    return versions[0]["number"]


def test_studio_page_opens_the_script_file_as_version_1(dashboard: Dashboard) -> None:
    dashboard.login(Scope.READ)
    page = dashboard.client.get("/dashboard/scripts/reminder")
    assert page.status_code == 200
    assert "studio-editor.js" in page.text and "reminder.yml" in page.text
    versions = dashboard.client.get("/dashboard/scripts/reminder/versions").json()["versions"]
    assert [(v["number"], v["author"]) for v in versions] == [(1, "file")]
    assert dashboard.client.get("/dashboard/scripts/nope").status_code == 404
    assert dashboard.client.get("/dashboard/scripts/..%2Fetc").status_code == 404


def test_studio_check_names_the_line_of_a_syntax_error_and_of_a_bad_step(dashboard: Dashboard) -> None:
    dashboard.login(Scope.READ)
    text = _text(dashboard)
    lines = text.splitlines()
    where = next(i for i, line in enumerate(lines) if "goto: confirmed" in line)
    broken = "\n".join(
        [*lines[:where], lines[where].replace("goto: confirmed", "goto: [confirmed"), *lines[where + 1 :]]
    )
    errors = dashboard.client.post(
        "/dashboard/scripts/reminder/check", json={"text": broken}, headers=HEADERS
    ).json()["errors"]
    assert errors and errors[0]["file"] == "reminder.yml"
    assert errors[0]["line"] == where + 1, errors
    assert errors[0]["text"].startswith(f"reminder.yml:{where + 1}: bad YAML")

    unknown = text.replace("goto: confirmed", "goto: nowhere", 1)
    errors = dashboard.client.post(
        "/dashboard/scripts/reminder/check", json={"text": unknown}, headers=HEADERS
    ).json()["errors"]
    assert [e["line"] for e in errors] == [where + 1]
    assert "unknown step 'nowhere'" in errors[0]["message"]

    ok = dashboard.client.post(
        "/dashboard/scripts/reminder/check", json={"text": text}, headers=HEADERS
    ).json()
    assert ok == {"errors": []}


def test_studio_save_writes_the_file_and_a_version_rollback_restores_the_old_text(
    dashboard: Dashboard,
) -> None:
    dashboard.login(Scope.WRITE)
    original = _text(dashboard)
    changed = _changed(original, "Добрый день, {name}!")
    saved = _save(dashboard, changed, base=_current(dashboard))
    assert saved.status_code == 200, saved.text
    assert saved.json()["number"] == 2
    assert saved.json()["sha256"] == hashlib.sha256(changed.encode()).hexdigest()
    assert _text(dashboard) == changed  # the file under dialogs/ is what the CLI reads

    diff = dashboard.client.get("/dashboard/scripts/reminder/diff?old=1&new=2").json()["diff"]
    assert any(line.startswith("-") and GREETING in line for line in diff)
    assert any(line.startswith("+") and "Добрый день, {name}!" in line for line in diff)

    back = dashboard.client.post(
        "/dashboard/scripts/reminder/rollback", json={"number": 1, "base": 2}, headers=HEADERS
    )
    assert back.status_code == 200, back.text
    assert back.json()["number"] == 3 and back.json()["note"] == "rollback to 1"
    assert _text(dashboard) == original
    versions = dashboard.client.get("/dashboard/scripts/reminder/versions").json()["versions"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    missing = dashboard.client.get("/dashboard/scripts/reminder/versions/9")
    assert (
        missing.status_code == 404
        and missing.json()["message"] == "Нет такого сценария или версии: reminder @9"
    )
    assert versions[0]["author"].startswith("key:") and versions[0]["sha256"] == versions[2]["sha256"]


def test_studio_second_save_from_the_same_base_gets_a_conflict_with_both_texts(dashboard: Dashboard) -> None:
    dashboard.login(Scope.WRITE)
    base = _current(dashboard)
    first = _changed(_text(dashboard), "Добрый день, {name}!")
    second = _changed(_text(dashboard), "Доброе утро, {name}!")
    assert _save(dashboard, first, base).status_code == 200
    conflict = _save(dashboard, second, base)
    assert conflict.status_code == 409
    body = conflict.json()
    assert body["problem"] == "conflict" and "версия 2" in body["message"]
    assert body["yours"] == second  # nothing lost: the second editor's text comes back
    assert body["current"]["text"] == first and body["current"]["number"] == 2
    assert _text(dashboard) == first  # the first save stands
    assert _save(dashboard, second, base=2).status_code == 200  # merged onto the newest version: saved


def test_studio_refuses_invalid_scripts_and_yaml_bombs_without_storing_them(dashboard: Dashboard) -> None:
    dashboard.login(Scope.WRITE)
    original = _text(dashboard)
    bad = _save(dashboard, original.replace("goto: confirmed", "goto: nowhere", 1), base=1)
    assert bad.status_code == 422 and bad.json()["errors"][0]["text"].startswith("reminder.yml:")

    bomb = _save(dashboard, BOMB, base=1)
    assert bomb.status_code == 422
    assert "aliases expand the script past" in bomb.json()["errors"][0]["message"]
    recursive = _save(dashboard, "id: reminder\na: &a [1, *a]\n", base=1)
    assert recursive.status_code == 422
    assert "refers to the node that contains it" in recursive.json()["errors"][0]["message"]
    huge = dashboard.client.post(
        "/dashboard/scripts/reminder/save", json={"text": "#" * 600_000, "base": 1}, headers=HEADERS
    )
    assert huge.status_code == 422
    assert _text(dashboard) == original and _current(dashboard) == 1
    assert dashboard.client.get("/dashboard/").status_code == 200  # the server is unharmed


def test_studio_read_scope_may_look_not_save(dashboard: Dashboard) -> None:
    dashboard.login(Scope.READ)
    assert _save(dashboard, _text(dashboard), base=1).status_code == 403


def test_a_campaign_started_before_a_save_keeps_its_version(dashboard: Dashboard, api_headers=None) -> None:
    dashboard.login(Scope.WRITE)
    original = _text(dashboard)
    spec = {"name": "Напоминание", "script": "reminder", "variables": {"company": "Уют"}}
    created = dashboard.client.post("/api/v1/campaigns", json=spec, headers=HEADERS)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    started = dashboard.client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=HEADERS)
    assert started.status_code == 200, started.text
    assert _save(dashboard, _changed(original, "Добрый день, {name}!"), base=1).status_code == 200

    with dashboard.db.session() as session:
        pinned = session.get(Campaign, campaign_id).script_version
    assert pinned == hashlib.sha256(original.encode()).hexdigest()
    # what the calls of that campaign load: the pinned text, while the live script has the new greeting
    catalogue = load_catalogue(dashboard.dialogs, ROOT / "training_data")
    catalogue.older_versions = older_versions(dashboard.db.session)
    assert catalogue.get("reminder").steps["greet"].say["ru"].startswith("Добрый день")
    assert catalogue.version("reminder", pinned).steps["greet"].say["ru"].startswith("Здравствуйте")
    with pytest.raises(KeyError):
        catalogue.version("reminder", "0" * 64)


async def test_the_dialer_asks_for_the_calls_of_a_pinned_campaign_in_its_version(sqlite_db) -> None:
    clock = SimulatedClock(datetime(2025, 3, 3, 7, tzinfo=UTC))  # 10:00 in Moscow, a Monday
    rules = CampaignRules(rest_day_hours=Hours(start=time(9), end=time(21)), holidays_country="")
    campaign_id = make_campaign(sqlite_db, [("+79161110001", "Europe/Moscow")], clock.now(), rules)
    pinned = hashlib.sha256(b"the text the campaign started with").hexdigest()
    with sqlite_db.session() as session:
        session.get(Campaign, campaign_id).script_version = pinned
    placer = HeldPlacer()
    dialer = dialer_for(sqlite_db, placer, clock)
    await dialer.tick()
    await asyncio.sleep(0)
    assert [request.script_version for request in placer.requests] == [pinned]
    placer.release.set()
    await dialer.drain()


class HeldPlacer:
    """Keeps the requests it is given; the calls stay up until released."""

    def __init__(self) -> None:
        self.requests: list[CallRequest] = []
        self.release = asyncio.Event()

    async def place(self, request: CallRequest) -> CallReport:
        self.requests.append(request)
        await self.release.wait()
        return CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.CONFIRMED)
