"""The campaign wizard over HTTP: the draft created at the first step and saved at each later one through the
campaign service's validation, errors per field in Russian and English, the pages; a test call without a SIP phone
in the process; test calls kept out of the metrics and the call log (their own page stays)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path
from time import monotonic as time_now
from time import sleep

from prometheus_client import REGISTRY

from bot.api.auth import Scope
from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from bot.campaigns import service
from bot.campaigns.placer import CallReport, TelephonyResult
from bot.campaigns.rules import CampaignRules, Preset
from bot.dialog.catalogue import load_catalogue
from bot.storage.models import Call, Campaign
from tests.dashboard.conftest import ROOT

RU = {"accept-language": "ru", "X-Voicebot-Dashboard": "1"}
EN = {"accept-language": "en", "X-Voicebot-Dashboard": "1"}
RULES = {
    "preset": "general",
    "working_hours": {"start": "10:00", "end": "19:00"},
    "rest_day_hours": None,
    "weekdays": [1, 2, 3, 4, 5],
    "holidays_country": "RU",
    "max_attempts": 2,
    "retry_minutes": {"busy": 20, "no_answer": 90},
    "max_concurrent": 3,
    "pacing_cps": 0.5,
}
FORM = {
    "name": "Напоминание декабрь",
    "script": "reminder",
    "language": "ru",
    "variables": {"company": "Ромашка", "amount": ""},
    "rules": RULES,
    "start_date": "2026-12-07",
    "end_date": "2026-12-20",
    "dates_zone": "Asia/Yekaterinburg",
}


def test_the_draft_is_created_at_the_first_step_and_saved_at_each_next_one(dashboard):
    dashboard.login()
    created = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    with dashboard.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert (campaign.state, campaign.name, campaign.script) == (
            "draft",
            "Напоминание декабрь",
            "reminder",
        )
        assert campaign.variables == {"company": "Ромашка"}  # the empty one comes from the contact list
        rules = CampaignRules.model_validate(campaign.rules)
    assert rules.working_hours.start == time(10) and rules.rest_day_hours is None
    assert rules.weekdays == [1, 2, 3, 4, 5] and rules.max_attempts == 2
    assert {str(k): v for k, v in rules.retry_minutes.items()} == {"busy": 20, "no_answer": 90}
    # the days are local to the zone given: from 00:00 on the first day to the end of the last one
    assert rules.start_at == datetime(2026, 12, 6, 19, tzinfo=UTC)
    assert rules.end_at == datetime(2026, 12, 20, 19, tzinfo=UTC)

    debt = {
        **FORM,
        "rules": {**RULES, "preset": "debt_230fz", "working_hours": {"start": "07:00", "end": "23:00"}},
    }
    saved = dashboard.client.put(f"/dashboard/wizard/drafts/{campaign_id}", json=debt, headers=RU)
    assert saved.status_code == 200, saved.text
    with dashboard.db.session() as session:
        rules = CampaignRules.model_validate(session.get(Campaign, campaign_id).rules)
    assert rules.preset is Preset.DEBT_230FZ
    assert (rules.working_hours.start, rules.working_hours.end) == (time(8), time(22))  # clamped to the law
    assert (rules.interactions_per_day, rules.interactions_per_week, rules.interactions_per_month) == (
        1,
        2,
        8,
    )

    page = dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/wizard?step=contacts", headers=RU)
    assert (
        page.status_code == 200
        and '<a id="upload-link" class="button" href="#">Загрузить контакты</a>' in page.text
    )
    assert '"start_date": "2026-12-07"' in page.text and '"end_date": "2026-12-20"' in page.text


def test_errors_are_said_at_their_fields_in_the_readers_language(dashboard):
    dashboard.login()
    bad = {
        **FORM,
        "name": " ",
        "end_date": "2026-12-01",  # before the first day
        "rules": {
            **RULES,
            "working_hours": {"start": "18:00", "end": "09:00"},
            "weekdays": [],
            "max_concurrent": 0,
        },
    }
    ru = dashboard.client.post("/dashboard/wizard/drafts", json=bad, headers=RU)
    assert ru.status_code == 422, ru.text
    errors = {e["field"]: e["message"] for e in ru.json()["errors"]}
    assert errors == {
        "name": "Заполните это поле.",
        "rules.working_hours": "Конец должен быть позже начала.",
        "rules.weekdays": "Отметьте хотя бы один день недели.",
        "rules.max_concurrent": "Должно быть не меньше 1.",
    }
    en = dashboard.client.post("/dashboard/wizard/drafts", json=bad, headers=EN)
    assert {e["field"]: e["message"] for e in en.json()["errors"]}[
        "rules.weekdays"
    ] == "Tick at least one weekday."

    dates = dashboard.client.post(
        "/dashboard/wizard/drafts", json={**FORM, "end_date": "2026-12-01"}, headers=RU
    )
    assert dates.json()["errors"] == [
        {"field": "end_date", "message": "Последний день не может быть раньше первого."}
    ]
    script = dashboard.client.post("/dashboard/wizard/drafts", json={**FORM, "script": "nope"}, headers=EN)
    assert script.json()["errors"] == [{"field": "script", "message": "Choose a script from the list."}]
    lang = dashboard.client.post("/dashboard/wizard/drafts", json={**FORM, "language": "de"}, headers=RU)
    assert lang.json()["errors"][0]["field"] == "language"
    with dashboard.db.session() as session:
        assert session.query(Campaign).count() == 0  # nothing saved by a refused step


def test_a_launched_campaign_is_not_the_wizards_any_more(dashboard):
    dashboard.login()
    campaign_id = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU).json()["id"]
    with dashboard.db.session() as session:
        service.apply(session, campaign_id, service.Action.START, datetime.now(UTC))
    page = dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/wizard", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/dashboard/campaigns/{campaign_id}"
    saved = dashboard.client.put(f"/dashboard/wizard/drafts/{campaign_id}", json=FORM, headers=EN)
    assert saved.status_code == 409 and "already launched" in saved.json()["errors"][0]["message"]


def test_a_read_only_login_cannot_save_and_the_new_campaign_page_lists_the_scripts(dashboard):
    dashboard.login(Scope.READ)
    assert dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU).status_code == 403
    page = dashboard.client.get("/dashboard/campaigns/new", headers=EN)
    assert page.status_code == 200
    assert (
        'value="reminder"' in page.text
        and '<p class="hint">Time zones: calling hours are each customer' in page.text
    )


def test_a_test_call_needs_the_phone_of_voicebot_serve(dashboard):
    dashboard.login()
    campaign_id = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU).json()["id"]
    answer = dashboard.client.post(
        f"/dashboard/wizard/drafts/{campaign_id}/test-calls", json={"phone": "+79161234567"}, headers=EN
    )
    assert answer.status_code == 503
    assert answer.json()["message"].startswith("Test calls are placed by `voicebot serve`")
    assert dashboard.client.get("/dashboard/wizard/test-calls/nothing", headers=RU).status_code == 404


def test_test_calls_count_in_no_metric(dashboard):
    store = CallStore(dashboard.db, node="wizard-test")
    end = CallResult(outcome="confirmed", transcript=[{"at": 0.1, "speaker": "caller", "text": "да"}])

    async def calls() -> None:
        for call_id, test in (("real-1", False), ("test-1", True)):
            await store.started(
                CallStart(call_id, "outbound", "robot", "+79161234567", "reminder", "ru", test=test)
            )
            await store.answered(call_id)
            await store.ended(call_id, end)

    def counted() -> list[float]:
        labels = {"direction": "outbound"}
        names = ("voicebot_calls_started_total", "voicebot_calls_answered_total")
        ended = REGISTRY.get_sample_value("voicebot_calls_ended_total", {**labels, "outcome": "confirmed"})
        return [REGISTRY.get_sample_value(name, labels) or 0.0 for name in names] + [ended or 0.0]

    before = counted()
    asyncio.run(calls())
    assert [after - was for after, was in zip(counted(), before, strict=True)] == [
        1,
        1,
        1,
    ]  # the real call only
    dashboard.login()
    [row] = dashboard.client.get("/api/v1/metrics").json()
    assert row["calls"] == 1 and row["outcomes"] == {"confirmed": 1}, row
    log = dashboard.client.get("/api/v1/calls").json()
    assert [c["call_id"] for c in log] == ["real-1"]  # the call log lists the calls the metrics count
    detail = dashboard.client.get("/api/v1/calls/test-1").json()  # the wizard links the test call itself
    assert (detail["test"], detail["outcome"]) == (True, "confirmed")
    badge = '<span class="state" id="test-call">test call: counted in no metric</span>'
    assert badge in dashboard.client.get("/dashboard/calls/test-1", headers=EN).text
    assert 'id="test-call"' not in dashboard.client.get("/dashboard/calls/real-1", headers=EN).text


class RefusesToDial:
    """Stands in for serve's `PhoneCalls` (the real scripts) where a request must be refused before dialling."""

    def __init__(self, dialogs: Path) -> None:
        self.catalogue = load_catalogue(dialogs, ROOT / "training_data")

    async def place(self, *_args: object) -> None:
        raise AssertionError("a refused test call was dialled")


def start_test_call(dashboard, draft_id: int):
    """A test call of the draft to 8 916 123-45-67 with every variable of `FORM`'s script, accepted (202)."""
    variables = {"name": "Иван", "amount": "1500", "due_date": "2026-12-20"}
    started = dashboard.client.post(
        f"/dashboard/wizard/drafts/{draft_id}/test-calls",
        json={"phone": "8 916 123-45-67", "variables": variables},
        headers=RU,
    )
    assert started.status_code == 202, started.text
    return started


def test_a_test_call_with_a_bad_number_or_missing_variables_is_refused_before_dialling(dashboard):
    dashboard.login()
    dashboard.client.app.state.phone_calls = RefusesToDial(dashboard.dialogs)
    campaign_id = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU).json()["id"]
    path = f"/dashboard/wizard/drafts/{campaign_id}/test-calls"
    number = dashboard.client.post(path, json={"phone": "двенадцать"}, headers=RU)
    assert (number.status_code, number.json()["message"]) == (422, "Неверный номер телефона: «двенадцать».")
    missing = dashboard.client.post(
        path, json={"phone": "8 916 123-45-67", "variables": {"name": "Иван"}}, headers=EN
    )
    assert missing.status_code == 422
    assert missing.json()["message"].startswith("The call's variables do not fit: ")
    assert "amount" in missing.json()["message"]
    with dashboard.db.session() as session:
        assert session.query(Call).count() == 0


class Draining(RefusesToDial):
    """Answers as serve's `PhoneCalls` does once its worker is stopping: no call placed, no row."""

    async def place(self, *_args: object) -> CallReport:
        return CallReport(result=TelephonyResult.FAILED, error="not dialled: the worker is stopping")


def test_a_test_call_refused_before_it_had_a_row_ends_with_its_reason(dashboard):
    dashboard.login()
    dashboard.client.app.state.phone_calls = Draining(dashboard.dialogs)
    campaign_id = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU).json()["id"]
    started = start_test_call(dashboard, campaign_id)
    assert started.json()["phone"] == "+79161234567"
    path = f"/dashboard/wizard/test-calls/{started.json()['call_id']}"
    deadline = time_now() + 10
    while (state := dashboard.client.get(path).json())["state"] != "ended" and time_now() < deadline:
        sleep(0.05)
    assert state == {
        "state": "ended",
        "outcome": "",
        "error": "not dialled: the worker is stopping",
        "lines": [],
        "answered": False,
        "call": "",
    }


def test_the_wizard_sets_the_campaigns_purpose_and_its_consent_policy_applies(dashboard):
    dashboard.login()
    page = dashboard.client.get("/dashboard/campaigns/new", headers=RU)
    assert '<option value="advertising">Реклама и предложения</option>' in page.text
    created = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU)
    campaign_id = created.json()["id"]
    with dashboard.db.session() as session:
        assert session.get(Campaign, campaign_id).purpose == "service"  # the form's default
    advertising = {**FORM, "purpose": "advertising"}
    saved = dashboard.client.put(f"/dashboard/wizard/drafts/{campaign_id}", json=advertising, headers=RU)
    assert saved.status_code == 200, saved.text
    with dashboard.db.session() as session:
        assert session.get(Campaign, campaign_id).purpose == "advertising"
    again = dashboard.client.get(f"/dashboard/campaigns/{campaign_id}/wizard", headers=RU)
    assert '"purpose": "advertising"' in again.text  # a reopened draft keeps it
    bad = dashboard.client.put(
        f"/dashboard/wizard/drafts/{campaign_id}", json={**FORM, "purpose": "x"}, headers=RU
    )
    assert bad.status_code == 422
