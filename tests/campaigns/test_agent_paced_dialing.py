"""A lead campaign paced by free agents: two agents, a line of at most one, 10 customers who all become leads.

Real: the dialer (`Dialer.run`), the `AgentBoard` and its queue settings, the campaign's records (attempts, the
`calls` rows of `CallStore`, the hand-off rows of `HandoffRecords`) and the offer script's lead queue. Simulated:
the phone network, the people and the warm transfer's audio — `LeadPlacer` answers each call, hands it off after a
short talk, takes a free agent or waits in the queue's line (the real `QueueLine`), then keeps the agent busy for
a while. Leads waiting are measured from the hand-off records (`warm.queue_wait` of each) and the board's line.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore, EndedBy
from bot.campaigns import service
from bot.campaigns.agent_pacing import AgentPacer, BoardCapacity, PaceState, script_queue
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.campaigns.rules import AgentPacing, CampaignRules
from bot.config import AgentSettings, DialerSettings, HandoffSettings, QueueSettings, TransferMode
from bot.dialog.loader import load_common, load_script
from bot.handoff.agents import AgentBoard, AgentState
from bot.handoff.context import HandoffReason
from bot.handoff.queue_wait import QueueLine, WaitEnd
from bot.handoff.records import HandoffRecords, HandoffRequest
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.storage.models import Attempt, Contact, Handoff

ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Moscow
TALK_SECONDS = 0.15  # the robot's part of each call, until the lead is handed off
AGENT_SECONDS = 0.5  # an agent's part
SUMMARY_SECONDS = (
    0.1  # from the hand-off's record to its agent or place in the line (the summary's synthesis)
)
MAX_WAITING = 1


class NoonClock:
    """Wall-clock seconds from a Wednesday noon in Moscow, so the calling window is open whenever the test runs."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def now(self) -> datetime:
        return NOON + timedelta(seconds=time.monotonic() - self.start)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def answered_call(store: CallStore, call_id: str, request: CallRequest) -> None:
    """Record the dialer's `request` as outbound call `call_id`, started and answered."""
    start = CallStart(
        call_id, "outbound", request.caller_id, request.phone, request.script, request.language,
        request.campaign_id, request.contact_id, request.attempt_id,
    )  # fmt: skip
    await store.started(start)
    await store.answered(call_id)


class LeadPlacer:
    """Every call is answered and talks `TALK_SECONDS`, then is handed off to `queue` as a warm transfer does it:
    the hand-off is recorded `requested`, the summary takes `SUMMARY_SECONDS` to prepare, then the lead takes a
    free agent or waits in the queue's line (the real `QueueLine`: a full line takes it back at once, recorded
    `failed`), is connected when it heads the line and an agent frees (recorded `completed` with the line wait in
    `warm.queue_wait`), keeps the agent busy `AGENT_SECONDS`, and ends."""

    def __init__(
        self, board: AgentBoard, records: HandoffRecords, store: CallStore, queue: str, clock
    ) -> None:
        self.board, self.records, self.store, self.queue, self.clock = board, records, store, queue, clock
        self.freed: list[datetime] = []  # when an agent became free again

    async def place(self, request: CallRequest) -> CallReport:
        call_id = f"lead-{request.attempt_id}"
        await answered_call(self.store, call_id, request)
        await asyncio.sleep(TALK_SECONDS)
        handoff = HandoffRequest(call_id, self.queue, "sales", HandoffReason.QUALIFIED, "interested", {}, {})
        requested = await self.records.requested(handoff)
        began = time.monotonic()
        await asyncio.sleep(SUMMARY_SECONDS)
        line = QueueLine(self.board, self.queue, call_id, "ru", 60.0, MAX_WAITING, AGENT_SECONDS)
        while (agent := self._free_agent(line)) is None:
            if line.wait is None:
                if line.full():
                    await self.records.failed(requested.handoff_id, "the queue's line is full", None)
                    return await self._end(call_id, Outcome.CALLBACK, TALK_SECONDS)
                line.join()
            await self.board.changed()
        if line.wait is not None:
            line.leave(WaitEnd.CONNECTED)
        self.board.busy(agent)
        warm = {"queue_wait": line.wait.as_record() if line.wait else None}
        await self.records.completed(requested.handoff_id, time.monotonic() - began, warm)
        await asyncio.sleep(AGENT_SECONDS)
        self.board.idle(agent)
        self.freed.append(self.clock.now())
        return await self._end(call_id, Outcome.TRANSFERRED, TALK_SECONDS + AGENT_SECONDS)

    def _free_agent(self, line: QueueLine) -> str | None:
        """A free agent for the lead when it heads the line (or is not in it and no one waits)."""
        if (line.wait is None and self.board.waiting_count(self.queue)) or not line.at_head():
            return None
        return next((a.name for a in self.board.agents(self.queue) if a.state is AgentState.FREE), None)

    async def _end(self, call_id: str, outcome: Outcome, seconds: float) -> CallReport:
        await self.store.ended(call_id, CallResult(outcome=outcome.value, ended_by=EndedBy.CALLER))
        return CallReport(result=TelephonyResult.ANSWERED, outcome=outcome, talk_seconds=seconds)


def _offer_queue() -> str | None:
    _, common = load_common(ROOT / "dialogs" / "_common.yml")
    offer, _ = load_script(ROOT / "dialogs" / "offer.yml", common)
    return script_queue({"offer": offer}, "offer")


def _board(queue: str) -> AgentBoard:
    settings = HandoffSettings(
        agents={"anna": AgentSettings(target="1001"), "boris": AgentSettings(target="1002")},
        queues={queue: QueueSettings(target=queue, mode=TransferMode.WARM, agents=["anna", "boris"], max_waiting=MAX_WAITING)},
    )  # fmt: skip
    board = AgentBoard(settings)
    for name in ("anna", "boris"):
        board.reachable(name, True)  # as the registrar's answer to a probe says
    return board


def lead_campaign(db: Database, paced: bool) -> int:
    pacing = AgentPacing() if paced else None
    rules = CampaignRules(max_concurrent=10, pacing_cps=50, retry_minutes={}, agent_pacing=pacing)
    with db.session() as session:
        spec = service.CampaignSpec(name="leads", script="offer", rules=rules)
        campaign = service.create(session, spec, {"offer"}, NOON)
        for n in range(10):
            session.add(
                Contact(
                    campaign_id=campaign.id, phone=f"+7916000000{n}", name=f"Клиент {n}", timezones="Europe/Moscow",
                    variables={}, state="pending", attempts=0, next_attempt_at=NOON,
                )
            )  # fmt: skip
        service.apply(session, campaign.id, service.Action.START, NOON)
        return campaign.id


def from_records(db: Database) -> tuple[int, int, int]:
    """From the hand-off records: the most leads waiting in the line at once (each completed hand-off's
    `warm.queue_wait`, started_at to ended_at), hand-offs connected, and leads taken back for a full line."""
    with db.session() as session:
        rows = session.execute(select(Handoff.state, Handoff.failure, Handoff.context)).all()
    events = []
    for _, _, context in rows:
        wait = (context.get("warm") or {}).get("queue_wait")
        if wait is not None:
            start, end = datetime.fromisoformat(wait["started_at"]), datetime.fromisoformat(wait["ended_at"])
            events += [(start, 1), (end, -1)]
    most = waiting = 0
    for _, step in sorted(events):  # an end before a start at the same moment
        waiting += step
        most = max(most, waiting)
    connected = sum(state == "completed" for state, _, _ in rows)
    full = sum(state == "failed" and "line is full" in failure for state, failure, _ in rows)
    return most, connected, full


async def _run(db: Database, paced: bool) -> tuple[LeadPlacer, list[PaceState], list[int], list[datetime]]:
    queue = _offer_queue()
    assert queue == "sales"
    board = _board(queue)
    line: list[int] = []  # the board's line after every change
    board.subscribe(lambda: line.append(board.waiting_count(queue)))
    clock = NoonClock()
    placer = LeadPlacer(board, HandoffRecords(db), CallStore(db, "test-node"), queue, clock)
    pacer = AgentPacer(db, BoardCapacity(board), lambda script: queue)
    dialer = Dialer(db, placer, clock, DialerSettings(tick_seconds=0.05, node="test-node"), pacer=pacer)
    campaign_id = lead_campaign(db, paced)
    states: list[PaceState] = []

    async def watch() -> None:
        while True:
            if pace := pacer.paces.get(campaign_id):
                states.append(pace.state)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), timeout=60)
    watcher.cancel()
    with db.session() as session:
        started = sorted(session.scalars(select(Attempt.started_at)))
        assert session.scalar(select(Contact.state).where(Contact.state != "done").limit(1)) is None
    assert len(started) == 10  # one attempt each: the retries are off
    return placer, states, line, started


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "unpaced"])
def test_leads_waiting_stay_within_the_queue_limit(db: Database, paced: bool):
    placer, states, line, started = asyncio.run(_run(db, paced))
    most_waiting, connected, taken_back = from_records(db)
    if not paced:  # the same customers without agent pacing: leads find the line full and are taken back
        assert taken_back > 0 and connected + taken_back == 10
        return
    assert (connected, taken_back) == (10, 0)
    assert most_waiting == max(line) == MAX_WAITING  # the line filled to its limit, never beyond
    assert PaceState.PAUSED in states
    # 2 agents + 1 place in the line: three calls at once, then each new call only after an agent freed
    for n, at in enumerate(started):
        freed_before = sum(moment <= at for moment in placer.freed)
        assert freed_before >= n - 2, f"call {n + 1} started with {freed_before} agents freed before it"
