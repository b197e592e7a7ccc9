"""Warm transfer: the robot keeps the customer, calls the queue's agents one by one and tells the one who answers
who is coming, then joins the two calls by forwarding their audio both ways in the robot (no REFER).

    customer: "соединяю" → soft hold tone, looped …………………………………… → bridged to the agent
    agent 1:  dialled → busy / no answer / hung up during the summary → next agent
    agent 2:  dialled → answers → hears the summary → bridged to the customer

`WarmTransfer` is a `TransferCallFrame.procedure`: it returns a `TransferResult` once the calls are joined (the
bridge then lives until either side hangs up) or every agent failed while the robot still has the customer (the
dialog bridge then takes the call back as after a refused REFER). `legs` records every agent call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
from loguru import logger

from bot.handoff.agents import AgentBoard, AgentState
from bot.handoff.queue_wait import QueueLine, WaitEnd
from telephony.call import Call
from telephony.events import CallState, DialResult, DialStatus, TransferResult, TransferStatus
from telephony.phone import Phone
from telephony.transport import SAMPLE_RATE
from voice.tts_piper import Synthesizer, to_line_audio, with_pause

HOLD_LEVEL = 0.06  # of full scale (about -27 dBFS): heard, never loud
AUDIO_AHEAD = 0.2  # seconds of audio kept queued on a call while feeding it
PLAYOUT_TAIL = 0.2
ACCEPT_PROMPT = {"ru": "Чтобы принять звонок, нажмите {key}.", "en": "To take the call, press {key}."}
CONNECTING = {
    "ru": "Соединяю вас со специалистом, оставайтесь на линии.",
    "en": "Connecting you, please hold.",
}

Speak = Callable[[str], Awaitable[bytes]]  # text → 16-bit 8 kHz mono PCM


class LegResult(StrEnum):
    ACCEPTED = "accepted"  # answered, heard the summary, joined to the customer
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    FAILED = "failed"  # the call could not be placed
    LEFT_DURING_SUMMARY = "left_during_summary"  # answered, then hung up before the customer was joined
    NOT_ACCEPTED = "not_accepted"  # heard the summary but did not press the queue's key in time
    CUSTOMER_LEFT = "customer_left"  # the customer hung up while this agent was rung or told the summary
    UNREACHABLE = "unreachable"  # not rung: the board says the registrar does not reach the agent
    IN_CALL = "in_call"  # not rung: the board says the agent is on a call (or being rung) already


SKIPPED = {
    AgentState.UNREACHABLE: LegResult.UNREACHABLE,
    AgentState.BUSY: LegResult.IN_CALL,
    AgentState.RINGING: LegResult.IN_CALL,
}
_NEVER = object()  # an agent not tried yet

_LEG_RESULTS = {
    DialStatus.BUSY: LegResult.BUSY,
    DialStatus.NO_ANSWER: LegResult.NO_ANSWER,
    DialStatus.REJECTED: LegResult.REJECTED,
    DialStatus.CANCELLED: LegResult.CUSTOMER_LEFT,  # dialling is cancelled only when the customer is gone
}


@dataclass
class AgentLeg:
    """One call to an agent; seconds are since the warm transfer began."""

    agent: str
    dialled_at: float
    result: LegResult | None = None
    code: int | None = None
    answered_at: float | None = None
    summary_at: float | None = None  # the summary began
    connected_at: float | None = None

    def as_record(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}


def speaker(synthesizer: Synthesizer, volume: float = 1.0) -> Speak:
    """`Speak` with a TTS voice (synthesised on a worker thread), without the engine's padding."""

    async def speak(text: str) -> bytes:
        pcm = await asyncio.to_thread(synthesizer.synthesize, text)
        return with_pause(to_line_audio(pcm, synthesizer.sample_rate, SAMPLE_RATE, volume), text, SAMPLE_RATE)

    return speak


def hold_tone(seconds: float = 4.0) -> bytes:
    """A soft, slowly pulsing two-note chime (generated, no files): 16-bit 8 kHz PCM, `seconds` long, loopable."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    beat = (t % 1.0) < 0.5  # one note per half-second
    tone = np.where(beat, np.sin(2 * np.pi * 523.25 * t), np.sin(2 * np.pi * 659.25 * t))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * t) ** 2  # a gentle swell, never silent
    return (tone * envelope * HOLD_LEVEL * 32767).astype(np.int16).tobytes()


class WarmTransfer:
    """Dial `agents` ((name, SIP target) pairs) in order, say `summary` to the first who answers, then join them
    to the customer."""

    def __init__(
        self,
        phone: Phone,
        agents: list[tuple[str, str]],
        *,
        summary: str,
        connecting: str,
        speak: Speak,
        ring_seconds: float,
        headers: dict[str, str] | None = None,
        accept_key: str | None = None,
        accept_seconds: float = 10.0,
        board: AgentBoard | None = None,
        line: QueueLine | None = None,
    ) -> None:
        """`accept_key`: the agent takes the call by pressing it (within `accept_seconds` of the summary's end;
        the summary should say so, `ACCEPT_PROMPT`); without one, answering the phone accepts. `board`: agents
        it knows are rung only when free (or unknown), and are shown ringing, then busy while bridged; `line`:
        with no agent free, the customer waits in the queue's line for one."""
        self.phone, self.agents, self.summary, self.connecting = phone, agents, summary, connecting
        self.speak, self.ring_seconds, self.headers = speak, ring_seconds, headers or {}
        self.accept_key, self.accept_seconds = accept_key, accept_seconds
        self.board, self.line = board, line
        self.legs: list[AgentLeg] = []
        self.accepted: AgentLeg | None = None
        self.waited: float | None = None  # seconds the customer held until joined (or until the last failure)
        self.queue_full = False  # the line was full: taken back at once
        self._t0 = 0.0
        self._tried: dict[str, datetime | None] = {}  # agent → its board state's `since` when it failed
        self._skipped: set[tuple[str, datetime]] = set()
        self._hold_task: asyncio.Task | None = None

    async def __call__(self, customer: Call) -> TransferResult:
        self._t0 = time.monotonic()
        self._hold_task = asyncio.create_task(self._hold(customer, self.connecting))
        try:
            summary = await self.speak(self.summary)
            while customer.state is CallState.ACTIVE:
                ringable = self._ringable()
                for agent, target in ringable:
                    if customer.state is not CallState.ACTIVE:
                        break
                    leg = await self._try(agent, target, customer, summary)
                    if leg is not None:
                        await self._stop_hold()
                        customer.flush_audio()
                        self._join(customer, leg, agent)
                        self.waited = self._now()
                        if self.line is not None:
                            self.line.leave(WaitEnd.CONNECTED)
                        return TransferResult(TransferStatus.SUCCEEDED, 200, f"joined to {agent}")
                if ringable and (self.line is None or self.line.wait is None):
                    break  # every agent free to ring failed (busy elsewhere, no answer): the take-back
                if not await self._wait_in_line(customer):
                    break
        except Exception as exc:  # a broken leg or voice must never drop the customer
            logger.exception(f"warm transfer of {customer.call_id} failed")
            return self._failed(customer, f"warm transfer failed: {exc}")
        finally:
            await self._stop_hold()
            if self.line is not None:
                gone = customer.state is not CallState.ACTIVE
                self.line.leave(WaitEnd.ABANDONED if gone else WaitEnd.TIMED_OUT)
        if customer.state is CallState.ACTIVE:
            customer.flush_audio()
        if self.queue_full:
            return self._failed(customer, f"the queue's line is full ({self.line.max_waiting} waiting)")
        wait = self.line.wait if self.line else None
        if wait is not None and wait.ended is WaitEnd.TIMED_OUT:
            return self._failed(customer, f"no agent freed within {wait.seconds:.0f} s in the queue's line")
        if wait is not None and wait.ended is WaitEnd.ABANDONED:
            return self._failed(
                customer, f"the customer hung up after {wait.seconds:.0f} s in the queue's line"
            )
        return self._failed(customer, "no agent took the call: " + ", ".join(self._tried_legs()))

    def _ringable(self) -> list[tuple[str, str]]:
        """The agents to ring now, in order: on the board, those free or unknown and not already failed in the
        state they are in; without one (or for names it does not know), each agent once."""
        ringable = []
        for agent, target in self.agents:
            status = self.board.agent(agent) if self.board else None
            if status is None:
                if agent not in self._tried:
                    ringable.append((agent, target))
            elif status.state in SKIPPED:
                if (agent, status.since) not in self._skipped:
                    self._skipped.add((agent, status.since))
                    self.legs.append(AgentLeg(agent, self._now(), result=SKIPPED[status.state]))
            elif self._tried.get(agent, _NEVER) != status.since:
                ringable.append((agent, target))
        return ringable

    async def _wait_in_line(self, customer: Call) -> bool:
        """No agent is free: wait in the queue's line (announced once) until one may be rung (True), the wait is
        over or the customer left (False). Without a line, or with the line full: False at once."""
        line = self.line
        if line is None or customer.state is not CallState.ACTIVE:
            return False
        if line.wait is None:
            if line.full():
                self.queue_full = True
                return False
            wait = line.join()
            logger.info(f"warm transfer of {customer.call_id}: waiting in {line.queue} ({wait.message})")
            await self._stop_hold()
            customer.flush_audio()
            self._hold_task = asyncio.create_task(self._hold(customer, wait.message))
        ended = asyncio.create_task(customer.wait_ended())
        try:
            while customer.state is CallState.ACTIVE and line.time_left() > 0:
                change = asyncio.ensure_future(line.board.changed())  # any change from now on
                if line.at_head() and self._ringable():
                    change.cancel()
                    return True
                await asyncio.wait(
                    (change, ended), timeout=line.time_left(), return_when=asyncio.FIRST_COMPLETED
                )
                change.cancel()
        finally:
            ended.cancel()
        return False

    async def _stop_hold(self) -> None:
        if self._hold_task is not None:
            self._hold_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hold_task
            self._hold_task = None

    def report(self) -> dict:
        """For the hand-off record and the CRM events: every leg, the summary said, the wait, who accepted."""
        return {
            "mode": "warm",
            "summary": self.summary,
            "legs": [leg.as_record() for leg in self.legs],
            "accepted_by": self.accepted.agent if self.accepted else None,
            "accepted_after": self.accepted.connected_at if self.accepted else None,
            "wait_seconds": self.waited,
            "queue_wait": self.line.wait.as_record() if self.line and self.line.wait else None,
            "queue_full": self.queue_full,
        }

    def _failed(self, customer: Call, reason: str) -> TransferResult:
        self.waited = self._now()
        code = next((leg.code for leg in reversed(self.legs) if leg.code and leg.code >= 300), None)
        return TransferResult(TransferStatus.FAILED, code, reason)

    def _tried_legs(self) -> list[str]:
        return [f"{leg.agent} {leg.result}" for leg in self.legs] or ["none dialled"]

    def _now(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    async def _hold(self, customer: Call, text: str) -> None:
        """`text` ("соединяю", or the queue message), then the hold tone, looped while the customer waits."""
        await self._feed(customer, await self.speak(text))
        tone = hold_tone()
        while customer.state is CallState.ACTIVE:
            await self._feed(customer, tone)

    async def _feed(self, call: Call, pcm: bytes, while_up: Call | None = None) -> None:
        """Queue `pcm` on `call` a little ahead of real time (a cancelled feed leaves at most 0.2 s queued);
        stop early if `call`, or `while_up`, ends."""
        step = int(AUDIO_AHEAD * SAMPLE_RATE) * 2
        calls = (call, while_up or call)
        for start in range(0, len(pcm), step):
            while call.rtp.queued_bytes > step and _all_up(calls):
                await asyncio.sleep(0.02)
            if not _all_up(calls):
                return
            call.write_audio(pcm[start : start + step])

    async def _try(self, agent: str, target: str, customer: Call, summary: bytes) -> Call | None:
        """One agent: dial, say the summary, and return the agent's call if it is still up (None: next agent)."""
        leg = AgentLeg(agent, self._now())
        self.legs.append(leg)
        if self.board is None:
            call = await self._ring(leg, target, customer, summary)
            self._tried[agent] = None
            return call
        self.board.ringing(agent)
        call = await self._ring(leg, target, customer, summary)
        if call is None:
            self.board.idle(agent)
            status = self.board.agent(agent)
            self._tried[agent] = status.since if status else None
        else:
            self.board.busy(agent)
        return call

    async def _ring(self, leg: AgentLeg, target: str, customer: Call, summary: bytes) -> Call | None:
        agent = leg.agent
        gone = asyncio.Event()
        watch = asyncio.create_task(_set_when_ended(customer, gone))
        try:
            dialled: DialResult = await self.phone.dial(
                target, headers=self.headers, ring_timeout=self.ring_seconds, cancel=gone
            )
        finally:
            watch.cancel()
        leg.code = dialled.code
        if not dialled.answered or dialled.call is None:
            leg.result = _LEG_RESULTS.get(dialled.status, LegResult.FAILED)
            logger.info(f"warm transfer: agent {agent}: {leg.result} ({dialled.code} {dialled.reason})")
            return None
        call = dialled.call
        pressed = asyncio.Event()  # a key pressed during the summary counts too
        call.add_listener(
            lambda event: pressed.set() if event.digit and event.digit == self.accept_key else None
        )
        leg.answered_at = leg.summary_at = self._now()
        await self._feed(call, summary, while_up=customer)
        await _sent_or_ended(call, customer)
        await asyncio.sleep(PLAYOUT_TAIL)  # the agent's jitter buffer plays the summary's end out
        if not _all_up((call, customer)):
            left = customer.state is not CallState.ACTIVE
            leg.result = LegResult.CUSTOMER_LEFT if left else LegResult.LEFT_DURING_SUMMARY
            logger.info(f"warm transfer: agent {agent}: {leg.result} during the summary")
            await call.hangup()
            return None
        if self.accept_key and not await _pressed_in_time(pressed, self.accept_seconds, call, customer):
            left = customer.state is not CallState.ACTIVE
            leg.result = LegResult.CUSTOMER_LEFT if left else LegResult.NOT_ACCEPTED
            logger.info(f"warm transfer: agent {agent}: {leg.result}")
            await call.hangup()
            return None
        leg.result, leg.connected_at = LegResult.ACCEPTED, self._now()
        self.accepted = leg
        return call

    def _join(self, customer: Call, agent: Call, name: str) -> None:
        """Forward each call's audio to the other; when one side hangs up, hang up the other (and the agent
        is free again on the board)."""
        customer.forward_audio(agent)
        agent.forward_audio(customer)
        logger.info(f"warm transfer: {customer.call_id} joined to {agent.call_id}")

        async def hang_up_together() -> None:
            ended = [asyncio.create_task(c.wait_ended()) for c in (customer, agent)]
            await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
            for task in ended:
                task.cancel()
            if self.board is not None:
                self.board.idle(name)
            for call in (customer, agent):
                call.forward_audio(None)
                if call.state is CallState.ACTIVE:
                    await call.hangup()

        task = asyncio.get_running_loop().create_task(hang_up_together())
        _BRIDGES.add(task)
        task.add_done_callback(_BRIDGES.discard)


_BRIDGES: set[asyncio.Task] = set()  # joined calls being watched until one side hangs up


def _all_up(calls: tuple[Call, ...]) -> bool:
    return all(call.state is CallState.ACTIVE for call in calls)


async def _set_when_ended(call: Call, event: asyncio.Event) -> None:
    await call.wait_ended()
    event.set()


async def _pressed_in_time(pressed: asyncio.Event, seconds: float, *calls: Call) -> bool:
    """Whether the key is pressed within `seconds` while every call is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not pressed.is_set() and _all_up(calls) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return pressed.is_set() and _all_up(calls)


async def _sent_or_ended(call: Call, other: Call) -> None:
    """Until `call` has sent what is queued on it, or either call ended."""
    tasks = [asyncio.create_task(c) for c in (call.wait_audio_sent(), call.wait_ended(), other.wait_ended())]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()
