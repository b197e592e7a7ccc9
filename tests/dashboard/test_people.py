"""The People page over HTTP (SQLite and PostgreSQL): an admin creates, disables, enables and removes dashboard
users and API keys; a disabled user cannot log in and loses their session; a key is shown once, works, and fails
once revoked; only admins reach the pages; the last admin cannot be disabled, removed or revoked; and every
state-changing dashboard action leaves an audit entry naming who did it."""

from __future__ import annotations

import time

from bot.access.session import COOKIE
from bot.api.auth import Scope
from tests.dashboard.conftest import Dashboard
from tests.dashboard.test_contact_upload import CP1251_LIST, MAPPING, finish_import, make_campaign, upload
from tests.dashboard.test_wizard import FORM, Draining, start_test_call

RU = {"accept-language": "ru", "X-Voicebot-Dashboard": "1"}
EN = {"accept-language": "en", "X-Voicebot-Dashboard": "1"}
SECRET = "s3cret-enough"


def _as_user(dashboard: Dashboard, name: str, password: str = SECRET) -> int:
    dashboard.client.cookies.clear()
    response = dashboard.client.post(
        "/dashboard/login", data={"username": name, "password": password}, follow_redirects=False
    )
    return response.status_code


def _create_user(dashboard: Dashboard, name: str, scope: str = "write") -> int:
    created = dashboard.client.post(
        "/dashboard/people/users", json={"name": name, "password": SECRET, "scope": scope}, headers=RU
    )
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _audit(dashboard: Dashboard) -> list[dict]:
    return dashboard.client.get("/api/v1/audit", headers={"X-API-Key": dashboard.keys[Scope.ADMIN]}).json()


def test_people_an_admin_creates_a_user_who_logs_in_until_disabled_and_then_is_removed(dashboard):
    dashboard.login(Scope.ADMIN)
    page = dashboard.client.get("/dashboard/people", headers=RU)
    assert page.status_code == 200 and 'id="new-user"' in page.text and "olga" in page.text
    user_id = _create_user(dashboard, "ivan", "write")
    assert 'data-user="ivan"' in dashboard.client.get("/dashboard/people").text

    assert _as_user(dashboard, "ivan") == 303
    assert dashboard.client.get("/api/v1/campaigns").status_code == 200  # ivan's session works with his scope
    ivan_session = dashboard.client.cookies[COOKIE]

    dashboard.login(Scope.ADMIN)
    assert dashboard.client.post(f"/dashboard/people/users/{user_id}/disable", headers=RU).status_code == 200
    assert "отключён" in dashboard.client.get("/dashboard/people", headers=RU).text
    assert _as_user(dashboard, "ivan") == 401  # refused at the login…
    dashboard.client.cookies.set(COOKIE, ivan_session)
    assert dashboard.client.get("/api/v1/campaigns").status_code == 401  # …and his open session is over

    dashboard.login(Scope.ADMIN)
    assert dashboard.client.post(f"/dashboard/people/users/{user_id}/enable", headers=RU).status_code == 200
    assert _as_user(dashboard, "ivan") == 303
    dashboard.login(Scope.ADMIN)
    assert dashboard.client.delete(f"/dashboard/people/users/{user_id}", headers=RU).status_code == 200
    assert 'data-user="ivan"' not in dashboard.client.get("/dashboard/people").text
    assert _as_user(dashboard, "ivan") == 401

    log = _audit(dashboard)
    assert [e["action"] for e in log] == [
        "user.remove",
        "user.enable",
        "user.disable",
        "user.create",
    ]
    assert {e["target"] for e in log} == {"user:ivan"}
    assert all(e["actor"].startswith("key:") and " admin key (vb_" in e["actor"] for e in log)
    assert SECRET not in str(log)


def test_people_bad_user_forms_get_a_clear_message_in_the_readers_language(dashboard):
    dashboard.login(Scope.ADMIN)
    path = "/dashboard/people/users"
    short = dashboard.client.post(
        path, json={"name": "ivan", "password": "short", "scope": "read"}, headers=RU
    )
    assert short.status_code == 422 and short.json()["message"] == "Пароль должен быть не короче 8 символов."
    odd = dashboard.client.post(
        path, json={"name": "иван пётр", "password": SECRET, "scope": "read"}, headers=EN
    )
    assert odd.status_code == 422 and "Latin letters" in odd.json()["message"]
    taken = dashboard.client.post(
        path, json={"name": "olga", "password": SECRET, "scope": "read"}, headers=EN
    )
    assert taken.status_code == 422 and taken.json()["message"] == "The name olga is taken already."
    missing = dashboard.client.post("/dashboard/people/users/999/disable", headers=EN)
    assert missing.status_code == 404 and missing.json()["message"] == "There is no such user."
    assert _audit(dashboard) == []


def test_people_a_new_key_is_shown_once_works_and_fails_once_revoked(dashboard):
    dashboard.login(Scope.ADMIN)
    created = dashboard.client.post(
        "/dashboard/people/keys", json={"name": "crm", "scopes": ["write"]}, headers=RU
    )
    assert created.status_code == 201
    key, key_id = created.json()["key"], created.json()["id"]
    page = dashboard.client.get("/dashboard/people").text
    assert f'data-key="{key_id}"' in page and key not in page and key[:10] in page  # only its start, ever
    assert dashboard.client.get("/api/v1/campaigns", headers={"X-API-Key": key}).status_code == 200
    assert dashboard.client.delete(f"/dashboard/people/keys/{key_id}", headers=RU).status_code == 200
    assert dashboard.client.get("/api/v1/campaigns", headers={"X-API-Key": key}).status_code == 401
    log = _audit(dashboard)
    assert [(e["action"], e["target"]) for e in log] == [
        ("api_key.revoke", f"key:{key_id}"),
        ("api_key.create", f"key:{key_id}"),
    ]
    assert key not in str(log)
    no_scope = dashboard.client.post("/dashboard/people/keys", json={"name": "x", "scopes": []}, headers=RU)
    assert no_scope.status_code == 422


def test_people_and_audit_pages_and_changes_are_for_admins_only(dashboard):
    dashboard.login(Scope.WRITE)
    for page in ("/dashboard/people", "/dashboard/audit"):
        refused = dashboard.client.get(page, headers=RU)
        assert refused.status_code == 403 and "только администраторам" in refused.text
    assert 'id="nav-people"' not in dashboard.client.get("/dashboard/").text
    changes = [
        ("post", "/dashboard/people/users", {"name": "ivan", "password": SECRET, "scope": "admin"}),
        ("post", "/dashboard/people/keys", {"name": "mine", "scopes": ["admin"]}),
        ("delete", "/dashboard/people/keys/1", None),
    ]
    for method, path, body in changes:
        answer = dashboard.client.request(method, path, json=body, headers=RU)
        assert answer.status_code == 403, (path, answer.text)
    dashboard.login(Scope.ADMIN)
    no_header = dashboard.client.post(
        "/dashboard/people/users", json={"name": "ivan", "password": SECRET, "scope": "admin"}
    )
    assert no_header.status_code == 403  # a cross-site form cannot send the dashboard's header
    assert _audit(dashboard) == []


def test_people_the_last_admin_cannot_disable_remove_or_revoke_themselves(dashboard):
    dashboard.login(Scope.ADMIN)
    admin_key = next(k["id"] for k in dashboard.client.get("/api/v1/keys").json() if k["name"] == "admin key")
    alone = dashboard.client.delete(f"/dashboard/people/keys/{admin_key}", headers=EN)
    assert alone.status_code == 409
    assert alone.json()["message"] == "admin key is the last admin: make someone else an admin first."
    anna = _create_user(dashboard, "anna", "admin")
    assert _as_user(dashboard, "anna") == 303
    assert dashboard.client.delete(f"/dashboard/people/keys/{admin_key}", headers=RU).status_code == 200
    for change in (
        ("post", f"/dashboard/people/users/{anna}/disable"),
        ("delete", f"/dashboard/people/users/{anna}"),
    ):
        refused = dashboard.client.request(*change, headers=RU)
        assert refused.status_code == 409
        assert refused.json()["message"] == (
            "anna — последний администратор: сначала назначьте другого администратора."
        )
    assert dashboard.client.get("/dashboard/people").status_code == 200  # still an admin
    boris = _create_user(dashboard, "boris", "admin")
    assert dashboard.client.post(f"/dashboard/people/users/{anna}/disable", headers=RU).status_code == 200
    assert dashboard.client.get("/dashboard/people", follow_redirects=False).status_code == 303  # logged out
    assert _as_user(dashboard, "boris") == 303
    assert dashboard.client.delete(f"/dashboard/people/users/{boris}", headers=RU).status_code == 409


def test_audit_every_state_changing_dashboard_action_is_recorded_with_who_did_it(dashboard):
    dashboard.login(Scope.ADMIN)
    _create_user(dashboard, "vera", "write")
    assert _as_user(dashboard, "vera") == 303

    draft = dashboard.client.post("/dashboard/wizard/drafts", json=FORM, headers=RU).json()["id"]
    assert dashboard.client.put(f"/dashboard/wizard/drafts/{draft}", json=FORM, headers=RU).status_code == 200
    dashboard.client.app.state.phone_calls = Draining(dashboard.dialogs)
    tested = start_test_call(dashboard, draft)
    for action in ("start", "pause", "resume", "stop"):
        changed = dashboard.client.post(f"/api/v1/campaigns/{draft}/{action}", headers=RU)
        assert changed.status_code == 200, changed.text

    campaign = make_campaign(dashboard)
    token = upload(dashboard, campaign, CP1251_LIST).json()["token"]
    assert finish_import(dashboard, campaign, token, MAPPING)["state"] == "done"
    base = f"/dashboard/campaigns/{campaign}/dnc/uploads"
    numbers = "Номер\n8 903 111-22-33\n".encode("cp1251")
    shown = dashboard.client.post(base, content=numbers, headers={**RU, "content-type": "text/csv"}).json()
    started = dashboard.client.post(f"{base}/{shown['token']}/import", json={"phone": "Номер"}, headers=RU)
    assert started.status_code == 202
    deadline = time.monotonic() + 30
    while dashboard.client.get(f"{base}/{shown['token']}").json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    text = (dashboard.dialogs / "reminder.yml").read_text(encoding="utf-8")
    changed = text.replace("Здравствуйте, {name}!", "Добрый день, {name}!", 1)
    studio = "/dashboard/scripts/reminder"
    assert (
        dashboard.client.post(f"{studio}/save", json={"text": changed, "base": 1}, headers=RU).status_code
        == 200
    )
    assert (
        dashboard.client.post(f"{studio}/save", json={"text": changed, "base": 2}, headers=RU).status_code
        == 200
    )
    back = dashboard.client.post(f"{studio}/rollback", json={"number": 1, "base": 2}, headers=RU)
    assert back.status_code == 200

    log = list(reversed(_audit(dashboard)))
    assert [(e["action"], e["actor"]) for e in log[1:]] == [
        ("wizard.save", "user:vera"),
        ("wizard.save", "user:vera"),
        ("wizard.test_call", "user:vera"),
        ("campaign.start", "user:vera"),
        ("campaign.pause", "user:vera"),
        ("campaign.resume", "user:vera"),
        ("campaign.stop", "user:vera"),
        ("contacts.import", "user:vera"),
        ("dnc.import", "user:vera"),
        ("script.save", "user:vera"),  # the same text again is no new version and no entry
        ("script.rollback", "user:vera"),
    ]
    assert log[0]["action"] == "user.create"
    assert log[1]["detail"] == {"created": True} and log[1]["target"] == f"campaign:{draft}"
    assert log[3]["detail"] == {"call_id": tested.json()["call_id"]}
    assert log[7]["detail"] == {"state": "stopped"}
    assert log[8]["target"] == f"campaign:{campaign}" and log[8]["detail"]["created"] == 3
    assert log[9]["detail"] == {"rows": 1, "created": 1, "merged": 0, "skipped": 0}
    assert log[11]["detail"]["version"] == 3 and log[11]["target"] == "script:reminder"
    assert (
        "+7903" not in str(log) and "+7916" not in str(log) and "Иванов" not in str(log)
    )  # no personal data

    dashboard.login(Scope.ADMIN)
    page = dashboard.client.get("/dashboard/audit", params={"action": "campaign.pause"}, headers=RU)
    assert page.status_code == 200 and page.text.count('data-action="campaign.pause"') == 1
    assert 'data-action="campaign.start"' not in page.text and "кампания приостановлена" in page.text
    by_vera = dashboard.client.get("/dashboard/audit", params={"actor": "vera"}, headers=EN).text
    assert by_vera.count("<tr data-action=") == 11 and "user:vera" in by_vera
    later = dashboard.client.get("/dashboard/audit", params={"since": "2099-01-01"}, headers=EN).text
    assert "No entries." in later
