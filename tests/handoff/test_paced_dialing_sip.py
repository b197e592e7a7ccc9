"""A lead campaign paced by free agents over SIP: two agents, a line of at most one, 10 customers who all become
leads — the dialer never has more leads waiting than the line's limit and resumes when an agent frees.

Real: Kamailio (a registrar of this test's own), the robot's SIP phone dialling each customer, the warm transfer
(`WarmTransfer`: "соединяю" and hold audio, the agents rung through the registrar, the summary said by espeak-ng,
the two calls bridged in the robot), the queue's line (`QueueLine`: the queue message, connected when an agent
frees, a full line taking the customer back), the `AgentBoard` fed by the robot's transfers and the OPTIONS probe,
the dialer with its `AgentPacer`, and the call and hand-off records. Not real: the dialog — each answered call is
a lead after `TALK_SECONDS` (no Rasa, no speech recognition); customers and agents are this platform's own SIP
phones (customers answer every call, agents answer and hang up `AGENT_SECONDS` later).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.call_results.result import CallResult
from bot.call_results.store import CallStore, EndedBy
from bot.campaigns.agent_pacing import AgentPacer, BoardCapacity, PaceState
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, CallRequest, TelephonyResult
from bot.config import DialerSettings, HandoffSettings
from bot.handoff.agents import AgentBoard
from bot.handoff.context import HandoffReason
from bot.handoff.probe import AgentProbe
from bot.handoff.records import HandoffRecords, HandoffRequest
from bot.handoff.warm import speaker
from bot.outcomes import Outcome
from bot.storage.db import Database
from bot.storage.models import Attempt, Contact
from telephony import rig
from tests.campaigns.test_agent_paced_dialing import (
    MAX_WAITING,
    NoonClock,
    answered_call,
    from_records,
    lead_campaign,
)
from tests.handoff.sales_transfer import sales_transfer
from tests.telephony.conftest import robot_settings
from tests.telephony.test_tel_transfer import wait_for
from voice.tts_piper import EspeakSynthesizer

pytestmark = [pytest.mark.sip, pytest.mark.slow]

KAMAILIO, TRUNK = 5990, 5992  # a registrar of this test's own: the suite's shared one may be in use
ROBOT, CUSTOMERS, AGENTS = (5994, 43000), (5996, 43400), ((5998, 43800), (6000, 44200))
TALK_SECONDS = 0.3
AGENT_SECONDS = 3.0  # an agent hangs up this long after answering (the summary, then the customer)
SUMMARY = "Клиент хочет купить."


@pytest.fixture(scope="module")
def registrar(tmp_path_factory):
    peer = rig.start_kamailio(tmp_path_factory.mktemp("paced-sip"), KAMAILIO, TRUNK)
    yield KAMAILIO
    peer.stop()


class SipLeadPlacer:
    """Dials every contact's call to the `cust-pace` phone; once answered and `TALK_SECONDS` on, the call is a
    lead: recorded `requested`, warm-transferred to `sales` with the board and the queue's line, recorded
    `completed` (or `failed`) with the transfer's report, and over when the bridged call ends."""

    def __init__(self, phone, board: AgentBoard, records: HandoffRecords, store: CallStore) -> None:
        self.phone, self.board, self.records, self.store = phone, board, records, store
        self.speak = speaker(EspeakSynthesizer("ru"))

    async def place(self, request: CallRequest) -> CallReport:
        dialled = await self.phone.dial("cust-pace", ring_timeout=10)
        if not dialled.answered:
            return CallReport(result=TelephonyResult.NO_ANSWER)
        call, call_id = dialled.call, f"pace-{request.attempt_id}"
        await answered_call(self.store, call_id, request)
        await asyncio.sleep(TALK_SECONDS)
        handoff = HandoffRequest(call_id, "sales", "sales", HandoffReason.QUALIFIED, "interested", {}, {})
        requested = await self.records.requested(handoff)
        transfer = sales_transfer(self.phone, self.board, call_id, SUMMARY, self.speak)
        result = await transfer(call)
        if result.succeeded:
            await self.records.completed(requested.handoff_id, transfer.waited or 0.0, transfer.report())
            await call.wait_ended()
            outcome = Outcome.TRANSFERRED
        else:
            await self.records.failed(requested.handoff_id, result.reason or "", None, transfer.report())
            await call.hangup()
            outcome = Outcome.CALLBACK
        await self.store.ended(call_id, CallResult(outcome=outcome.value, ended_by=EndedBy.CALLER))
        return CallReport(result=TelephonyResult.ANSWERED, outcome=outcome)


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "unpaced"])
async def test_a_paced_lead_campaign_over_sip_keeps_the_line_within_its_limit(
    registrar, make_phone, sqlite_db, paced: bool
):
    db: Database = sqlite_db
    clock = NoonClock()
    freed: list[datetime] = []

    async def customer(call) -> None:
        await call.answer()

    def agent(name: str):
        async def answers(call) -> None:
            await call.answer()
            await asyncio.sleep(AGENT_SECONDS)
            await call.hangup()
            freed.append(clock.now())

        return answers

    await make_phone(robot_settings((CUSTOMERS[0], CUSTOMERS[1], CUSTOMERS[1] + 398), registrar, "cust-pace"),
                     on_incoming=customer)  # fmt: skip
    for user, (port, rtp) in zip(("agent-pa", "agent-pb"), AGENTS, strict=True):
        await make_phone(robot_settings((port, rtp, rtp + 398), registrar, user), on_incoming=agent(user))
    robot = await make_phone(robot_settings((ROBOT[0], ROBOT[1], ROBOT[1] + 398), registrar, "robot-pace"))
    settings = HandoffSettings(
        agents={"anna": {"target": "agent-pa"}, "boris": {"target": "agent-pb"}},
        queues={"sales": {"target": "agent-pa", "mode": "warm", "agents": ["anna", "boris"],
                          "max_wait_seconds": 60, "max_waiting": MAX_WAITING, "handle_seconds": AGENT_SECONDS}},
    )  # fmt: skip
    board = AgentBoard(settings)
    probe = AgentProbe(board, robot.options, interval=1.0)
    probe.start()
    line: list[int] = []
    board.subscribe(lambda: line.append(board.waiting_count("sales")))
    placer = SipLeadPlacer(robot, board, HandoffRecords(db), CallStore(db, "sip-node"))
    pacer = AgentPacer(db, BoardCapacity(board), lambda script: "sales")
    dialer = Dialer(db, placer, clock, DialerSettings(tick_seconds=0.2, node="sip-node"), pacer=pacer)
    states: list[PaceState] = []
    try:
        assert await wait_for(lambda: board.free_count("sales") == 2, 10), "the probe found both agents"
        campaign_id = lead_campaign(db, paced)

        async def watch() -> None:
            while True:
                if pace := pacer.paces.get(campaign_id):
                    states.append(pace.state)
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        began = time.monotonic()
        await asyncio.wait_for(dialer.run(asyncio.Event(), until_idle=True), timeout=180)
        watcher.cancel()
    finally:
        await probe.stop()
    most_waiting, connected, taken_back = from_records(db)
    with db.session() as session:
        started = sorted(session.scalars(select(Attempt.started_at)))
        assert session.scalar(select(Contact.state).where(Contact.state != "done").limit(1)) is None
    print(
        f"{'paced' if paced else 'unpaced'} over SIP: {connected} connected, {taken_back} taken back, at most {most_waiting} waiting "
        f"(records), board line max {max(line)}, {time.monotonic() - began:.1f} s for 10 leads"
    )
    assert len(started) == 10
    if not paced:  # the same customers dialled without pacing: leads find the line full and are taken back
        assert taken_back > 0 and connected + taken_back == 10
        return
    assert (connected, taken_back) == (10, 0)
    assert most_waiting == max(line) == MAX_WAITING and PaceState.PAUSED in states
    for n, at in enumerate(started):  # 2 agents + 1 place in the line, then a call only after an agent freed
        freed_before = sum(moment <= at + timedelta(seconds=0.5) for moment in freed)
        assert freed_before >= n - 2, f"call {n + 1} started with {freed_before} agents freed before it"
