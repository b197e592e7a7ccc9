"""The inbound REST hook: a CRM pushes contacts into a campaign as JSON, validated as CSV rows are."""

from __future__ import annotations

import pytest

from bot.api.auth import Scope
from tests.api.apiclient import Api
from tests.api.test_api_campaigns import create


def push(api: Api, campaign_id: int, body: object, scope: Scope = Scope.WRITE):
    return api.client.post(f"/api/v1/campaigns/{campaign_id}/contacts", json=body, headers=api.headers(scope))


def contacts_of(api: Api, campaign_id: int) -> dict[str, dict]:
    listed = api.client.get(f"/api/v1/campaigns/{campaign_id}/contacts", headers=api.headers(Scope.READ))
    return {c["phone"]: c for c in listed.json()}


def test_good_bad_and_duplicate_contacts_get_a_result_each(api: Api) -> None:
    cid = create(api)["id"]
    body = {
        "contacts": [
            {"phone": "8 916 123-45-67", "name": "Иван", "variables": {"amount": 100, "due": "01.04"}},
            {"phone": "12"},
            {"name": "no phone"},
            {"phone": "+79161234567", "name": "Иван И.", "timezone": "МСК+4", "variables": {"amount": 150}},
            {"phone": "+79031112233", "region": "Новосибирская обл."},
            {"phone": "+79031112244", "timezone": "Mars/Olympus"},
            "not an object",
            {"phone": "+79031112255", "email": "x@example.com"},
        ]
    }
    response = push(api, cid, body)
    assert response.status_code == 200, response.text
    report = response.json()
    statuses = [(r["index"], r["status"], r["phone"]) for r in report["results"]]
    assert statuses == [
        (0, "created", "+79161234567"),
        (1, "skipped", ""),
        (2, "skipped", ""),
        (3, "merged", "+79161234567"),
        (4, "created", "+79031112233"),
        (5, "skipped", ""),
        (6, "skipped", ""),
        (7, "skipped", ""),
    ]
    reasons = {r["index"]: r["reason"] for r in report["results"]}
    assert reasons[1] == "invalid phone number: '12'"  # the CSV import's own message
    assert reasons[2].startswith("phone: Field required")
    assert reasons[5] == "unknown time zone 'Mars/Olympus'"
    assert reasons[6] == "expected a JSON object, got str"
    assert reasons[7].startswith("email: Extra inputs are not permitted")
    assert (report["created"], report["merged"], report["skipped"]) == (2, 1, 5)

    stored = contacts_of(api, cid)
    assert sorted(stored) == ["+79031112233", "+79161234567"]
    ivan = stored["+79161234567"]
    assert (ivan["name"], ivan["timezones"], ivan["variables"]) == (
        "Иван И.",
        "Etc/GMT-7",
        {"amount": "150", "due": "01.04"},
    )
    assert report["results"][0]["contact_id"] == report["results"][3]["contact_id"] == ivan["id"]
    assert stored["+79031112233"]["timezones"] == "Asia/Novosibirsk"


def test_pushing_the_same_contacts_again_is_idempotent(api: Api) -> None:
    cid = create(api)["id"]
    body = {"contacts": [{"phone": "+79161234567", "name": "Иван"}, {"phone": "+79031112233"}]}
    first = push(api, cid, body).json()
    again = push(api, cid, body).json()
    assert (first["created"], again["created"], again["merged"]) == (2, 0, 2)
    assert [r["contact_id"] for r in again["results"]] == [r["contact_id"] for r in first["results"]]
    assert len(contacts_of(api, cid)) == 2


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "JSON"),
        (b'{"contacts": []}', "at least 1"),
        (b'{"people": [{"phone": "+79161234567"}]}', "Field required"),
        (b'[{"phone": "+79161234567"}]', "should be an object"),
    ],
)
def test_an_unusable_body_is_a_422(api: Api, raw: bytes, fragment: str) -> None:
    cid = create(api)["id"]
    response = api.client.post(
        f"/api/v1/campaigns/{cid}/contacts",
        content=raw,
        headers=api.headers() | {"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert any(fragment in error["msg"] for error in response.json()["detail"]), response.text


def test_too_many_contacts_in_one_push_is_a_422(api: Api) -> None:
    cid = create(api)["id"]
    response = push(api, cid, {"contacts": [{"phone": "+79161234567"}] * 10_001})
    assert response.status_code == 422
    assert "at most 10000" in response.json()["detail"][0]["msg"]


def test_push_needs_write_scope_an_open_campaign_and_a_known_content_type(api: Api) -> None:
    cid = create(api)["id"]
    body = {"contacts": [{"phone": "+79161234567"}]}
    assert push(api, cid, body, Scope.READ).status_code == 403
    assert push(api, 999, body).status_code == 404
    text = api.client.post(
        f"/api/v1/campaigns/{cid}/contacts", content=b"phone\n+79161234567\n", headers=api.headers()
    )
    assert text.status_code == 415
    assert api.client.post(f"/api/v1/campaigns/{cid}/stop", headers=api.headers()).status_code == 200
    stopped = push(api, cid, body)
    assert stopped.status_code == 409
    assert "stopped" in stopped.json()["detail"]


def test_csv_upload_without_a_file_is_a_422(api: Api) -> None:
    cid = create(api)["id"]
    response = api.client.post(
        f"/api/v1/campaigns/{cid}/contacts",
        files={"upload": ("contacts.csv", b"phone\n+79161234567\n", "text/csv")},
        headers=api.headers(),
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "file"]


def test_openapi_documents_both_bodies(api: Api) -> None:
    spec = api.client.get("/api/v1/openapi.json").json()
    content = spec["paths"]["/api/v1/campaigns/{campaign_id}/contacts"]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    items = content["application/json"]["schema"]["properties"]["contacts"]["items"]
    assert set(items["properties"]) == {"phone", "name", "timezone", "region", "variables", "consent"}
