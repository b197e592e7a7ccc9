"""Pacing by free agents in the dashboard over HTTP: the wizard offers it with the configured queues and saves it
with the campaign; the campaign page has the line that says why dialing waits (its text: tests/api/test_api_pacing.py
gives the figures the page's script fills in)."""

from __future__ import annotations

from bot.campaigns.rules import CampaignRules
from bot.storage.models import Campaign
from tests.dashboard.test_wizard import EN, FORM, RU


def test_the_wizard_offers_pacing_by_agents_and_saves_it(dashboard):
    dashboard.login()
    page = dashboard.client.get("/dashboard/campaigns/new", headers=RU)
    assert page.status_code == 200
    assert "Звонить не быстрее, чем операторы успевают принимать лидов" in page.text
    assert (
        '<option value="">— очередь из сценария —</option>' in page.text
        and "<option>sales</option>" in page.text
    )
    assert (
        "Dial no faster than agents can take the leads"
        in dashboard.client.get("/dashboard/campaigns/new", headers=EN).text
    )

    form = {**FORM, "script": "offer", "rules": {**FORM["rules"], "agent_pacing": {"queue": "sales"}}}
    created = dashboard.client.post("/dashboard/wizard/drafts", json=form, headers=RU)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    with dashboard.db.session() as session:
        rules = CampaignRules.model_validate(session.get(Campaign, campaign_id).rules)
    assert rules.agent_pacing is not None and rules.agent_pacing.queue == "sales"

    off = {**form, "rules": {**form["rules"], "agent_pacing": None}}
    assert (
        dashboard.client.put(f"/dashboard/wizard/drafts/{campaign_id}", json=off, headers=RU).status_code
        == 200
    )
    with dashboard.db.session() as session:
        assert CampaignRules.model_validate(session.get(Campaign, campaign_id).rules).agent_pacing is None

    bad = {**form, "rules": {**form["rules"], "agent_pacing": {"queue": ""}}}
    refused = dashboard.client.put(f"/dashboard/wizard/drafts/{campaign_id}", json=bad, headers=EN)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith("rules.agent_pacing.queue")

    unknown = {**form, "rules": {**form["rules"], "agent_pacing": {"queue": "nobody"}}}
    refused = dashboard.client.put(f"/dashboard/wizard/drafts/{campaign_id}", json=unknown, headers=RU)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert [error["field"] for error in errors] == ["rules.agent_pacing.queue"]
    assert errors[0]["message"].startswith("Очередь «nobody» не настроена в handoff.queues. Настроены: ")

    campaign_page = dashboard.client.get(f"/dashboard/campaigns/{campaign_id}", headers=RU)
    assert '<p class="error" id="agent-pacing" hidden></p>' in campaign_page.text
