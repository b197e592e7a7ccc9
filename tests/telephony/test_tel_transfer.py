"""Blind transfer (REFER) of a real baresip customer: to an auto-answering baresip agent, and to targets that fail."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from telephony import CallState, EndReason, TransferStatus, rig
from tests.telephony.conftest import TRUNK_PORT, robot_settings

pytestmark = [pytest.mark.sip, pytest.mark.slow]


async def wait_for(predicate, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_transfer_customer_to_agent_agent_hears_customer(kamailio, make_phone, ports, rig_dir):
    customer_says = rig.speechlike(6.0, seed=33)
    wav = rig.write_wav(rig_dir / "transfer-customer.wav", customer_says, pad_seconds=20)
    silence = rig.write_wav(rig_dir / "transfer-agent.wav", np.zeros(8000, np.int16), pad_seconds=30)
    calls, results = [], []

    async def answer(call):
        calls.append(call)
        await call.answer()
        await asyncio.sleep(1.0)
        results.append(await call.transfer("agent-ok", timeout=10))

    await make_phone(robot_settings(ports, kamailio, "robot-xfer"), on_incoming=answer)
    agent_home = rig.make_baresip(rig_dir, "agent-ok", 5470, silence, "PCMU", kamailio, auto_answer=True)
    agent = rig.start_baresip(agent_home, 20)
    await asyncio.sleep(1.0)  # registered
    cust_home = rig.make_baresip(rig_dir, "cust-xfer", 5480, wav, "PCMU", kamailio)
    customer = rig.start_baresip(cust_home, 12, ["/dial sip:robot-xfer@127.0.0.1"])
    assert await wait_for(lambda: results, 15), customer.output()[-3000:]
    await asyncio.sleep(4.0)  # customer talks to the agent
    customer.stop()
    await asyncio.sleep(0.5)
    agent.stop()
    result = results[0]
    assert result.status is TransferStatus.SUCCEEDED, result
    assert result.code == 200
    call = calls[0]
    assert call.state is CallState.ENDED and call.end_reason is EndReason.TRANSFERRED
    heard = rig.read_wav(rig.recording(agent_home, "dec"))
    match = rig.compare_audio(customer_says, heard)
    assert match.snr_db >= 20, match
    assert match.corr >= 0.95, match
    assert match.active_frames >= 100 and match.dead_frames == 0, match  # >= 2 s of the customer's speech


@pytest.mark.parametrize(
    ("target", "code", "port"),
    [("nobody-here", 404, 5490), ("9486", 486, 5500)],
    ids=["unregistered-404", "agent-busy-486"],
)
async def test_failed_transfer_reports_code_and_robot_keeps_customer(
    target, code, port, kamailio, make_phone, ports, rig_dir
):
    """404: Kamailio has no such user; 486: the 'agent' (SIPp behind the proxy) rings, then rejects."""
    if code == 486:
        text = (
            (rig.RIG / "uas_final.xml").read_text().replace("[code]", "486").replace("[reason]", "Busy Here")
        )
        scenario = rig_dir / "uas_final_xfer_486.xml"
        scenario.write_text(text)
        agent = rig.start_sipp(
            rig_dir,
            ["-sf", str(scenario), "-i", "127.0.0.1", "-p", str(TRUNK_PORT), "-m", "1", "-timeout", "20"],
            "agent-486",
        )
        rig.wait_udp_port_bound(TRUNK_PORT)
    customer_says = rig.speechlike(12.0, seed=44)
    wav = rig.write_wav(rig_dir / f"transfer-fail-{code}.wav", customer_says, pad_seconds=10)
    calls, results, frames, after = [], [], [], []

    async def answer(call):
        calls.append(call)
        await call.answer()

        async def reader():
            async for frame in call:
                frames.append(frame)

        asyncio.get_running_loop().create_task(reader())
        await asyncio.sleep(1.0)
        results.append(await call.transfer(target, timeout=10))
        mark = len(frames)
        await asyncio.sleep(2.0)
        after.append(frames[mark:])
        after.append(call.state)
        after.append(await call.hangup())

    await make_phone(robot_settings(ports, kamailio, f"robot-xfer-{code}"), on_incoming=answer)
    cust_home = rig.make_baresip(rig_dir, f"cust-xfer-{code}", port, wav, "PCMU", kamailio)
    customer = rig.start_baresip(cust_home, 15, [f"/dial sip:robot-xfer-{code}@127.0.0.1"])
    assert await wait_for(lambda: len(after) == 3, 15), customer.output()[-3000:]
    customer.stop()
    if code == 486:
        assert agent.wait(5) == 0, agent.output()[
            -1500:
        ]  # the agent got the INVITE, rejected it, got its ACK
    result = results[0]
    assert result.status is TransferStatus.FAILED, result
    assert result.code == code, result
    frames_after, state_after, bye_ok = after
    assert state_after is CallState.ACTIVE  # the robot still has the customer
    heard = np.frombuffer(b"".join(frames_after), np.int16)
    assert len(frames_after) >= 90, len(frames_after)  # ~2 s of media kept flowing
    assert (
        np.sqrt(np.mean(heard.astype(np.float64) ** 2)) > 1000
    )  # and it is the customer's voice, not silence
    assert bye_ok and calls[0].end_reason is EndReason.LOCAL_HANGUP


async def test_pipeline_transfer_frame_hands_real_customer_to_agent_after_prompt(
    kamailio, make_phone, ports, rig_dir
):
    """The robot's pipeline says a 1 s prompt, then a TransferCallFrame: the customer hears the whole prompt,
    the agent then hears the customer, the result frame says SUCCEEDED/200 and the pipeline ends with the call."""
    from pipecat.frames.frames import OutputAudioRawFrame

    from telephony.transport import TransferCallFrame
    from tests.telephony.test_tel_pipeline import Bot, tone

    customer_says = rig.speechlike(6.0, seed=55)
    wav = rig.write_wav(rig_dir / "pipe-customer.wav", customer_says, pad_seconds=20)
    silence = rig.write_wav(rig_dir / "pipe-agent.wav", np.zeros(8000, np.int16), pad_seconds=30)
    bots, ended, done = [], [], asyncio.Event()
    prompt = tone(1.0, 600.0)

    async def answer(call):
        await call.answer()
        bot = Bot(call)
        bots.append(bot)
        async with bot:
            raw = prompt.tobytes()
            frames = [OutputAudioRawFrame(raw[i : i + 640], 8000, 1) for i in range(0, len(raw), 640)]
            await bot.worker.queue_frames([*frames, TransferCallFrame(target="agent-pipe", timeout=10)])
            finished, _ = await asyncio.wait({bot.task}, timeout=15)  # the transferred call ends it by itself
            ended.append(bool(finished))
        done.set()

    await make_phone(robot_settings(ports, kamailio, "robot-pipe"), on_incoming=answer)
    agent_home = rig.make_baresip(rig_dir, "agent-pipe", 5510, silence, "PCMU", kamailio, auto_answer=True)
    agent = rig.start_baresip(agent_home, 25)
    await asyncio.sleep(1.0)
    cust_home = rig.make_baresip(rig_dir, "cust-pipe", 5520, wav, "PCMU", kamailio)
    customer = rig.start_baresip(cust_home, 14, ["/dial sip:robot-pipe@127.0.0.1"])
    assert await wait_for(done.is_set, 18), customer.output()[-3000:]
    await asyncio.sleep(3.0)  # customer talks to the agent
    customer.stop()
    results = [frame.result for _, frame in bots[0].probe.results]
    assert len(results) == 1 and results[0].status is TransferStatus.SUCCEEDED and results[0].code == 200
    assert bots[0].transport.call.end_reason is EndReason.TRANSFERRED
    assert ended == [True], "the pipeline did not end with the transferred call"
    first_call = sorted((cust_home / "rec").glob("dump-*-dec.wav"))[0]  # the customer's call with the robot
    heard_prompt = rig.compare_audio(prompt, rig.read_wav(first_call))
    assert heard_prompt.snr_db >= 20 and heard_prompt.dead_frames == 0, (
        heard_prompt
    )  # whole prompt, then REFER
    agent.stop(timeout=15)  # baresip writes a recording's header when it closes it (its BYE can take ~5 s)
    agent_heard = rig.compare_audio(customer_says, rig.read_wav(rig.recording(agent_home, "dec")))
    assert agent_heard.snr_db >= 20 and agent_heard.active_frames >= 75, agent_heard
