"""The REST API as a client sees it: happy paths, bad inputs and authorisation."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.api.auth import Scope
from bot.call_results.result import TimedLine
from bot.call_results.store import CallStore
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, TelephonyResult
from bot.campaigns.simulated import ScriptedPlacer
from bot.config import DialerSettings
from bot.core.clock import SimulatedClock
from bot.outcomes import Outcome
from bot.storage.models import Attempt, Contact
from tests.api.apiclient import Api
from voice.amd import Verdict

CAMPAIGN = {"name": "Напоминание", "script": "reminder", "variables": {"clinic": "Здоровье"}}


def create(api: Api, body: dict | None = None) -> dict:
    response = api.client.post("/api/v1/campaigns", json=body or CAMPAIGN, headers=api.headers())
    assert response.status_code == 201, response.text
    return response.json()


def upload(api: Api, campaign_id: int, data: bytes, **form: str):
    return api.client.post(
        f"/api/v1/campaigns/{campaign_id}/contacts",
        files={"file": ("contacts.csv", data, "text/csv")},
        data=form,
        headers=api.headers(),
    )


def test_campaign_lifecycle_over_http(api: Api) -> None:
    campaign = create(api)
    assert campaign["state"] == "draft"
    assert campaign["rules"]["preset"] == "general"
    cid = campaign["id"]
    path = f"/api/v1/campaigns/{cid}"
    edited = api.client.patch(path, json={"priority": 5}, headers=api.headers()).json()
    assert edited["priority"] == 5
    for action, state in (
        ("start", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("stop", "stopped"),
    ):
        response = api.client.post(f"{path}/{action}", headers=api.headers())
        assert response.status_code == 200, response.text
        assert response.json()["state"] == state
    response = api.client.post(f"{path}/resume", headers=api.headers())
    assert response.status_code == 409
    assert "stopped" in response.json()["detail"]
    assert api.client.patch(path, json={"priority": 1}, headers=api.headers()).status_code == 409
    listed = api.client.get("/api/v1/campaigns", headers=api.headers(Scope.READ)).json()
    assert [c["id"] for c in listed] == [cid]


def test_debt_campaign_rules_are_clamped_to_the_law(api: Api) -> None:
    rules = {"preset": "debt_230fz", "working_hours": {"start": "07:00", "end": "23:00"}}
    campaign = create(api, {"name": "Долги", "script": "debt", "rules": rules})
    assert campaign["rules"]["working_hours"] == {"start": "08:00:00", "end": "22:00:00"}
    assert campaign["rules"]["interactions_per_week"] == 2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (CAMPAIGN | {"script": "no_such_script"}, "unknown script"),
        (CAMPAIGN | {"language": "de"}, "language"),
        (CAMPAIGN | {"rules": {"weekdays": [9]}}, "weekdays"),
        (
            CAMPAIGN | {"rules": {"working_hours": {"start": "21:00", "end": "09:00"}}},
            "end must be after start",
        ),
        (CAMPAIGN | {"unexpected": 1}, "unexpected"),
        ({"script": "reminder"}, "name"),
    ],
)
def test_bad_campaigns_are_rejected_with_422(api: Api, body: dict, fragment: str) -> None:
    response = api.client.post("/api/v1/campaigns", json=body, headers=api.headers())
    assert response.status_code == 422
    assert fragment in response.text


def test_contact_upload_reports_bad_rows(api: Api) -> None:
    cid = create(api)["id"]
    data = "Телефон;Имя;Сумма\n8 916 123-45-67;Иван;100\n12;Пётр;5\n+79161234567;Иван И.;150\n".encode(
        "cp1251"
    )
    response = upload(api, cid, data)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "rows": 3,
        "created": 1,
        "merged": 1,
        "errors": [{"row": 3, "reason": "invalid phone number: '12'"}],
        "do_not_call": 0,
        "blocked": {"do_not_call": 0, "purpose_forbids_robot": 0, "consent_missing": 0},
    }
    contacts = api.client.get(f"/api/v1/campaigns/{cid}/contacts", headers=api.headers(Scope.READ)).json()
    assert [(c["phone"], c["name"], c["variables"]) for c in contacts] == [
        ("+79161234567", "Иван И.", {"Сумма": "150"})
    ]


@pytest.mark.parametrize(
    ("data", "form", "fragment"),
    [
        (b"", {}, "empty"),
        (b"name,amount\nIvan,5\n", {}, "no phone column"),
        (b"phone\n89161234567\n", {"phone_column": "msisdn"}, "no column 'msisdn'"),
        (b"\x00\xff\x00binary", {}, "not a text file"),
    ],
)
def test_malformed_csv_is_rejected_with_422(api: Api, data: bytes, form: dict, fragment: str) -> None:
    cid = create(api)["id"]
    response = upload(api, cid, data, **form)
    assert response.status_code == 422
    assert fragment in response.json()["detail"][0]["msg"]


def test_upload_to_unknown_campaign_is_404(api: Api) -> None:
    assert upload(api, 999, b"phone\n89161234567\n").status_code == 404


def test_dnc_accepts_valid_phones_only_and_blocks_pending_contacts(api: Api) -> None:
    cid = create(api)["id"]
    upload(api, cid, b"phone\n89161234567\n89031112233\n")
    response = api.client.post("/api/v1/dnc", json={"phone": "не номер"}, headers=api.headers())
    assert response.status_code == 422
    response = api.client.post("/api/v1/dnc", json={"phone": "8 916 123 45 67"}, headers=api.headers())
    assert response.json() == {"phone": "+79161234567", "added": True, "contacts_blocked": 1}
    again = api.client.post("/api/v1/dnc", json={"phone": "+79161234567"}, headers=api.headers())
    assert again.json()["added"] is False
    listed = api.client.get("/api/v1/dnc", headers=api.headers(Scope.READ)).json()
    assert [e["phone"] for e in listed] == ["+79161234567"]
    assert api.client.delete("/api/v1/dnc/+79161234567", headers=api.headers()).status_code == 204
    assert api.client.delete("/api/v1/dnc/+79161234567", headers=api.headers()).status_code == 404


def test_calls_and_results_export(api: Api) -> None:
    cid = create(api)["id"]
    assert api.client.get("/api/v1/calls/1", headers=api.headers(Scope.READ)).status_code == 404
    response = api.client.get(f"/api/v1/campaigns/{cid}/results.csv", headers=api.headers(Scope.READ))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[:3] == ["attempt_id", "contact_id", "phone"]


@pytest.mark.parametrize(
    ("method", "path", "scope", "expected"),
    [
        ("get", "/api/v1/campaigns", None, 401),
        ("get", "/api/v1/campaigns", "wrong", 401),
        ("get", "/api/v1/campaigns", Scope.READ, 200),
        ("post", "/api/v1/campaigns", Scope.READ, 403),
        ("post", "/api/v1/campaigns", Scope.ADMIN, 201),
        ("get", "/api/v1/keys", Scope.WRITE, 403),
        ("get", "/api/v1/keys", Scope.ADMIN, 200),
    ],
)
def test_api_keys_and_scopes(
    api: Api, method: str, path: str, scope: Scope | str | None, expected: int
) -> None:
    headers = {} if scope is None else {"X-API-Key": api.keys.get(scope, "vb_not-a-key")}
    response = api.client.request(method, path, json=CAMPAIGN if method == "post" else None, headers=headers)
    assert response.status_code == expected, response.text


def test_admin_creates_and_revokes_keys(api: Api) -> None:
    response = api.client.post(
        "/api/v1/keys", json={"name": "crm", "scopes": ["read"]}, headers=api.headers(Scope.ADMIN)
    )
    assert response.status_code == 201
    key = response.json()["key"]
    assert api.client.get("/api/v1/calls", headers={"X-API-Key": key}).status_code == 200
    api.client.delete(f"/api/v1/keys/{response.json()['id']}", headers=api.headers(Scope.ADMIN))
    assert api.client.get("/api/v1/calls", headers={"X-API-Key": key}).status_code == 401


def test_openapi_is_served_under_v1(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/campaigns/{campaign_id}/start" in spec["paths"]
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]


async def test_attempts_made_by_the_dialer_are_exported(api: Api) -> None:
    """The dialler's attempts (the call log of `calls` rows is tested in test_api_calls.py)."""
    every_day = {"start": "00:00", "end": "23:59"}
    body = CAMPAIGN | {"rules": {"working_hours": every_day, "rest_day_hours": every_day, "pacing_cps": 10}}
    cid = create(api, body)["id"]
    upload(api, cid, b"phone;timezone\n89161234567;UTC\n89031112233;UTC\n")
    api.client.post(f"/api/v1/campaigns/{cid}/start", headers=api.headers())
    clock = SimulatedClock(
        datetime.now(UTC).replace(hour=12) + timedelta(days=1)
    )  # after the upload, in the window
    transcript = [
        TimedLine(at=0.4, speaker="robot", text="Здравствуйте"),
        TimedLine(at=2.1, speaker="caller", text="да"),
    ]
    answered = CallReport(
        result=TelephonyResult.ANSWERED,
        outcome=Outcome.CONFIRMED,
        slots={"confirmed": True},
        transcript=transcript,
        talk_seconds=12.5,
        amd=Verdict.HUMAN,
    )
    placer = ScriptedPlacer(
        {"+79161234567": [answered]},
        default=CallReport(result=TelephonyResult.BUSY),
        clock=clock,
        store=CallStore(api.client.app.state.db),  # the calls' rows hold what the export shows of each
    )
    dialer = Dialer(api.client.app.state.db, placer, clock, DialerSettings())
    await dialer.tick()
    await dialer.drain()

    exported = api.client.get(f"/api/v1/campaigns/{cid}/results.csv", headers=api.headers(Scope.READ)).text
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {(r["phone"], r["outcome"], r["contact_state"]) for r in rows} == {
        ("+79161234567", "confirmed", "done"),
        ("+79031112233", "", "pending"),
    }
    assert json.loads(next(r["slots"] for r in rows if r["outcome"]))["confirmed"] is True


def test_dnc_import_from_csv(api: Api) -> None:
    cid = create(api)["id"]
    upload(api, cid, b"phone\n89161234567\n89031112233\n")
    data = "Телефон;Причина\n8 916 123-45-67;жалоба\nмусор;x\n+79161234567;повтор\n".encode("cp1251")
    response = api.client.post(
        "/api/v1/dnc/import", files={"file": ("dnc.csv", data, "text/csv")}, headers=api.headers()
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["merged"], [e["row"] for e in report["errors"]]) == (1, 1, [3])
    contacts = api.client.get(f"/api/v1/campaigns/{cid}/contacts", headers=api.headers(Scope.READ)).json()
    assert {c["phone"]: c["state"] for c in contacts} == {"+79161234567": "dnc", "+79031112233": "pending"}
    bad = api.client.post(
        "/api/v1/dnc/import", files={"file": ("x.csv", b"", "text/csv")}, headers=api.headers()
    )
    assert bad.status_code == 422


def test_results_export_defuses_spreadsheet_formulas(api: Api) -> None:
    cid = create(api)["id"]
    upload(api, cid, b'phone;name\n89161234567;=HYPERLINK("http://x")\n')
    db = api.client.app.state.db
    with db.session() as session:
        contact = session.scalars(select(Contact)).one()
        session.add(
            Attempt(
                campaign_id=cid,
                contact_id=contact.id,
                phone=contact.phone,
                number=1,
                state="done",
                started_at=datetime.now(UTC),
            )
        )
    exported = api.client.get(f"/api/v1/campaigns/{cid}/results.csv", headers=api.headers(Scope.READ)).text
    row = next(csv.DictReader(io.StringIO(exported)))
    assert row["name"] == '\'=HYPERLINK("http://x")'
    assert row["phone"] == "+79161234567"


def test_contacts_on_the_dnc_list_are_stored_blocked_at_import(api: Api) -> None:
    first, second = create(api)["id"], create(api)["id"]
    listed = [{"phone": "+79161234567"}, {"phone": "+79031112233", "campaign_id": first}]
    for body in listed:
        assert api.client.post("/api/v1/dnc", json=body, headers=api.headers()).status_code == 201
    csv = b"phone\n89161234567\n89031112233\n89035556677\n"
    reports = [upload(api, cid, csv).json() for cid in (first, second)]
    assert [(r["created"], r["do_not_call"]) for r in reports] == [(3, 2), (3, 1)]  # global + first's own
    states = [
        {
            c["phone"]: c["state"]
            for c in api.client.get(f"/api/v1/campaigns/{cid}/contacts", headers=api.headers()).json()
        }
        for cid in (first, second)
    ]
    assert states == [
        {"+79161234567": "dnc", "+79031112233": "dnc", "+79035556677": "pending"},
        {"+79161234567": "dnc", "+79031112233": "pending", "+79035556677": "pending"},
    ]
    pushed = api.client.post(
        f"/api/v1/campaigns/{second}/contacts",
        json={"contacts": [{"phone": "+79035556677"}, {"phone": "+79031112233"}]},
        headers=api.headers(),
    ).json()
    assert pushed["do_not_call"] == 0 and [r["do_not_call"] for r in pushed["results"]] == [False, False]
    assert (
        api.client.post(
            "/api/v1/dnc", json={"phone": "+79990001122", "campaign_id": second}, headers=api.headers()
        ).status_code
        == 201
    )
    pushed = api.client.post(
        f"/api/v1/campaigns/{second}/contacts",
        json={"contacts": [{"phone": "+79035556677"}, {"phone": "89990001122"}]},
        headers=api.headers(),
    ).json()
    assert pushed["do_not_call"] == 1
    assert [(r["status"], r["do_not_call"]) for r in pushed["results"]] == [
        ("merged", False),
        ("created", True),
    ]
