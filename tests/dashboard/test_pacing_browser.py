"""The campaign page in headless Chromium says why dialing waits for agents, in Russian and English: the platform
app served by uvicorn, its dialer's pacer deciding from a real `AgentBoard` with both agents busy and one customer
in the line."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.api.auth import Scope, create_key
from bot.asgi import serve_app
from bot.campaigns import service
from bot.campaigns.agent_pacing import AgentPacer, BoardCapacity
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import AgentPacing, CampaignRules
from bot.config import AgentSettings, DialerSettings, HandoffSettings, PathsSettings, QueueSettings, Settings
from bot.core.clock import SystemClock
from bot.handoff.agents import AgentBoard
from bot.storage.db import Database
from bot.storage.models import Campaign
from bot.web import create_app
from tests.dashboard.browser import BROWSER, chromium_page, playwright
from tests.dashboard.platform import free_port

pytestmark = BROWSER


class NoCalls:
    async def place(self, request: CallRequest) -> CallReport:
        return CallReport(result=TelephonyResult.FAILED)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """The app on a free port with a paused paced campaign; yields (base URL, API key, campaign id)."""
    db = Database(f"sqlite:///{tmp_path / 'voicebot.db'}")
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:
        key = create_key(session, "operator", [Scope.READ], now)[1]
        rules = CampaignRules(agent_pacing=AgentPacing(queue="sales"))
        spec = service.CampaignSpec(name="Лиды", script="offer", rules=rules)
        campaign_id = service.create(session, spec, {"offer"}, now).id
        service.apply(session, campaign_id, service.Action.START, now)
    settings = HandoffSettings(
        agents={"anna": AgentSettings(target="1001"), "boris": AgentSettings(target="1002")},
        queues={"sales": QueueSettings(target="sales", agents=["anna", "boris"], max_waiting=1)},
    )
    board = AgentBoard(settings)
    for name in ("anna", "boris"):
        board.busy(name)
    board.join_line("sales", "call-1")
    pacer = AgentPacer(db, BoardCapacity(board), lambda script: None)
    with db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        session.expunge(campaign)
    assert asyncio.run(pacer.room(campaign, rules.agent_pacing, 5)) == 0
    port, ready, stop = free_port(), threading.Event(), threading.Event()

    async def run() -> None:
        app = create_app(Settings(paths=PathsSettings(data_dir=tmp_path / "var")), db=db)
        app.state.dialer = Dialer(db, NoCalls(), SystemClock(), DialerSettings(), pacer=pacer)
        server = await serve_app(app, "127.0.0.1", port)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await server.stop_serving()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the app did not start"
    yield f"http://127.0.0.1:{port}", key, campaign_id
    stop.set()
    thread.join(30)
    db.dispose()


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "ru-RU",
            "Ждём свободного оператора: новые звонки приостановлены. Свободных операторов: 0 из 2; ожидающих в "
            "очереди sales: 1 из 1; звонков до передачи: 0; доля лидов: 100 %.",
        ),
        (
            "en-US",
            "Waiting for a free agent: new calls paused. Agents free: 0 of 2; waiting in queue sales: 1 of 1; "
            "calls not yet handed off: 0; share of leads: 100 %.",
        ),
    ],
)
def test_the_campaign_page_says_why_dialing_waits_for_agents(served, locale, expected):
    url, key, campaign_id = served
    with chromium_page(locale) as page:
        page.goto(url + "/dashboard/login")
        page.fill("#api-key", key)
        page.click("#login-key")
        page.wait_for_url(url + "/dashboard/")
        page.goto(f"{url}/dashboard/campaigns/{campaign_id}")
        line = page.locator("#agent-pacing")
        playwright.expect(line).to_be_visible()
        playwright.expect(line).to_have_text(expected)
