"""Inbound calls from real peers through Kamailio: answer time, audio both ways, DTMF, hang-ups, CANCEL, hold."""

from __future__ import annotations

import asyncio
import re
import socket
import time

import numpy as np
import pytest

from telephony import CallEventType, CallState, EndReason, rig
from tests.telephony.conftest import assert_heard_both_ways, baresip_calls, robot_settings, wait_peer

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def collect(call, frames: list[bytes], digits: list[str], events: list) -> None:
    call.add_listener(lambda e: (events.append(e), e.type is CallEventType.DTMF and digits.append(e.digit)))

    async def reader():
        async for frame in call:
            frames.append(frame)

    asyncio.get_running_loop().create_task(reader())


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_baresip_customer_audio_both_ways_and_caller_bye(codec, kamailio, make_phone, ports, rig_dir):
    robot_says = rig.speechlike(2.5, seed=11)
    customer_says = rig.speechlike(2.5, seed=22)
    wav = rig.write_wav(rig_dir / f"customer-{codec}.wav", customer_says, pad_seconds=1.0)
    calls, frames, digits, events = [], [], [], []

    async def answer(call):
        calls.append(call)
        collect(call, frames, digits, events)
        await call.answer()
        call.write_audio(robot_says.tobytes())

    await make_phone(robot_settings(ports, kamailio, f"robot-in-{codec.lower()}"), on_incoming=answer)
    home = rig.make_baresip(rig_dir, f"cust-{codec.lower()}", 5410, wav, codec, kamailio)
    await baresip_calls(home, f"robot-in-{codec.lower()}")
    assert len(calls) == 1
    call = calls[0]
    assert call.codec == codec
    assert call.state is CallState.ENDED and call.end_reason is EndReason.REMOTE_BYE
    assert_heard_both_ways(robot_says, home, customer_says, frames)


async def test_robot_hangs_up_with_bye_confirmed(kamailio, make_phone, ports, rig_dir):
    wav = rig.write_wav(rig_dir / "long.wav", rig.speechlike(1.0), pad_seconds=15)
    results = []

    async def answer(call):
        await call.answer()
        await asyncio.sleep(1.5)
        results.append(await call.hangup())
        results.append(call.end_reason)

    phone = await make_phone(robot_settings(ports, kamailio, "robot-bye"), on_incoming=answer)
    home = rig.make_baresip(rig_dir, "cust-bye", 5420, wav, "PCMU", kamailio)
    peer = rig.start_baresip(home, 8, ["/dial sip:robot-bye@127.0.0.1"])
    try:
        for _ in range(100):
            if len(results) == 2:
                break
            await asyncio.sleep(0.1)
    finally:
        peer.stop()
    assert results == [True, EndReason.LOCAL_HANGUP]
    assert phone.active_calls == 0
    assert "terminated" in peer.output()


async def test_dtmf_from_baresip_keypad(kamailio, make_phone, ports, rig_dir):
    wav = rig.write_wav(rig_dir / "quiet.wav", np.zeros(8000, np.int16), pad_seconds=10)
    digits, frames, events = [], [], []

    async def answer(call):
        collect(call, frames, digits, events)
        await call.answer()

    await make_phone(robot_settings(ports, kamailio, "robot-dtmf"), on_incoming=answer)
    home = rig.make_baresip(rig_dir, "cust-dtmf", 5430, wav, "PCMU", kamailio, stdio=True)
    keys = "(sleep 2.5; printf 1; sleep 0.7; printf 5; sleep 0.7; printf '#'; sleep 2)"
    peer = rig.start_shell(home, f"{keys} | baresip -f {home} -t 7 -e '/dial sip:robot-dtmf@127.0.0.1'")
    try:
        await wait_peer(peer, 15)
    finally:
        peer.stop()
    assert "".join(digits) == "15#"


async def test_dtmf_from_sipp_and_invite_to_200_via_proxy(kamailio, make_phone, ports, rig_dir):
    digits, frames, events, answer_ms = [], [], [], []

    async def answer(call):
        collect(call, frames, digits, events)
        await call.answer()
        answer_ms.append((call.answered_at - call.created_at) * 1000)

    await make_phone(robot_settings(ports, kamailio, "robot-sipp"), on_incoming=answer)
    pcap = rig.pcap_from_pcm(rig.speechlike(1.0), rig_dir / "caller.pcap", "PCMU")
    args = rig.sipp_caller_args(
        kamailio, rig.RIG / "uac_dtmf.xml", "robot-sipp", 5440, 16400, timeout=20, pcap=pcap
    )
    peer = rig.start_sipp(rig_dir, args, name="sipp-dtmf")
    assert await wait_peer(peer, 25) == 0, peer.output()[-2000:]
    assert "".join(digits) == "15#"
    assert answer_ms and answer_ms[0] < 100


def _raw_invite(robot_port: int, local_port: int, n: int) -> bytes:
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {local_port + 2} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
    return (
        f"INVITE sip:robot@127.0.0.1:{robot_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bKtime{n}\r\n"
        f"From: <sip:timer@127.0.0.1:{local_port}>;tag=t{n}\r\nTo: <sip:robot@127.0.0.1>\r\n"
        f"Call-ID: timing-{n}-{time.time()}\r\nCSeq: 1 INVITE\r\nContact: <sip:timer@127.0.0.1:{local_port}>\r\n"
        f"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


def _reply_for(resp: bytes, method: str, uri: str, local_port: int, cseq: int) -> bytes:
    lines = resp.decode().split("\r\n")
    get = {
        name: next(x for x in lines if x.lower().startswith(name.lower() + ":"))
        for name in ("From", "To", "Call-ID")
    }
    return (
        f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{method}{time.time()}\r\n"
        f"{get['From']}\r\n{get['To']}\r\n{get['Call-ID']}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def test_invite_answered_within_100ms_on_the_wire_and_options(make_phone, ports):
    """Timed from a raw UDP client: INVITE sent -> 200 OK received, 5 calls; then ACK, BYE -> 200; OPTIONS -> 200."""
    settings = robot_settings(ports, 5999, "robot", registrar=None, trunk_mode=True)

    async def answer(call):
        await call.answer()

    phone = await make_phone(settings, on_incoming=answer)
    robot_port = phone.ua.local[1]
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    local_port = sock.getsockname()[1]
    delays, bye_status = [], []

    async def recv_status(expect: str) -> bytes:
        while True:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), 2)
            first = data.split(b"\r\n", 1)[0].decode()
            if expect in data.decode() and not first.startswith("SIP/2.0 1"):
                return data

    try:
        for n in range(5):
            start = time.perf_counter()
            await loop.sock_sendto(sock, _raw_invite(robot_port, local_port, n), ("127.0.0.1", robot_port))
            ok = await recv_status("INVITE")
            delays.append((time.perf_counter() - start) * 1000)
            assert ok.startswith(b"SIP/2.0 200"), ok[:60]
            target = f"sip:robot@127.0.0.1:{robot_port}"
            await loop.sock_sendto(
                sock, _reply_for(ok, "ACK", target, local_port, 1), ("127.0.0.1", robot_port)
            )
            await asyncio.sleep(0.1)
            await loop.sock_sendto(
                sock, _reply_for(ok, "BYE", target, local_port, 2), ("127.0.0.1", robot_port)
            )
            bye_status.append((await recv_status("BYE")).split(b"\r\n", 1)[0])
        options = (
            f"OPTIONS sip:robot@127.0.0.1:{robot_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bKopt1\r\nFrom: <sip:probe@127.0.0.1>;tag=o1\r\n"
            "To: <sip:robot@127.0.0.1>\r\nCall-ID: options-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        await loop.sock_sendto(sock, options, ("127.0.0.1", robot_port))
        reply = await recv_status("OPTIONS")
    finally:
        sock.close()
    assert max(delays) <= 100, delays
    assert bye_status == [b"SIP/2.0 200 OK"] * 5
    assert reply.startswith(b"SIP/2.0 200") and b"INVITE" in reply and b"REFER" in reply
    assert phone.active_calls == 0


async def test_cancel_before_answer_gets_487_and_call_is_not_answered(kamailio, make_phone, ports, rig_dir):
    seen = []

    async def slow_answer(call):
        seen.append(call)
        await asyncio.sleep(2.0)  # still ringing when SIPp cancels after 300 ms
        seen.append(await call.answer())

    await make_phone(robot_settings(ports, kamailio, "robot-cancel"), on_incoming=slow_answer)
    args = rig.sipp_caller_args(kamailio, rig.RIG / "uac_cancel.xml", "robot-cancel", 5450, 16600, timeout=10)
    peer = rig.start_sipp(rig_dir, args, name="sipp-cancel")
    assert await wait_peer(peer, 15) == 0, peer.output()[-2000:]  # got 200 to CANCEL and 487 to INVITE
    await asyncio.sleep(2.2)
    call = seen[0]
    assert seen[1] is False
    assert (
        call.state is CallState.ENDED and call.end_reason is EndReason.CANCELLED and call.answered_at is None
    )


async def test_hold_stops_sending_resume_plays_held_audio_at_50pps_to_new_port(
    kamailio, make_phone, ports, rig_dir
):
    """re-INVITE a=sendonly + new port (hold): we answer a=recvonly (SIPp checks) and send nothing (RFC 3264 8.4);
    what the robot queued while held is kept; re-INVITE a=sendrecv (resume): the stream to the new port runs at
    50 pkt/s and starts with the held audio."""
    hold_port = 16790
    capture = rig.Capture(rig_dir, hold_port)
    events = []
    tone = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16).tobytes()

    async def answer(call):
        def on_event(event):
            events.append((time.time(), event.type))  # wall clock, like the capture
            if event.type is CallEventType.HOLD:
                call.write_audio(tone)  # 1 s the customer must still hear, after the resume

        call.add_listener(on_event)
        await call.answer()

    try:
        await make_phone(robot_settings(ports, kamailio, "robot-hold"), on_incoming=answer)
        args = rig.sipp_caller_args(
            kamailio, rig.RIG / "uac_reinvite.xml", "robot-hold", 5460, 16700, timeout=15
        )
        peer = rig.start_sipp(rig_dir, [*args, "-key", "hold_port", str(hold_port)], name="sipp-hold")
        assert await wait_peer(peer, 20) == 0, peer.output()[-2000:]  # incl. a=recvonly / a=sendrecv checks
    finally:
        packets = capture.stop()
    kinds = [kind for _, kind in events]
    assert CallEventType.HOLD in kinds and CallEventType.RESUME in kinds, kinds
    held_at = next(t for t, kind in events if kind is CallEventType.HOLD)
    resumed_at = next(t for t, kind in events if kind is CallEventType.RESUME)
    media = [(t, p) for t, p in packets if len(p) >= 12 and p[1] & 0x7F in (0, 8)]
    during_hold = [t for t, _ in media if held_at + 0.05 < t < resumed_at - 0.02]
    assert during_hold == [], len(during_hold)  # nothing sent while held
    arrivals = [t for t, _ in media]
    assert len(arrivals) >= 90, len(arrivals)  # ~2 s after the resume
    gaps = np.diff(arrivals) * 1000
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert 49.5 <= rate <= 50.5, rate
    big = [(i, round(float(g), 1)) for i, g in enumerate(gaps) if g > 25]
    assert np.percentile(gaps, 99) < 30, (len(gaps), big)
    loud = [p for _, p in media if p[12:] != b"\xff" * (len(p) - 12)]
    assert 48 <= len(loud) <= 51, len(loud)  # the 1 s queued while held, played after the resume
    assert media[0][1][1] & 0x80  # the resumed stream starts a talkspurt (marker bit)


async def test_dtmf_sent_by_robot_is_decoded_by_baresip(kamailio, make_phone, ports, rig_dir):
    """RFC 2833 from the robot: baresip logs each telephone-event it decodes ('received event: 'X' (end=1)')."""
    wav = rig.write_wav(rig_dir / "quiet-dtmf-out.wav", np.zeros(8000, np.int16), pad_seconds=10)
    done = []

    async def answer(call):
        await call.answer()
        await asyncio.sleep(1.0)
        await call.send_dtmf("0123456789*#")
        await asyncio.sleep(0.5)
        done.append(await call.hangup())

    await make_phone(robot_settings(ports, kamailio, "robot-dtmf-out"), on_incoming=answer)
    home = rig.make_baresip(rig_dir, "cust-dtmf-out", 5530, wav, "PCMU", kamailio)
    peer = rig.start_baresip(home, 10, ["/dial sip:robot-dtmf-out@127.0.0.1"])
    for _ in range(120):
        if done:
            break
        await asyncio.sleep(0.1)
    peer.stop()
    log = peer.output()
    starts = re.findall(r"received event: '(.)' \(end=0\)", log)
    ends = re.findall(r"received event: '(.)' \(end=1\)", log)
    assert done == [True]
    assert "".join(ends) == "0123456789*#", log[-2000:]
    assert (
        "".join(starts) == "0123456789*#"
    )  # each digit exactly once: no duplicates from redundant end packets
