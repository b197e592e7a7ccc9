"""Consent in the dashboard's contact upload: the consent columns suggested and mappable, the check's consent issues
(unreadable, missing where the campaign's purpose requires it) with their reasons, and the import storing them.
The reminder script's variables are left out of the lists: their issues are another test's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.campaigns import service
from bot.consent import Purpose
from bot.storage.models import Contact
from tests.dashboard.test_contact_upload import EN, NOW, RU, finish_import, upload

LIST = (
    "Телефон;Дата согласия;Канал согласия;Источник согласия\n"
    "+79161110001;05.11.2024;сайт;форма 17\n"
    "+79161110002;;;\n"
    "+79161110003;05.11.2024;голубь;\n"
).encode("cp1251")


def make_campaign(dashboard, purpose: Purpose) -> int:
    with dashboard.db.session() as session:
        spec = service.CampaignSpec(
            name="Опрос", script="reminder", purpose=purpose, variables={"company": "Банк"}
        )
        return service.create(session, spec, {"reminder"}, NOW).id


def test_consent_columns_are_checked_against_the_purpose_and_imported(dashboard) -> None:
    campaign_id = make_campaign(dashboard, Purpose.CUSTOM)  # shipped policy: consent required
    dashboard.login()
    shown = upload(dashboard, campaign_id, LIST).json()
    mapping = shown["mapping"]
    assert (mapping["consent_at"], mapping["consent_channel"], mapping["consent_source"]) == (
        "Дата согласия",
        "Канал согласия",
        "Источник согласия",
    )
    assert mapping["variables"] == {}

    base = f"/dashboard/campaigns/{campaign_id}/contacts/uploads/{shown['token']}"
    report = dashboard.client.post(f"{base}/check", json=mapping, headers=RU).json()
    assert (report["rows"], report["imported"], report["skipped"]) == (3, 2, 1)
    issues = {
        (i["row"], i["kind"]): i["reason"] for i in report["issues"] if i["kind"] != "missing_variables"
    }
    assert set(issues) == {(3, "consent_missing"), (4, "bad_consent")}
    assert issues[(3, "consent_missing")].startswith(
        "Номер +79161110002: для цели этой кампании нужно согласие"
    )
    assert "«05.11.2024 / голубь / »" in issues[(4, "bad_consent")]
    english = dashboard.client.post(f"{base}/check", json=mapping, headers=EN).json()
    assert any("requires consent" in issue["reason"] for issue in english["issues"])

    done = finish_import(dashboard, campaign_id, shown["token"], mapping)
    assert done["state"] == "done", done
    with dashboard.db.session() as session:
        contacts = {
            c.phone: c for c in session.scalars(select(Contact).where(Contact.campaign_id == campaign_id))
        }
    assert set(contacts) == {"+79161110001", "+79161110002"}
    consented = contacts["+79161110001"]
    assert (consented.state, consented.consent_channel, consented.consent_source) == (
        "pending",
        "web",
        "форма 17",
    )
    assert consented.consent_given_at == datetime(2024, 11, 5, tzinfo=UTC)
    assert contacts["+79161110002"].state == "blocked"


def test_a_purpose_without_consent_rules_reports_no_consent_issue(dashboard) -> None:
    campaign_id = make_campaign(dashboard, Purpose.REMINDER)
    dashboard.login()
    shown = upload(dashboard, campaign_id, LIST).json()
    base = f"/dashboard/campaigns/{campaign_id}/contacts/uploads/{shown['token']}"
    report = dashboard.client.post(f"{base}/check", json=shown["mapping"], headers=RU).json()
    kinds = [
        (issue["row"], issue["kind"]) for issue in report["issues"] if issue["kind"] != "missing_variables"
    ]
    assert kinds == [(4, "bad_consent")]
