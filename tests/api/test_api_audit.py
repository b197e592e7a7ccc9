"""The audit log over the API: admin only, newest first, filtered by action; key changes are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.api.auth import Scope
from bot.audit import AuditAction, record
from tests.api.apiclient import Api


def test_the_audit_log_is_for_admins_only(api: Api) -> None:
    assert api.client.get("/api/v1/audit").status_code == 401
    assert api.client.get("/api/v1/audit", headers=api.headers(Scope.WRITE)).status_code == 403
    assert api.client.get("/api/v1/audit", headers=api.headers(Scope.ADMIN)).json() == []


def test_key_changes_are_recorded_with_who_made_them(api: Api) -> None:
    admin = api.headers(Scope.ADMIN)
    created = api.client.post("/api/v1/keys", json={"name": "crm", "scopes": ["read"]}, headers=admin).json()
    assert api.client.delete(f"/api/v1/keys/{created['id']}", headers=admin).status_code == 204
    log = api.client.get("/api/v1/audit", headers=admin).json()
    assert [e["action"] for e in log] == ["api_key.revoke", "api_key.create"]
    assert {e["target"] for e in log} == {f"key:{created['id']}"}
    assert all(e["actor"].endswith("admin key") and e["actor"].startswith("key:") for e in log)
    assert log[1]["detail"] == {"name": "crm", "scopes": "read"}
    assert created["key"] not in str(log)


def test_entries_filter_by_action_and_time(api: Api) -> None:
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    with api.client.app.state.db.session() as session:
        record(session, AuditAction.PRIVACY_EXPORT, actor="cli", at=start, target="phone:ab12")
        record(
            session,
            AuditAction.PRIVACY_FORGET,
            actor="cli",
            at=start + timedelta(hours=1),
            target="phone:ab12",
        )
    admin = api.headers(Scope.ADMIN)
    only = api.client.get("/api/v1/audit", params={"action": "privacy.forget"}, headers=admin).json()
    assert [(e["action"], e["actor"]) for e in only] == [("privacy.forget", "cli")]
    later = api.client.get(
        "/api/v1/audit", params={"since": "2026-12-01T12:30:00+00:00"}, headers=admin
    ).json()
    assert [e["action"] for e in later] == ["privacy.forget"]
    unknown = api.client.get("/api/v1/audit", params={"action": "nothing"}, headers=admin)
    assert unknown.status_code == 422


def test_the_last_admin_key_cannot_be_revoked(api: Api) -> None:
    admin = api.headers(Scope.ADMIN)
    keys = api.client.get("/api/v1/keys", headers=admin).json()
    key_id = next(k["id"] for k in keys if "admin" in k["scopes"])
    refused = api.client.delete(f"/api/v1/keys/{key_id}", headers=admin)
    assert refused.status_code == 409 and "is the last admin" in refused.json()["detail"]
    second = api.client.post(
        "/api/v1/keys", json={"name": "second admin", "scopes": ["admin"]}, headers=admin
    ).json()
    assert api.client.delete(f"/api/v1/keys/{key_id}", headers=admin).status_code == 204
    log = api.client.get("/api/v1/audit", headers={"X-API-Key": second["key"]}).json()
    assert [e["action"] for e in log] == ["api_key.revoke", "api_key.create"]
