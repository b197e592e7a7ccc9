"""SIP over TLS and SRTP (SDES) with real peers: Kamailio's tls module as registrar/proxy, baresip with its srtp
module. The audio checks are the plain suite's (gain-matched SNR, no dead frames)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import ssl

import numpy as np
import pytest

from telephony import CallState, DialStatus, EndReason, RegistrationError, rig
from telephony.config import MediaEncryption, SipTransportKind
from telephony.sip.message import SipMessage, new_tag, response_to
from tests.telephony.conftest import assert_heard_both_ways, baresip_calls, robot_settings, wait_peer

pytestmark = [pytest.mark.sip, pytest.mark.slow]

KAM_TLS_UDP_PORT = 5170  # the TLS proxy's udp/tcp side (unused by these tests, needed to start it)
KAM_TLS_PORT = 5171
TRUNK_TLS_PORT = 5194
TLS_REGISTRAR_PORT = 5172  # a scripted TLS registrar
PLAIN_RTP_BYTES = 12 + 160  # RTP header + 20 ms of G.711
SRTP_80_BYTES = PLAIN_RTP_BYTES + 10  # + the HMAC-SHA1-80 tag
SRTP_EVENT_BYTES = 12 + 4 + 10  # an RFC 2833 telephone-event


@pytest.fixture(scope="module")
def pki(rig_dir) -> rig.TestPki:
    return rig.make_pki(rig_dir, "tls-suite")


@pytest.fixture(scope="module")
def kamailio_tls(rig_dir, pki):
    peer = rig.start_kamailio(rig_dir, KAM_TLS_UDP_PORT, TRUNK_TLS_PORT, tls=pki, tls_port=KAM_TLS_PORT)
    rig.wait_tcp_port_listening(KAM_TLS_PORT)
    yield peer
    peer.stop()


def tls_settings(ports, user: str, pki: rig.TestPki, **overrides):
    values = dict(
        transport=SipTransportKind.TLS,
        tls_ca_file=pki.ca_cert,
        media_encryption=MediaEncryption.SDES_REQUIRED,
    )
    values.update(overrides)
    return robot_settings(ports, KAM_TLS_PORT, user, **values)


def rtp_sizes(packets: list[rig.UdpPacket], dst_port: int) -> set[int]:
    return {len(p.payload) for p in packets if p.dst_port == dst_port}


async def test_tls_registration_and_srtp_call_to_baresip_audio_matches(
    kamailio_tls, pki, make_phone, ports, rig_dir
):
    agent_says = rig.speechlike(2.0, seed=31)
    wav = rig.write_wav(rig_dir / "agent-srtp.wav", agent_says, pad_seconds=10)
    home = rig.make_baresip(
        rig_dir,
        "agent-srtp",
        5540,
        wav,
        "PCMU",
        KAM_TLS_PORT,
        auto_answer=True,
        tls=pki,
        mediaenc="srtp-mand",
    )
    agent = rig.start_baresip(home, 15)
    try:
        await asyncio.sleep(1.5)  # TLS registration
        phone = await make_phone(tls_settings(ports, "robot-tls", pki))
        assert phone.ua.registered
        result = await phone.dial("agent-srtp", ring_timeout=5)
        assert result.status is DialStatus.ANSWERED, result
        call = result.call
        assert call.srtp_suite == "AES_CM_128_HMAC_SHA1_80"
        capture = rig.Capture(
            rig_dir,
            call.rtp.local_port,
            f"udp and (dst port {call.rtp.local_port} or dst port {call.rtp.remote[1]})",
        )
        robot_says = rig.speechlike(2.0, seed=32)
        call.write_audio(robot_says.tobytes())
        frames = [await asyncio.wait_for(call.read_audio(), 1) for _ in range(150)]
        await call.wait_audio_sent()
        await call.send_dtmf("15#")  # RFC 2833 events travel as SRTP too
        await asyncio.sleep(0.3)
        packets = capture.stop_packets()
        assert await call.hangup() and call.end_reason is EndReason.LOCAL_HANGUP
        await asyncio.sleep(0.5)
    finally:
        agent.stop()
    # On the wire both ways: every packet carries the 10-byte SRTP tag (plain RTP audio would be 172 bytes, a
    # telephone-event 16); baresip decrypted the events.
    assert rtp_sizes(packets, call.rtp.local_port) == {SRTP_80_BYTES}
    assert rtp_sizes(packets, call.rtp.remote[1]) == {SRTP_80_BYTES, SRTP_EVENT_BYTES}
    assert "".join(re.findall(r"received event: '(.)' \(end=1\)", agent.output())) == "15#"
    assert call.rtp.srtp.unprotect_failures == 0
    heard_by_robot = rig.compare_audio(agent_says, np.frombuffer(b"".join(frames), np.int16))
    heard_by_agent = rig.compare_audio(robot_says, rig.read_wav(rig.recording(home, "dec")))
    assert heard_by_robot.snr_db >= 30, heard_by_robot
    assert heard_by_agent.snr_db >= 30, heard_by_agent
    assert heard_by_robot.dead_frames == 0 and heard_by_agent.dead_frames == 0
    # Kamailio saw the INVITE arrive over TLS.
    kamailio_log = kamailio_tls.output()
    assert "REQ INVITE sip:agent-srtp@127.0.0.1" in kamailio_log
    invite_lines = [line for line in kamailio_log.splitlines() if "REQ INVITE sip:agent-srtp@" in line]
    assert invite_lines and all(" from tls:" in line for line in invite_lines), invite_lines


async def test_server_certificate_from_another_ca_is_refused_clearly(
    kamailio_tls, pki, make_phone, ports, rig_dir
):
    other = rig.make_pki(rig_dir, "other-ca")
    with pytest.raises(RegistrationError, match=r"certificate is not trusted.*tls_ca_file"):
        await make_phone(tls_settings(ports, "robot-wrong-ca", other))
    # The same server with the right CA, and with verification off, registers.
    phone = await make_phone(tls_settings((ports[0] + 1, ports[1], ports[2]), "robot-right-ca", pki))
    assert phone.ua.registered
    unchecked = tls_settings((ports[0] + 2, ports[1], ports[2]), "robot-no-verify", other, tls_verify=False)
    assert (await make_phone(unchecked)).ua.registered


async def test_srtp_required_refuses_a_plain_rtp_caller_with_488(
    kamailio_tls, pki, make_phone, ports, rig_dir, caplog
):
    wav = rig.write_wav(rig_dir / "plain-caller.wav", rig.speechlike(1.0, seed=33), pad_seconds=3)
    offered = []

    async def on_incoming(call):
        offered.append(call)
        await call.answer()

    await make_phone(tls_settings(ports, "robot-srtp-only", pki), on_incoming=on_incoming)
    home = rig.make_baresip(rig_dir, "cust-plain", 5550, wav, "PCMU", KAM_TLS_PORT, tls=pki)
    caplog.set_level(logging.INFO, logger="telephony.phone")
    caller = rig.start_baresip(home, 6, ["/dial sip:robot-srtp-only@127.0.0.1"])
    try:
        await wait_peer(caller, 12)
    finally:
        caller.stop()
    assert offered == []  # the application never saw the call
    assert "488 SRTP Required" in caller.output(), caller.output()[-2000:]
    refusals = [r.getMessage() for r in caplog.records if "refused (488)" in r.getMessage()]
    assert refusals and "plain RTP only" in refusals[0] and "sdes_required" in refusals[0], refusals


async def test_srtp_caller_to_robot_over_tls_audio_both_ways(kamailio_tls, pki, make_phone, ports, rig_dir):
    robot_says = rig.speechlike(2.5, seed=34)
    customer_says = rig.speechlike(2.5, seed=35)
    wav = rig.write_wav(rig_dir / "cust-srtp.wav", customer_says, pad_seconds=1.0)
    calls, frames = [], []

    async def answer(call):
        calls.append(call)
        await call.answer()
        call.write_audio(robot_says.tobytes())
        async for frame in call:
            frames.append(frame)

    await make_phone(tls_settings(ports, "robot-in-srtp", pki), on_incoming=answer)
    home = rig.make_baresip(
        rig_dir, "cust-srtp", 5560, wav, "PCMU", KAM_TLS_PORT, tls=pki, mediaenc="srtp-mand"
    )
    await baresip_calls(home, "robot-in-srtp")
    assert len(calls) == 1
    call = calls[0]
    assert call.srtp_suite is not None and call.rtp.srtp.unprotect_failures == 0
    assert call.state is CallState.ENDED and call.end_reason is EndReason.REMOTE_BYE
    assert_heard_both_ways(robot_says, home, customer_says, frames)


@pytest.mark.parametrize(
    ("policy", "answered"),
    [(MediaEncryption.SDES_REQUIRED, False), (MediaEncryption.SDES_OPTIONAL, True)],
)
async def test_robot_calling_a_plain_rtp_agent(
    policy, answered, kamailio_tls, pki, make_phone, ports, rig_dir
):
    """Required: the call does not go ahead in clear (refused by the peer or hung up by us, with the reason).
    Optional: best effort, the call goes ahead in plain RTP."""
    agent_says = rig.speechlike(1.5, seed=36)
    wav = rig.write_wav(rig_dir / f"agent-plain-{policy}.wav", agent_says, pad_seconds=10)
    name = f"agent-plain-{policy.value.split('_')[1]}"
    port = 5570 if answered else 5580
    home = rig.make_baresip(rig_dir, name, port, wav, "PCMU", KAM_TLS_PORT, auto_answer=True, tls=pki)
    agent = rig.start_baresip(home, 12)
    try:
        await asyncio.sleep(1.5)
        phone = await make_phone(tls_settings(ports, f"robot-{name}", pki, media_encryption=policy))
        result = await phone.dial(name, ring_timeout=5)
        if answered:
            assert result.status is DialStatus.ANSWERED, result
            assert result.call.srtp_suite is None
            frames = [await asyncio.wait_for(result.call.read_audio(), 1) for _ in range(100)]
            assert await result.call.hangup()
        await asyncio.sleep(0.5)
    finally:
        agent.stop()
    if answered:
        heard = rig.compare_audio(agent_says, np.frombuffer(b"".join(frames), np.int16))
        assert heard.snr_db >= 30, heard
    else:  # baresip without SRTP refuses an RTP/SAVP offer ("no common audio codecs")
        assert result.status is DialStatus.REJECTED and result.code == 488, result
        assert "SRTP-only offer (media_encryption sdes_required)" in result.reason, result
        assert phone.active_calls == 0


async def test_robot_hangs_up_a_plain_rtp_answer_when_srtp_is_required(
    kamailio_tls, pki, make_phone, ports, rig_dir
):
    """A peer that answers our RTP/SAVP offer in plain RTP (SIPp's UAS behind the TLS proxy, over udp): the call
    is taken down at once with the reason, no audio is sent in clear."""
    trunk = rig.start_sipp(
        rig_dir,
        ["-sf", str(rig.RIG / "uas_echo.xml"), "-i", "127.0.0.1", "-p", str(TRUNK_TLS_PORT), "-m", "1",
         "-timeout", "15", "-mp", "17200"],
        "trunk-plain",
    )  # fmt: skip
    rig.wait_udp_port_bound(TRUNK_TLS_PORT)
    capture = rig.Capture(rig_dir, 17200, "udp and dst portrange 17200-17210")
    phone = await make_phone(tls_settings(ports, "robot-plain-answer", pki))
    result = await phone.dial("9001", ring_timeout=5)
    await asyncio.sleep(1.0)
    packets = capture.stop_packets()
    assert result.status is DialStatus.FAILED and result.code == 200, result
    assert "plain RTP only" in result.reason and "sdes_required" in result.reason, result
    assert packets == []  # nothing reached SIPp's media port
    assert await wait_peer(trunk, 10) == 0, trunk.output()[-1500:]  # SIPp got its ACK and our BYE
    assert phone.active_calls == 0


async def test_connection_closed_by_the_server_is_reopened_and_registered_again(pki, make_phone, ports):
    """A registrar (here a scripted TLS server) that drops the connection: the robot reconnects within ~1 s,
    not at its next refresh, so inbound calls reach it again."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(pki.server_cert, pki.server_key)
    registers: list[tuple[int, str]] = []  # (connection number, Contact)
    connections = itertools.count(1)

    async def registrar(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(connections)
        try:
            while raw := await reader.readuntil(b"\r\n\r\n"):
                request = SipMessage.parse(raw)
                registers.append((number, request.get("Contact") or ""))
                response = response_to(request, 200, "OK", new_tag())
                response.add("Contact", f"{request.get('Contact')};expires=600")
                writer.write(response.encode())
                await writer.drain()
                if number == 1:
                    break  # the first connection is dropped after its registration
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(registrar, "127.0.0.1", TLS_REGISTRAR_PORT, ssl=server_context)
    try:
        settings = robot_settings(
            ports,
            TLS_REGISTRAR_PORT,
            "robot-reconnect",
            transport=SipTransportKind.TLS,
            tls_ca_file=pki.ca_cert,
            register_expires=600,
        )
        phone = await make_phone(settings)
        for _ in range(60):
            if len(registers) >= 2:
                break
            await asyncio.sleep(0.1)
        assert [number for number, _ in registers[:2]] == [1, 2], registers
        assert phone.ua.registered and phone.ua.transport.connected
        assert "transport=tls" in registers[1][1] and registers[0][1] != registers[1][1]  # the new local port
    finally:
        server.close()
