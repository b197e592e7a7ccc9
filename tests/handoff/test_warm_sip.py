"""Warm transfer over SIP on the rig: a baresip customer calls the robot, which keeps them on hold ("соединяю",
then a generated tone), dials the queue's agents through Kamailio (a busy one first: SIPp answering 486), says the
summary (espeak-ng) to the baresip agent who answers, then joins the two calls by forwarding their audio.

Measured from the peers' own recordings: the agent hears the summary with no customer audio in it and the
customer only after it; the customer hears the hold audio (no silence) while waiting; after the join both hear
each other at the telephony suite's SNR (≥ 20 dB). An agent who hangs up during the summary never drops the
customer: the transfer fails with the robot still holding the call (the dialog bridge then takes it back)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from bot.handoff.warm import ACCEPT_PROMPT, CONNECTING, LegResult, Speak, WarmTransfer, speaker
from telephony import CallState, EndReason, TransferStatus, rig
from tests.telephony.conftest import TRUNK_PORT, robot_settings
from tests.telephony.test_tel_transfer import wait_for
from voice.tts_piper import EspeakSynthesizer

pytestmark = [pytest.mark.sip, pytest.mark.slow]

SUMMARY = "Соединяю клиента. Причина: клиент заинтересован в предложении. Данные разговора: people — три."
LONG_SUMMARY = " ".join([SUMMARY] * 4)  # ~20 s: long enough for someone to leave in the middle of it
RATE = 8000


def busy_agent(rig_dir):
    """SIPp behind the proxy (numbers 9…) answering 486 Busy Here once."""
    text = (rig.RIG / "uas_final.xml").read_text().replace("[code]", "486").replace("[reason]", "Busy Here")
    scenario = rig_dir / "uas_final_warm_486.xml"
    scenario.write_text(text)
    args = ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(TRUNK_PORT), "-m", "1", "-timeout", "30"]
    return rig.start_sipp(rig_dir, args, "warm-busy-486")


def transfer_in_russian(phone, agents: list[str], summary: str, speak: Speak, **options) -> WarmTransfer:
    """A warm transfer from `phone` ringing each agent user of `agents` in turn for 10 s, in Russian."""
    return WarmTransfer(
        phone, [(agent, agent) for agent in agents], summary=summary, connecting=CONNECTING["ru"], speak=speak,
        ring_seconds=10, **options,
    )  # fmt: skip


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean((samples.astype(np.float64) / 32768) ** 2))) if samples.size else 0.0


def frames_rms(samples: np.ndarray, ms: int = 100) -> list[float]:
    n = RATE * ms // 1000
    return [rms(samples[i : i + n]) for i in range(0, len(samples) - n + 1, n)]


def longest_run(flags: list[bool]) -> int:
    longest = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


async def test_warm_transfer_busy_agent_skipped_summary_first_hold_audio_both_ways(
    kamailio, make_phone, ports, rig_dir
):
    customer_says = rig.speechlike(40.0, seed=91)  # talking all along: nothing of it may reach the summary
    agent_says = rig.speechlike(40.0, seed=92)
    cust_wav = rig.write_wav(rig_dir / "warm-customer.wav", customer_says)
    agent_wav = rig.write_wav(rig_dir / "warm-agent.wav", agent_says)
    speak = speaker(EspeakSynthesizer("ru"))
    summary_pcm = np.frombuffer(await speak(SUMMARY), np.int16)
    transfers, results, marks = [], [], {}

    async def answer(call):
        await call.answer()
        marks["answered"] = time.monotonic()
        await asyncio.sleep(1.0)  # the robot's last words
        transfer = transfer_in_russian(phone, ["9486", "agent-warm"], SUMMARY, speak)
        transfers.append(transfer)
        marks["transfer"] = time.monotonic()
        results.append(await transfer(call))
        marks["joined"] = time.monotonic()
        marks["customer_call"] = call

    phone = await make_phone(robot_settings(ports, kamailio, "robot-warm"), on_incoming=answer)
    sipp = busy_agent(rig_dir)
    agent_home = rig.make_baresip(rig_dir, "agent-warm", 5740, agent_wav, "PCMU", kamailio, auto_answer=True)
    agent = rig.start_baresip(agent_home, 60)
    await asyncio.sleep(1.0)  # registered
    cust_home = rig.make_baresip(rig_dir, "cust-warm", 5750, cust_wav, "PCMU", kamailio)
    customer = rig.start_baresip(cust_home, 45, ["/dial sip:robot-warm@127.0.0.1"])
    try:
        assert await wait_for(lambda: results, 40), customer.output()[-3000:]
        await asyncio.sleep(5.0)  # the two talk through the robot
        assert marks["customer_call"].state is CallState.ACTIVE
    finally:
        customer.stop()
        await asyncio.sleep(1.0)
        agent.stop()
        sipp.stop()

    result, transfer = results[0], transfers[0]
    assert result.status is TransferStatus.SUCCEEDED, (result, transfer.report())
    report = transfer.report()
    print("warm transfer:", report)
    assert [leg["result"] for leg in report["legs"]] == [LegResult.BUSY, LegResult.ACCEPTED]
    assert report["legs"][0]["code"] == 486
    assert report["accepted_by"] == "agent-warm" and report["wait_seconds"] > 0

    # the agent: silence, the summary (nothing of the customer in it), then the customer's voice
    heard = rig.read_wav(rig.recording(agent_home, "dec"))
    summary = rig.compare_audio(summary_pcm, heard)
    print("agent hears the summary:", summary)
    assert summary.snr_db >= 15 and summary.corr >= 0.95, summary
    assert rms(heard[: max(0, summary.lag - 800)]) < 0.002  # nothing before the summary
    after = summary.lag + len(summary_pcm) + int(0.3 * RATE)
    voice = rig.compare_audio(customer_says, heard[after : after + 4 * RATE])
    print("agent hears the customer after the summary:", voice)
    assert voice.snr_db >= 20 and voice.corr >= 0.95, voice
    assert voice.active_frames >= 100 and voice.dead_frames == 0, voice

    # the customer: hold audio all through the wait, then the agent
    got = rig.read_wav(rig.recording(cust_home, "dec"))
    start = int((marks["transfer"] - marks["answered"] + 0.3) * RATE)
    end = int((marks["joined"] - marks["answered"] - 0.3) * RATE)
    waiting = frames_rms(got[start:end])
    quiet = [r < 0.002 for r in waiting]  # 100 ms frames under -54 dBFS
    print(
        f"customer waited {len(waiting) / 10:.1f} s; quiet: {sum(quiet)} frames, longest {longest_run(quiet)}"
    )
    assert len(waiting) >= 20  # two seconds at least: a busy agent, the summary
    # not silence: only the pauses of "соединяю…" (between its clauses and before the tone), none over 0.5 s
    assert longest_run(quiet) <= 5 and sum(quiet) <= len(quiet) // 10, waiting
    joined = int((marks["joined"] - marks["answered"] + 0.5) * RATE)
    back = rig.compare_audio(agent_says, got[joined : joined + 4 * RATE])
    print("customer hears the agent:", back)
    assert back.snr_db >= 20 and back.corr >= 0.95, back
    assert back.active_frames >= 100 and back.dead_frames == 0, back


async def test_agent_leaving_during_the_summary_never_drops_the_customer(
    kamailio, make_phone, ports, rig_dir
):
    silence = rig.write_wav(rig_dir / "warm-drop-customer.wav", np.zeros(RATE, np.int16), pad_seconds=40)
    speak = speaker(EspeakSynthesizer("ru"))
    transfers, results = [], []

    async def answer(call):
        await call.answer()
        await asyncio.sleep(0.5)
        transfer = transfer_in_russian(phone, ["agent-drop"], LONG_SUMMARY, speak)
        transfers.append(transfer)
        results.append((await transfer(call), call.state))
        await asyncio.sleep(1.0)
        results.append(call.state)  # still up after the failure: the robot takes the call back
        await call.hangup()

    phone = await make_phone(robot_settings(ports, kamailio, "robot-warm-drop"), on_incoming=answer)
    agent_home = rig.make_baresip(rig_dir, "agent-drop", 5760, silence, "PCMU", kamailio, auto_answer=True)
    agent = rig.start_baresip(agent_home, 60)
    await asyncio.sleep(1.0)
    cust_home = rig.make_baresip(rig_dir, "cust-warm-drop", 5770, silence, "PCMU", kamailio)
    customer = rig.start_baresip(cust_home, 45, ["/dial sip:robot-warm-drop@127.0.0.1"])
    try:
        legs = lambda: transfers and transfers[0].legs and transfers[0].legs[-1].answered_at  # noqa: E731
        assert await wait_for(legs, 20), customer.output()[-3000:]
        await asyncio.sleep(1.5)  # the agent hears part of the summary, then hangs up
        agent.stop()
        assert await wait_for(lambda: len(results) == 2, 20)
    finally:
        customer.stop()
        agent.stop()
    (result, state_then), state_after = results
    report = transfers[0].report()
    print("agent left during the summary:", result, report)
    assert result.status is TransferStatus.FAILED, result
    assert [leg["result"] for leg in report["legs"]] == [LegResult.LEFT_DURING_SUMMARY]
    assert report["accepted_by"] is None
    assert state_then is CallState.ACTIVE and state_after is CallState.ACTIVE


async def test_a_customer_leaving_during_the_summary_ends_the_agents_leg(
    kamailio, make_phone, ports, rig_dir
):
    silence = rig.write_wav(rig_dir / "warm-left-customer.wav", np.zeros(RATE, np.int16), pad_seconds=40)
    speak = speaker(EspeakSynthesizer("ru"))
    transfers, results, agent_calls, ended, watching = [], [], [], [], []

    async def customer_ended(call):
        await call.wait_ended()
        ended.append((time.monotonic(), call.end_reason))

    async def answer(call):
        await call.answer()
        watching.append(asyncio.create_task(customer_ended(call)))
        transfer = transfer_in_russian(robot, ["agent-py"], LONG_SUMMARY, speak)
        transfers.append(transfer)
        results.append(await transfer(call))

    async def agent_answers(call):
        agent_calls.append(call)
        await call.answer()

    robot = await make_phone(robot_settings(ports, kamailio, "robot-warm-left"), on_incoming=answer)
    await make_phone(robot_settings((5790, 36000, 36198), kamailio, "agent-py"), on_incoming=agent_answers)
    cust_home = rig.make_baresip(rig_dir, "cust-warm-left", 5780, silence, "PCMU", kamailio)
    customer = rig.start_baresip(cust_home, 45, ["/dial sip:robot-warm-left@127.0.0.1"])
    try:
        assert await wait_for(lambda: agent_calls, 20), customer.output()[-3000:]
        await asyncio.sleep(2.0)  # the agent hears the start of the summary; the customer hangs up
        customer.stop()
        assert await wait_for(lambda: results, 15)
        assert await wait_for(lambda: agent_calls[0].state is CallState.ENDED, 5)
        hung_up_after = time.monotonic() - ended[0][0]  # since the robot saw the customer's call end
    finally:
        customer.stop()
    report = transfers[0].report()
    print(
        f"customer's call ended ({ended[0][1]}); the agent's {hung_up_after:.2f} s later;", results[0], report
    )
    assert results[0].status is TransferStatus.FAILED
    assert [leg["result"] for leg in report["legs"]] == [LegResult.CUSTOMER_LEFT]
    assert agent_calls[0].end_reason is EndReason.REMOTE_BYE and hung_up_after < 2.0


async def test_with_an_accept_key_only_the_agent_who_presses_it_gets_the_customer(
    kamailio, make_phone, ports, rig_dir
):
    speak = speaker(EspeakSynthesizer("ru"))
    summary = SUMMARY + " " + ACCEPT_PROMPT["ru"].format(key="1")
    transfers, results, answered = [], [], {}

    async def answer(call):
        await call.answer()
        await asyncio.sleep(0.5)
        transfer = transfer_in_russian(
            robot, ["agent-silent", "agent-presses"], summary, speak, accept_key="1", accept_seconds=3
        )
        transfers.append(transfer)
        results.append(await transfer(call))

    def agent(name: str, press: bool):
        async def answers(call):
            answered[name] = call
            await call.answer()
            last_voice = None
            async for frame in call:
                if np.abs(np.frombuffer(frame, np.int16)).max() > 300:
                    last_voice = time.monotonic()
                elif press and last_voice and time.monotonic() - last_voice > 0.8:
                    await call.send_dtmf("1")  # the summary is over: take the call
                    return

        return answers

    robot = await make_phone(robot_settings(ports, kamailio, "robot-warm-key"), on_incoming=answer)
    await make_phone(
        robot_settings((5792, 36200, 36398), kamailio, "agent-silent"), on_incoming=agent("silent", False)
    )
    await make_phone(
        robot_settings((5794, 36400, 36598), kamailio, "agent-presses"), on_incoming=agent("key", True)
    )
    customer = await make_phone(robot_settings((5796, 36600, 36798), kamailio, "cust-warm-key"))
    dialled = await customer.dial("robot-warm-key", ring_timeout=10)
    assert dialled.answered, dialled
    try:
        assert await wait_for(lambda: results, 60)
    finally:
        await dialled.call.hangup()
    report = transfers[0].report()
    print("accept key:", results[0], report)
    assert results[0].status is TransferStatus.SUCCEEDED
    assert [leg["result"] for leg in report["legs"]] == [LegResult.NOT_ACCEPTED, LegResult.ACCEPTED]
    assert report["accepted_by"] == "agent-presses"
    assert (
        answered["silent"].end_reason is EndReason.REMOTE_BYE
    )  # hung up by the robot after 3 s without a key
