"""`GET /api/v1/campaigns/{id}/pacing`: why the dialer slows a campaign paced by free agents, over HTTP, with the
real pacer deciding from a real `AgentBoard` and the campaign's records."""

from __future__ import annotations

import asyncio

from bot.api.auth import Scope
from bot.campaigns.agent_pacing import AgentPacer, BoardCapacity
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.config import AgentSettings, DialerSettings, HandoffSettings, QueueSettings
from bot.handoff.agents import AgentBoard
from bot.storage.models import Campaign


class NoCalls:
    async def place(self, request: CallRequest) -> CallReport:
        return CallReport(result=TelephonyResult.FAILED)


def _board() -> AgentBoard:
    settings = HandoffSettings(
        agents={"anna": AgentSettings(target="1001"), "boris": AgentSettings(target="1002")},
        queues={"sales": QueueSettings(target="sales", agents=["anna", "boris"], max_waiting=1)},
    )
    board = AgentBoard(settings)
    for name in ("anna", "boris"):
        board.reachable(name, True)
    return board


def _campaign(api, rules: dict) -> int:
    body = {"name": "leads", "script": "reminder", "rules": rules}
    response = api.client.post("/api/v1/campaigns", json=body, headers=api.headers(Scope.WRITE))
    assert response.status_code == 201, response.text
    campaign_id = response.json()["id"]
    started = api.client.post(f"/api/v1/campaigns/{campaign_id}/start", headers=api.headers(Scope.WRITE))
    assert started.status_code == 200, started.text
    return campaign_id


def _decide(api, pacer: AgentPacer, campaign_id: int, wanted: int = 5) -> int:
    """The pacer's decision for the campaign now, as the dialer's tick asks for it."""
    with api.client.app.state.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        session.expunge(campaign)
    return asyncio.run(
        pacer.room(campaign, CampaignRules.model_validate(campaign.rules).agent_pacing, wanted)
    )


def _pacing(api, campaign_id: int) -> dict:
    response = api.client.get(f"/api/v1/campaigns/{campaign_id}/pacing", headers=api.headers(Scope.READ))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_campaign_api_says_why_dialing_waits_for_agents(api):
    app = api.client.app
    board = _board()
    pacer = AgentPacer(app.state.db, BoardCapacity(board), lambda script: None)
    app.state.dialer = Dialer(app.state.db, NoCalls(), app.state.clock, DialerSettings(), pacer=pacer)
    campaign_id = _campaign(api, {"agent_pacing": {"queue": "sales"}})
    assert _pacing(api, campaign_id)["state"] is None  # no decision yet

    board.busy("anna")
    board.busy("boris")
    board.join_line("sales", "call-1")
    assert _decide(api, pacer, campaign_id) == 0
    paused = _pacing(api, campaign_id)
    assert paused == {
        "paced": True,
        "dialer_running": True,
        "state": "paused",
        "queue": "sales",
        "agents": 2,
        "free": 0,
        "waiting": 1,
        "max_waiting": 1,
        "calls_up": 0,
        "arriving": 0,
        "lead_rate": 1.0,  # the prior: no answered call yet
        "answered": 0,
        "allowed": 0,
    }

    board.leave_line("sales", "call-1")
    board.idle("anna")  # an agent frees up: up to 2 leads fit again
    assert _decide(api, pacer, campaign_id) == 2
    slowed = _pacing(api, campaign_id)
    assert (slowed["state"], slowed["free"], slowed["waiting"], slowed["allowed"]) == ("slowed", 1, 0, 2)

    board.idle("boris")  # both free: 3 new calls fit in 5 wanted, still slowed; with 3 wanted, open
    assert _decide(api, pacer, campaign_id, wanted=3) == 3
    assert _pacing(api, campaign_id)["state"] == "open"


def test_a_campaign_not_paced_or_without_a_dialer_has_no_pacing_state(api):
    unpaced = _campaign(api, {})
    assert _pacing(api, unpaced) == {
        "paced": False, "dialer_running": False, "state": None, "queue": None, "agents": None, "free": None,
        "waiting": None, "max_waiting": None, "calls_up": None, "arriving": None, "lead_rate": None, "answered": None,
        "allowed": None,
    }  # fmt: skip
    paced = _campaign(api, {"agent_pacing": {}})
    assert _pacing(api, paced)["paced"] is True
    assert api.client.get(f"/api/v1/campaigns/{paced}/pacing").status_code == 401
    missing = api.client.get("/api/v1/campaigns/999/pacing", headers=api.headers(Scope.READ))
    assert missing.status_code == 404


def test_agent_pacing_with_an_unknown_field_is_a_422(api):
    body = {"name": "leads", "script": "reminder", "rules": {"agent_pacing": {"queues": "sales"}}}
    response = api.client.post("/api/v1/campaigns", json=body, headers=api.headers(Scope.WRITE))
    assert response.status_code == 422
    assert "agent_pacing" in str(response.json()["detail"][0]["loc"])


def test_pacing_by_an_unconfigured_queue_is_a_422_naming_the_field(api):
    body = {"name": "leads", "script": "reminder", "rules": {"agent_pacing": {"queue": "nobody"}}}
    response = api.client.post("/api/v1/campaigns", json=body, headers=api.headers(Scope.WRITE))
    assert response.status_code == 422
    assert "queue 'nobody' is not configured in handoff.queues" in response.text
    assert "rules.agent_pacing.queue" in response.text
    campaign_id = _campaign(api, {})
    api.client.post(f"/api/v1/campaigns/{campaign_id}/pause", headers=api.headers(Scope.WRITE))
    patch = {"rules": {"agent_pacing": {"queue": "nobody"}}}
    edited = api.client.patch(
        f"/api/v1/campaigns/{campaign_id}", json=patch, headers=api.headers(Scope.WRITE)
    )
    assert edited.status_code == 422 and "rules.agent_pacing.queue" in edited.text
