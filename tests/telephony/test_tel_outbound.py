"""Registration, digest auth and outbound dialling through Kamailio to a SIPp trunk stand-in."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from telephony import DialStatus, EndReason, RegistrationError, rig
from tests.telephony.conftest import TRUNK_AUTH_PORT, TRUNK_PORT, robot_settings, wait_peer

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def trunk(rig_dir, port: int, scenario: list[str], name: str) -> rig.Peer:
    peer = rig.start_sipp(
        rig_dir, [*scenario, "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-timeout", "20"], name
    )
    rig.wait_udp_port_bound(port)
    return peer


async def test_register_answers_401_and_wrong_password_fails_fast(kamailio_auth, make_phone, ports):
    phone = await make_phone(robot_settings(ports, kamailio_auth, "robot-reg"))
    assert phone.ua.registered
    bad = robot_settings((ports[0] + 1, ports[1], ports[2]), kamailio_auth, "robot-bad", password="wrong")
    start = time.monotonic()
    with pytest.raises(RegistrationError, match="wrong password"):
        await make_phone(bad)
    assert time.monotonic() - start < 3


async def test_invite_challenged_407_is_answered_and_audio_echoes(kamailio_auth, make_phone, ports, rig_dir):
    peer = trunk(
        rig_dir,
        TRUNK_AUTH_PORT,
        ["-sf", str(rig.RIG / "uas_echo.xml"), "-mp", "17000", "-rtp_echo"],
        "trunk-echo",
    )
    phone = await make_phone(robot_settings(ports, kamailio_auth, "robot-407"))
    result = await phone.dial("9001", ring_timeout=5)
    assert result.status is DialStatus.ANSWERED, result
    call = result.call
    said = rig.speechlike(1.5, seed=5)
    call.write_audio(said.tobytes())
    frames = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        frame = await asyncio.wait_for(call.read_audio(), 1)
        frames.append(frame)
    assert await call.hangup()
    assert await wait_peer(peer, 10) == 0, peer.output()[-1500:]
    echo = rig.compare_audio(said, np.frombuffer(b"".join(frames), np.int16))
    assert echo.snr_db >= 30, echo


async def test_dial_with_wrong_password_is_a_clear_failure(kamailio_auth, make_phone, ports):
    phone = await make_phone(
        robot_settings(
            ports,
            kamailio_auth,
            "robot-x",
            password="wrong",
            trunk_mode=True,
            proxy=f"127.0.0.1:{kamailio_auth}",
        )
    )
    start = time.monotonic()
    result = await phone.dial("9001", ring_timeout=5)
    assert result.status is DialStatus.FAILED and result.code == 407 and "wrong password" in result.reason
    assert time.monotonic() - start < 3 and phone.active_calls == 0


@pytest.mark.parametrize(
    ("code", "reason", "status"),
    [(486, "Busy", DialStatus.BUSY), (603, "Decline", DialStatus.REJECTED)],
)
async def test_dial_final_errors(code, reason, status, kamailio, make_phone, ports, rig_dir):
    text = (rig.RIG / "uas_final.xml").read_text().replace("[code]", str(code)).replace("[reason]", reason)
    path = rig_dir / f"uas_final_{code}.xml"
    path.write_text(text)
    scenario = ["-sf", str(path)]
    peer = trunk(rig_dir, TRUNK_PORT, scenario, f"trunk-{code}")
    phone = await make_phone(robot_settings(ports, kamailio, f"robot-{code}"))
    result = await phone.dial("9002", ring_timeout=5)
    assert result.status is status and result.code == code, result
    assert await wait_peer(peer, 10) == 0, peer.output()[-1500:]  # SIPp got its ACK
    assert phone.active_calls == 0


def ringing_agent(rig_dir, name: str, port: int, proxy: int) -> rig.Peer:
    """A registered baresip that rings and never answers (it answers CANCEL with 200 + 487)."""
    wav = rig.write_wav(rig_dir / "silence.wav", np.zeros(8000, np.int16), pad_seconds=5)
    return rig.start_baresip(rig.make_baresip(rig_dir, name, port, wav, "PCMU", proxy), 15)


async def test_dial_no_answer_cancels_after_ring_timeout(kamailio, make_phone, ports, rig_dir):
    agent = ringing_agent(rig_dir, "agent-ring", 5480, kamailio)
    await asyncio.sleep(1.0)
    phone = await make_phone(robot_settings(ports, kamailio, "robot-ring"))
    start = time.monotonic()
    result = await phone.dial("agent-ring", ring_timeout=1.5)
    elapsed = time.monotonic() - start
    assert result.status is DialStatus.NO_ANSWER and result.code == 487, result
    assert 1.4 < elapsed < 4 and phone.active_calls == 0
    agent.stop()
    assert "Incoming call" in agent.output() or "incoming call" in agent.output().lower()


async def test_dial_cancelled_by_caller(kamailio, make_phone, ports, rig_dir):
    ringing_agent(rig_dir, "agent-abandon", 5490, kamailio)
    await asyncio.sleep(1.0)
    phone = await make_phone(robot_settings(ports, kamailio, "robot-abandon"))
    cancel = asyncio.Event()
    asyncio.get_running_loop().call_later(0.8, cancel.set)
    result = await phone.dial("agent-abandon", ring_timeout=10, cancel=cancel)
    assert result.status is DialStatus.CANCELLED and result.code == 487, result


async def test_answered_call_via_proxy_to_baresip_agent_pcma(kamailio, make_phone, ports, rig_dir):
    agent_says = rig.speechlike(2.0, seed=9)
    wav = rig.write_wav(rig_dir / "agent-pcma.wav", agent_says, pad_seconds=10)
    home = rig.make_baresip(rig_dir, "agent-pcma", 5470, wav, "PCMA", kamailio, auto_answer=True)
    agent = rig.start_baresip(home, 12)
    try:
        await asyncio.sleep(1.0)  # registration
        phone = await make_phone(robot_settings(ports, kamailio, "robot-out", codecs=("PCMA",)))
        result = await phone.dial("agent-pcma", ring_timeout=5)
        assert result.status is DialStatus.ANSWERED, result
        call = result.call
        assert call.codec == "PCMA"
        robot_says = rig.speechlike(2.0, seed=10)
        call.write_audio(robot_says.tobytes())
        frames = [await asyncio.wait_for(call.read_audio(), 1) for _ in range(150)]
        await call.wait_audio_sent()
        await asyncio.sleep(0.3)
        assert await call.hangup() and call.end_reason is EndReason.LOCAL_HANGUP
        await asyncio.sleep(0.5)
    finally:
        agent.stop()
    heard_by_robot = rig.compare_audio(agent_says, np.frombuffer(b"".join(frames), np.int16))
    heard_by_agent = rig.compare_audio(robot_says, rig.read_wav(rig.recording(home, "dec")))
    assert heard_by_robot.snr_db >= 30, heard_by_robot
    assert heard_by_agent.snr_db >= 30, heard_by_agent
