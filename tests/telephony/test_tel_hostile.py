"""Hostile input at the robot's ports while a real call (SIPp with RTP) is up: 10 000 malformed, truncated and
oversized SIP messages and RTP packets from raw UDP, and hostile requests from SIPp. The phone keeps the call's
audio, answers OPTIONS afterwards, leaks no call slot, and logs no unhandled exception."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from telephony import CallEventType, CallState, EndReason, Phone, rig
from telephony.rtp.session import RtpSession
from telephony.sip import useragent
from telephony.sip.message import SipMessage, SipParseError
from telephony.sip.tls_transport import split_stream
from tests.chaos import ChaosRow, record
from tests.conftest import TEST_SLOT
from tests.telephony.conftest import robot_settings
from tests.telephony.hostile import RTP_KINDS, SIP_KINDS, Target, storm

SCENARIOS = Path(__file__).parent / "sipp"
STORM_SIZE = 10_000
SPEECH_SECONDS = 10.0
SIPP_CALLS = 40  # hostile request sequences SIPp runs, 20 a second
# Ports of this test session's slot, clear of the suite's fixed blocks (5300+, 30000+).
ROBOT_SIP = 44000 + 10 * TEST_SLOT
SIPP_SPEECH, SIPP_HOSTILE = ROBOT_SIP + 1, ROBOT_SIP + 2
SIPP_MEDIA = 44200 + 10 * TEST_SLOT
RTP_RANGE = (45000 + 200 * TEST_SLOT, 45000 + 200 * TEST_SLOT + 198)


def test_storm_is_reproducible_and_covers_every_kind():
    target = Target("127.0.0.1", 5060, 20000, "live@x")
    first, again = list(storm(7, 2000, target)), list(storm(7, 2000, target))
    assert first == again
    assert list(storm(8, 50, target)) != first[:50]
    kinds = Counter(kind for kind, _, _ in first)
    assert set(kinds) == {k.__name__ for k in SIP_KINDS + RTP_KINDS}
    assert max(len(data) for _, _, data in first) <= 65507


def test_every_storm_message_parses_whole_or_is_refused():
    """What the parser lets through, every layer can read: no header access raises later (in the event loop)."""
    target = Target("127.0.0.1", 5060, 20000, "live@x")
    outcomes = Counter()
    for kind, port, data in storm(11, 4000, target):
        if port != target.sip_port:
            continue
        try:
            msg = SipMessage.parse(data)
        except SipParseError:
            outcomes["refused"] += 1
            continue
        outcomes["parsed"] += 1
        assert (msg.branch, msg.cseq, msg.from_addr.tag, msg.to_addr.tag, msg.contact) is not None, kind
        assert int(msg.get("Content-Length") or 0) == len(msg.body), kind
    assert outcomes["refused"] > 500 and outcomes["parsed"] > 300, outcomes


def test_a_negative_content_length_on_the_tls_stream_is_refused():
    """'Content-Length: -46' framed an empty message and looped forever (the TLS reader hung)."""
    head = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: -46"
    assert len(head) + 4 == 46
    with pytest.raises(SipParseError, match="bad Content-Length"):
        split_stream(bytearray(head + b"\r\n\r\nrest"))


def _packet(ssrc: int, seq: int, payload: bytes = b"\xff" * 160) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def test_a_call_plays_one_rtp_stream(monkeypatch):
    """Foreign streams are dropped while the call's is live; the SDP address may always take over (the peer
    restarting its stream); a stream gone quiet for 0.5 s gives way (NAT rebinding) to another that sends two
    packets in sequence, never to lone packets (a forged one processed after a stall of the event loop)."""
    frames: list[bytes] = []
    session = RtpSession(frames.append, lambda digit: None)
    session.remote = ("127.0.0.1", 4000)
    now = [1000.0]
    monkeypatch.setattr("telephony.rtp.session.time.monotonic", lambda: now[0])
    peer, stranger = ("127.0.0.1", 4000), ("127.0.0.1", 4444)
    session.datagram_received(_packet(1, 1), peer)
    session.datagram_received(_packet(2, 1), stranger)
    session.datagram_received(_packet(1, 2, b"\xff" * 8), peer)
    assert len(frames) == 2 and session.packets_dropped == 1
    session.datagram_received(_packet(3, 1), peer)  # a new SSRC from the SDP's address: taken at once
    session.datagram_received(_packet(1, 3), stranger)
    assert len(frames) == 3 and session.packets_dropped == 2
    now[0] += 0.6  # the peer's stream quiet for 0.6 s: lone packets of other streams are still dropped
    for ssrc in (7, 8):
        session.datagram_received(_packet(ssrc, 40), ("127.0.0.1", 6666))
    assert len(frames) == 3 and session.packets_dropped == 4
    session.datagram_received(_packet(9, 1), ("127.0.0.1", 5555))  # on probation
    session.datagram_received(_packet(9, 2), ("127.0.0.1", 5555))  # in sequence: the call's stream now
    assert len(frames) == 4 and session.packets_dropped == 5
    bad_padding = struct.pack("!BBHII", 0xA0, 0, 7, 0, 9) + b"\x01\xff"
    session.datagram_received(bad_padding, ("127.0.0.1", 5555))
    assert len(frames) == 4 and session.packets_dropped == 6


async def test_a_request_flood_keeps_bounded_state_and_every_answer(monkeypatch, caplog):
    """Past MAX_SERVER_TRANSACTIONS open, requests are still answered (481 for no call) but keep no state."""
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(useragent, "MAX_SERVER_TRANSACTIONS", 50)
    port = ROBOT_SIP + 5
    phone = Phone(robot_settings((port, *RTP_RANGE), 0, "robot", registrar=None, trunk_mode=True))
    await phone.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            local = sock.getsockname()[1]
            answers: list[bytes] = []

            def read_answers() -> None:  # as they come: the socket's buffer holds ~160 of them
                with contextlib.suppress(BlockingIOError):
                    while True:
                        answers.append(sock.recv(65535).split(b"\r\n", 1)[0])

            for n in range(300):
                sock.sendto(
                    (
                        f"BYE sip:robot@127.0.0.1:{port} SIP/2.0\r\n"
                        f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKflood{n}\r\n"
                        f"From: <sip:e@x>;tag=a{n}\r\nTo: <sip:robot@x>;tag=b\r\nCall-ID: flood-{n}\r\n"
                        "CSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
                    ).encode(),
                    ("127.0.0.1", port),
                )
                if n % 20 == 0:
                    await asyncio.sleep(0.005)
                    read_answers()
            await asyncio.sleep(0.3)
            read_answers()
        assert len(phone.ua._server) == 50
    finally:
        await phone.stop()
    assert answers == [b"SIP/2.0 481 Call/Transaction Does Not Exist"] * 300
    assert any("answered statelessly" in r.getMessage() for r in caplog.records)


def send_storm(datagrams: list[tuple[str, int, bytes]], pace_every: int = 10, pause: float = 0.002) -> float:
    """Send from a plain socket (a thread, not the robot's loop); returns the seconds it took."""
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for n, (_, port, data) in enumerate(datagrams):
            sock.sendto(data, ("127.0.0.1", port))
            if n % pace_every == 0:
                time.sleep(pause)
    return time.monotonic() - start


def options_answered(port: int, timeout: float = 2.0) -> str:
    """Send a plain OPTIONS; the status line of the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        local = sock.getsockname()[1]
        sock.sendto(
            (
                f"OPTIONS sip:robot@127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKalive{time.monotonic_ns()}\r\n"
                f"From: <sip:probe@127.0.0.1:{local}>;tag=p1\r\nTo: <sip:robot@127.0.0.1>\r\n"
                f"Call-ID: alive-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", port),
        )
        return sock.recv(65535).split(b"\r\n", 1)[0].decode()


@pytest.mark.sip
@pytest.mark.slow
async def test_storm_during_a_call_keeps_its_audio_and_the_phone_answering(rig_dir, caplog):
    caplog.set_level(logging.INFO)
    speech = rig.speechlike(SPEECH_SECONDS, seed=17)
    pcap = rig.pcap_from_pcm(speech, rig_dir / "hostile-caller.pcap", "PCMU")
    calls, frames = [], []

    events = []

    async def answer(call):
        calls.append(call)
        call.add_listener(events.append)
        await call.answer()

        async def reader():
            async for frame in call:
                frames.append(frame)

        asyncio.get_running_loop().create_task(reader())

    settings = robot_settings(
        (ROBOT_SIP, *RTP_RANGE), 0, "robot", registrar=None, trunk_mode=True, max_concurrent_calls=4
    )
    phone = Phone(settings, on_incoming=answer)
    await phone.start()
    loop = asyncio.get_running_loop()
    try:
        speaker = rig.start_sipp(
            rig_dir,
            [
                f"127.0.0.1:{ROBOT_SIP}",
                *("-sf", str(SCENARIOS / "uac_speech.xml"), "-s", "robot", "-i", "127.0.0.1"),
                *("-p", str(SIPP_SPEECH), "-mp", str(SIPP_MEDIA), "-m", "1"),
                *("-d", str(int((SPEECH_SECONDS + 1) * 1000)), "-key", "pcap", str(pcap), "-timeout", "40"),
            ],
            name="sipp-hostile-speaker",
        )
        for _ in range(100):
            if calls and calls[0].state is CallState.ACTIVE:
                break
            await asyncio.sleep(0.05)
        assert calls, speaker.output()[-2000:]
        call = calls[0]
        await asyncio.sleep(0.5)
        calls_up = phone.active_calls
        datagrams = list(
            storm(20261205, STORM_SIZE, Target("127.0.0.1", ROBOT_SIP, call.rtp.local_port, call.call_id))
        )
        storming = loop.run_in_executor(None, send_storm, datagrams)
        hostile = rig.start_sipp(
            rig_dir,
            [
                f"127.0.0.1:{ROBOT_SIP}",
                *("-sf", str(SCENARIOS / "uac_hostile.xml"), "-s", "robot", "-i", "127.0.0.1"),
                *("-p", str(SIPP_HOSTILE), "-m", str(SIPP_CALLS), "-r", "20", "-timeout", "20", "-trace_err"),
            ],
            name="sipp-hostile-requests",
        )
        storm_seconds = await storming
        assert await loop.run_in_executor(None, hostile.wait, 25) == 0, hostile.output()[-3000:]
        assert call.state is CallState.ACTIVE, "the storm ended the call"
        assert phone.active_calls == 1, phone.calls
        assert await loop.run_in_executor(None, speaker.wait, 30) == 0, speaker.output()[-3000:]
        await asyncio.sleep(0.2)
        assert call.end_reason is EndReason.REMOTE_BYE
        assert (await loop.run_in_executor(None, options_answered, ROBOT_SIP)).startswith("SIP/2.0 200")
        left_live = phone.active_calls
        assert phone.calls == {}, "a hostile INVITE left a call slot taken"
    finally:
        await phone.stop()
    heard = rig.compare_audio(speech, np.frombuffer(b"".join(frames), np.int16))
    record(
        ChaosRow(
            fault=f"{len(datagrams):,} hostile SIP/RTP datagrams at a call".replace(",", " "),
            calls_up=calls_up,
            contacts=None,
            # the call lost its audio: not all of it heard, or not clean
            lost=int(heard.snr_db < 30 or heard.dead_frames > 0 or len(frames) < SPEECH_SECONDS * 50),
            dialled_twice=None,
            events_lost=None,
            calls_left_live=left_live,
            seconds_to_recover=None,  # nothing to recover from: the call never lost anything
        )
    )
    assert storm_seconds < SPEECH_SECONDS - 1, f"the storm ({storm_seconds:.1f} s) outlasted the speech"
    rtp_sent = sum(port == call.rtp.local_port for _, port, _ in datagrams)
    print(
        f"{len(datagrams)} datagrams in {storm_seconds:.1f} s; RTP: {rtp_sent} sent, {call.rtp.packets_dropped} dropped"
    )
    assert call.rtp.packets_dropped >= 0.95 * rtp_sent  # (the kernel may lose a few under load)
    assert [
        e.type for e in events if e.type is CallEventType.DTMF
    ] == []  # no forged key press reached the call
    print(f"the call heard {len(frames)} frames, SNR {heard.snr_db:.1f} dB, {heard.dead_frames} dead")
    assert heard.snr_db >= 30 and heard.dead_frames == 0, heard
    assert len(frames) >= SPEECH_SECONDS * 50, len(frames)
    unhandled = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not unhandled, [r.getMessage() for r in unhandled[:5]]
    dropped = [r for r in caplog.records if "dropped" in r.getMessage() and r.name.startswith("telephony")]
    assert dropped, "the phone said nothing about what it dropped"
    assert len(dropped) < 60, f"{len(dropped)} drop lines for one storm: not rate-limited"
