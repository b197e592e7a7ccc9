"""Consent and purpose over the API: a campaign's purpose, consent given with contacts (CSV and JSON), the import's
counts of contacts not to be called, and each contact's reason before and after the dialer looked at it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.api.auth import Scope
from bot.call_results.result import TimedLine
from bot.call_results.store import CallStore
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, TelephonyResult
from bot.campaigns.simulated import ScriptedPlacer
from bot.config import DialerSettings
from bot.core.clock import SimulatedClock
from bot.outcomes import Outcome
from tests.api.apiclient import Api
from tests.api.test_api_campaigns import create, upload

CONSENTED, UNCONSENTED, LISTED = "+79161234567", "+79031112233", "+79261110000"
CONSENT = {"given_at": "2024-11-05T12:00:00+03:00", "channel": "web", "source": "site form 7"}


def campaign(api: Api, purpose: str) -> int:
    return create(api, {"name": "Опрос", "script": "reminder", "purpose": purpose})["id"]


def contacts(api: Api, campaign_id: int) -> dict[str, dict]:
    listed = api.client.get(f"/api/v1/campaigns/{campaign_id}/contacts", headers=api.headers(Scope.READ))
    assert listed.status_code == 200, listed.text
    return {c["phone"]: c for c in listed.json()}


def test_a_campaign_has_a_purpose(api: Api) -> None:
    assert create(api)["purpose"] == "service"
    cid = campaign(api, "advertising")
    path = f"/api/v1/campaigns/{cid}"
    assert api.client.get(path, headers=api.headers(Scope.READ)).json()["purpose"] == "advertising"
    edited = api.client.patch(path, json={"purpose": "survey"}, headers=api.headers())
    assert edited.json()["purpose"] == "survey"
    wrong = api.client.patch(path, json={"purpose": "spam"}, headers=api.headers())
    assert wrong.status_code == 422 and "purpose" in wrong.text


async def test_each_contact_says_why_the_dialer_will_not_call_it(api: Api) -> None:
    cid = campaign(api, "custom")  # shipped policy: consent required
    api.client.post("/api/v1/dnc", json={"phone": LISTED}, headers=api.headers())
    pushed = api.client.post(
        f"/api/v1/campaigns/{cid}/contacts",
        json={
            "contacts": [
                {"phone": CONSENTED, "timezone": "UTC", "consent": CONSENT},
                {"phone": UNCONSENTED, "timezone": "UTC"},
                {"phone": LISTED, "timezone": "UTC", "consent": CONSENT},
                {"phone": "+79161112233", "consent": {"given_at": "2024-11-05", "channel": "pigeon"}},
            ]
        },
        headers=api.headers(),
    )
    assert pushed.status_code == 200, pushed.text
    body = pushed.json()
    assert [(r["status"], r["blocked"]) for r in body["results"][:3]] == [
        ("created", None),
        ("created", "consent_missing"),
        ("created", "do_not_call"),
    ]
    assert body["results"][3]["status"] == "skipped" and "consent.channel" in body["results"][3]["reason"]
    assert body["blocked"] == {"consent_missing": 1, "do_not_call": 1}
    listed = contacts(api, cid)
    assert {phone: (c["state"], c["blocked"]) for phone, c in listed.items()} == {
        CONSENTED: ("pending", None),
        UNCONSENTED: ("blocked", "consent_missing"),
        LISTED: ("dnc", "do_not_call"),
    }
    assert (listed[CONSENTED]["consent_channel"], listed[CONSENTED]["consent_source"]) == (
        "web",
        "site form 7",
    )
    assert datetime.fromisoformat(listed[CONSENTED]["consent_given_at"]) == datetime(
        2024, 11, 5, 9, tzinfo=UTC
    )

    api.client.post(f"/api/v1/campaigns/{cid}/start", headers=api.headers())
    clock = SimulatedClock(datetime.now(UTC).replace(hour=12) + timedelta(days=1))
    placer = ScriptedPlacer(clock=clock)
    dialer = Dialer(api.client.app.state.db, placer, clock, DialerSettings())
    await dialer.tick()
    await dialer.drain()
    assert [c.request.phone for c in placer.placed] == [CONSENTED]

    consent_later = api.client.post(  # the CRM sends the consent afterwards: the contact is called
        f"/api/v1/campaigns/{cid}/contacts",
        json={"contacts": [{"phone": UNCONSENTED, "consent": CONSENT}]},
        headers=api.headers(),
    ).json()
    assert [(r["status"], r["blocked"]) for r in consent_later["results"]] == [("merged", None)]
    assert contacts(api, cid)[UNCONSENTED]["state"] == "pending"


def test_advertising_contacts_are_not_called_by_a_robot_even_with_consent(api: Api) -> None:
    cid = campaign(api, "advertising")
    data = (
        "телефон;часовой пояс;дата согласия;канал согласия;источник согласия\n"
        f"{CONSENTED};UTC;05.11.2024;письменно;анкета 17\n"
        f"{UNCONSENTED};UTC;;;\n"
    ).encode("cp1251")
    response = upload(api, cid, data)
    assert response.status_code == 200, response.text
    assert response.json()["blocked"] == {"do_not_call": 0, "purpose_forbids_robot": 2, "consent_missing": 0}
    listed = contacts(api, cid)
    assert {c["blocked"] for c in listed.values()} == {"purpose_forbids_robot"}
    assert (
        listed[CONSENTED]["consent_channel"] == "written" and listed[UNCONSENTED]["consent_channel"] is None
    )

    patched = api.client.patch(f"/api/v1/campaigns/{cid}", json={"purpose": "custom"}, headers=api.headers())
    assert patched.status_code == 200, patched.text
    assert {p: (c["state"], c["blocked"]) for p, c in contacts(api, cid).items()} == {
        CONSENTED: ("pending", None),
        UNCONSENTED: ("blocked", "consent_missing"),  # blocked before for the purpose, now for its consent
    }


def test_consent_columns_can_be_mapped_by_name(api: Api) -> None:
    cid = campaign(api, "custom")
    data = f"tel;agreed;how\n{CONSENTED};2024-11-05;sms\n{UNCONSENTED};;\n".encode()
    response = upload(
        api, cid, data, phone_column="tel", consent_at_column="agreed", consent_channel_column="how"
    )
    assert response.status_code == 200, response.text
    assert response.json()["blocked"]["consent_missing"] == 1
    assert {p: c["blocked"] for p, c in contacts(api, cid).items()} == {
        CONSENTED: None,
        UNCONSENTED: "consent_missing",
    }


async def test_an_opt_out_said_in_a_call_is_listed_with_its_call_and_moment(api: Api) -> None:
    cid = campaign(api, "reminder")
    api.client.post(
        f"/api/v1/campaigns/{cid}/contacts",
        json={"contacts": [{"phone": UNCONSENTED, "timezone": "UTC"}]},
        headers=api.headers(),
    )
    api.client.post(f"/api/v1/campaigns/{cid}/start", headers=api.headers())
    db = api.client.app.state.db
    clock = SimulatedClock(datetime.now(UTC).replace(hour=12) + timedelta(days=1))
    transcript = [
        TimedLine(at=0.5, speaker="robot", text="Напоминаем о записи"),
        TimedLine(at=4.25, speaker="caller", text="не звоните мне", intent="dont_call"),
    ]
    refuse = CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.DO_NOT_CALL, transcript=transcript)
    placer = ScriptedPlacer({UNCONSENTED: [refuse]}, clock=clock, store=CallStore(db))
    dialer = Dialer(db, placer, clock, DialerSettings())
    await dialer.tick()
    await dialer.drain()
    [entry] = api.client.get("/api/v1/dnc", headers=api.headers(Scope.READ)).json()
    call = api.client.get(f"/api/v1/calls/{entry['call_id']}", headers=api.headers(Scope.READ))
    assert call.status_code == 200, call.text
    answered = datetime.fromisoformat(call.json()["answered_at"])
    assert datetime.fromisoformat(entry["said_at"]) == answered + timedelta(seconds=4.25)
    assert contacts(api, cid)[UNCONSENTED]["blocked"] == "do_not_call"
