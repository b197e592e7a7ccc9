"""Unit specification of the SIP/RTP building blocks (no external peers)."""

from __future__ import annotations

import asyncio
import struct
import time
import warnings

import numpy as np
import pytest

from telephony.rtp.clock import PacingClock
from telephony.rtp.codec import G711
from telephony.rtp.dtmf import DtmfDetector, digit_packets
from telephony.sip import transaction
from telephony.sip.auth import Challenge, authorization
from telephony.sip.dialog import Dialog
from telephony.sip.message import Address, SipMessage, SipUri, response_to
from telephony.sip.sdp import Direction, MediaDescription, build_sdp, negotiate

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # reference implementation only, never used by the package


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_g711_matches_reference_implementation(codec):
    pcm = np.arange(-32768, 32768, dtype=np.int16).tobytes()
    ref_enc = audioop.lin2ulaw(pcm, 2) if codec == "PCMU" else audioop.lin2alaw(pcm, 2)
    g711 = G711(codec)
    assert g711.encode(pcm) == ref_enc
    all_codes = bytes(range(256))
    ref_dec = audioop.ulaw2lin(all_codes, 2) if codec == "PCMU" else audioop.alaw2lin(all_codes, 2)
    assert g711.decode(all_codes) == ref_dec


def test_parse_request_with_compact_and_multi_value_headers():
    raw = (
        b"INVITE sip:robot@127.0.0.1:5070 SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKaaa, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKbbb\r\n"
        b'f: "Alice" <sip:alice@example.com>;tag=123\r\n'
        b"t: <sip:robot@example.com>\r\n"
        b"i: abc@host\r\n"
        b"CSeq: 7 INVITE\r\n"
        b"Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n"
        b"l: 4\r\n\r\nbodyEXTRA"
    )
    msg = SipMessage.parse(raw)
    assert msg.method == "INVITE" and msg.cseq == (7, "INVITE")
    assert msg.branch == "z9hG4bKaaa" and len(msg.get_all("Via")) == 2
    assert msg.from_addr.display == "Alice" and msg.from_addr.tag == "123"
    assert msg.get_all("Record-Route") == ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert msg.body == b"body"
    again = SipMessage.parse(msg.encode())
    assert again.headers == msg.headers and again.body == b"body"


def test_uri_and_address_round_trip():
    uri = SipUri.parse("sip:+4930123@pbx.example:5080;transport=udp")
    assert (uri.user, uri.host, uri.port, uri.param("transport")) == ("+4930123", "pbx.example", 5080, "udp")
    addr = Address.parse("<sip:9123@127.0.0.1>;tag=xyz")
    assert addr.tag == "xyz" and str(addr.with_tag("q")) == "<sip:9123@127.0.0.1>;tag=q"


def test_digest_rfc2617_example():
    challenge = Challenge.parse(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    header = authorization(challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life")
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header and "qop=auth" in header
    plain = Challenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093")
    # RFC 2069-style (no qop) response, computed independently
    assert 'response="670fd8c2df070c60b045671b8b24ff02"' in authorization(
        plain, "GET", "/dir/index.html", "Mufasa", "Circle Of Life"
    )


def test_sdp_offer_answer_and_hold_direction():
    offer = MediaDescription.parse(
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
        b"m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
    )
    assert (offer.address, offer.port, offer.direction) == ("10.0.0.5", 4000, Direction.SENDONLY)
    result = negotiate(offer, ("PCMU", "PCMA"))
    assert (result.codec, result.payload_type, result.dtmf_pt) == ("PCMU", 0, 101)
    assert offer.direction.answer is Direction.RECVONLY
    ours = MediaDescription.parse(build_sdp("127.0.0.1", 5000, ("PCMA",), 101, Direction.RECVONLY))
    assert ours.payload_types == (8, 101) and ours.direction is Direction.RECVONLY


def test_dtmf_detector_reports_each_event_once_and_repeats():
    detector = DtmfDetector()
    digits = []
    for ts, now in ((1000, 0.0), (1000, 2.0)):  # the same digit replayed 2 s later counts again
        for payload, _marker in digit_packets("5"):
            digits.append(detector.feed(ts, payload, now))
    for payload, _marker in digit_packets("#"):
        digits.append(detector.feed(9000, payload, 3.0))
    assert [d for d in digits if d] == ["5", "5", "#"]


def test_uac_dialog_routes_in_dialog_requests_through_record_route():
    invite = SipMessage(method="INVITE", uri="sip:9123@127.0.0.1")
    for name, value in (
        ("From", "<sip:robot@127.0.0.1>;tag=a"),
        ("To", "<sip:9123@127.0.0.1>"),
        ("Call-ID", "c1"),
        ("CSeq", "1 INVITE"),
        ("Via", "SIP/2.0/UDP x;branch=z9hG4bK1"),
    ):
        invite.add(name, value)
    ok = SipMessage(status=200, reason="OK", headers=list(invite.headers))
    ok.set("To", "<sip:9123@127.0.0.1>;tag=b")
    ok.add("Record-Route", "<sip:127.0.0.1:5160;lr>")
    ok.add("Record-Route", "<sip:10.9.9.9;lr>")
    ok.add("Contact", "<sip:trunk@127.0.0.1:5190>")
    dialog = Dialog.as_uac(invite, ok)
    bye = dialog.request("BYE")
    assert bye.uri == "sip:trunk@127.0.0.1:5190"
    assert bye.get_all("Route") == ["<sip:10.9.9.9;lr>", "<sip:127.0.0.1:5160;lr>"]
    assert dialog.destination == ("10.9.9.9", 5060) and bye.cseq == (2, "BYE")


async def test_pacing_clock_ticks_every_20ms():
    clock = PacingClock()
    times: list[float] = []

    class Recorder:
        def tick(self, now: float) -> None:
            times.append(now)

    clock.add(Recorder())
    await asyncio.sleep(1.0)
    await clock.close()
    gaps = np.diff(times) * 1000
    assert 48 <= len(times) <= 52
    assert abs(np.mean(gaps) - 20) < 0.5 and np.percentile(gaps, 99) < 30


# ---- RFC 3261 section 17 timers (T1 scaled down to keep the tests fast; ratios are what is specified) ----
def _request(method: str, branch: str = "z9hG4bKunit1") -> SipMessage:
    msg = SipMessage(method=method, uri="sip:peer@127.0.0.1:5999")
    msg.add("Via", f"SIP/2.0/UDP 127.0.0.1:5998;branch={branch}")
    msg.add("From", "<sip:robot@127.0.0.1>;tag=a1")
    msg.add("To", "<sip:peer@127.0.0.1>")
    msg.add("Call-ID", "unit-call-1")
    msg.add("CSeq", f"1 {method}")
    msg.add("Max-Forwards", "70")
    return msg


@pytest.fixture
def fast_timers(monkeypatch):
    """T1 = 20 ms, T2 = 160 ms (the RFC's 500 ms / 4 s divided by 25)."""
    monkeypatch.setattr(transaction, "T1", 0.02)
    monkeypatch.setattr(transaction, "T2", 0.16)
    return 0.02


class Wire:
    """Records (time in units of T1, first line) of every datagram a transaction sends."""

    def __init__(self, t1: float) -> None:
        self.t1, self.start, self.sent = t1, time.monotonic(), []

    def send(self, data, dest) -> None:
        raw = data if isinstance(data, bytes) else data.encode()
        self.sent.append(((time.monotonic() - self.start) / self.t1, raw.split(b"\r\n", 1)[0].decode()))

    def times(self, first_line_prefix: str) -> list[float]:
        return [t for t, line in self.sent if line.startswith(first_line_prefix)]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # RFC 3261 17.1.1.2: timer A doubles: sent at 0, 1, 3, 7, 15, 31, 63 T1 (7 transmissions), timer B at 64 T1
        ("INVITE", [0, 1, 3, 7, 15, 31, 63]),
        # 17.1.2.2: timer E's intervals T1, 2T1, 4T1, then T2 (= 8 T1): 11 transmissions, timer F at 64 T1
        ("BYE", [0, 1, 3, 7, 15, 23, 31, 39, 47, 55, 63]),
    ],
    ids=["invite-timers-a-b", "non-invite-timers-e-f"],
)
async def test_client_retransmits_on_its_timer_and_fails_after_64_t1(fast_timers, method, expected):
    wire = Wire(fast_timers)
    txn = transaction.ClientTransaction(
        _request(method), ("127.0.0.1", 5999), wire.send, lambda t: None, timeout=64 * fast_timers
    )
    with pytest.raises(transaction.TransactionTimeout):
        await asyncio.wait_for(asyncio.shield(txn.final), 3)
    txn.cancel_timers()
    sent = wire.times(method)
    assert len(sent) == len(expected), sent
    assert np.allclose(sent, expected, atol=0.75), sent


async def test_invite_retransmission_stops_on_provisional_response(fast_timers):
    wire = Wire(fast_timers)
    request = _request("INVITE")
    txn = transaction.ClientTransaction(request, ("127.0.0.1", 5999), wire.send, lambda t: None)
    await asyncio.sleep(2.5 * fast_timers)  # original + one retransmission
    txn.on_response(response_to(request, 100, "Trying"))
    await asyncio.sleep(20 * fast_timers)
    assert len(wire.times("INVITE")) == 2
    assert not txn.final.done()  # proceeding: the TU's ring timeout governs, not timer B
    txn.cancel_timers()


async def test_non_2xx_final_to_invite_is_acked_and_reacked_on_retransmission(fast_timers):
    wire = Wire(fast_timers)
    request = _request("INVITE")
    txn = transaction.ClientTransaction(request, ("127.0.0.1", 5999), wire.send, lambda t: None)
    await asyncio.sleep(0.2 * fast_timers)  # the INVITE went out
    busy = response_to(request, 486, "Busy Here")
    txn.on_response(busy)
    assert (await txn.final).status == 486
    txn.on_response(busy)  # the peer did not get our ACK and retransmits
    assert len(wire.times("ACK")) == 2
    assert len(wire.times("INVITE")) == 1
    txn.cancel_timers()


async def test_server_2xx_retransmitted_until_ack_then_silent(fast_timers):
    wire = Wire(fast_timers)
    invite = _request("INVITE", "z9hG4bKunit2")
    txn = transaction.ServerTransaction(invite, ("127.0.0.1", 5999), wire.send, lambda t: None)
    txn.respond(response_to(invite, 200, "OK"))
    await asyncio.sleep(7.5 * fast_timers)
    acked_at = (time.monotonic() - wire.start) / fast_timers  # later than 7.5 on a loaded machine
    txn.ack()
    await asyncio.sleep(10 * fast_timers)
    sent = wire.times("SIP/2.0 200")
    # 13.3.1.4: 2xx retransmitted at T1, 2T1, 4T1 ... intervals (0, 1, 3, 7, 15 …), none after the ACK
    assert all(t < acked_at for t in sent), (sent, acked_at)
    assert np.allclose(sent[:4], [0, 1, 3, 7], atol=0.75), sent


async def test_server_2xx_never_acked_calls_on_no_ack_after_64_t1(fast_timers, monkeypatch):
    monkeypatch.setattr(transaction, "TIMEOUT", 64 * fast_timers)
    wire = Wire(fast_timers)
    invite = _request("INVITE", "z9hG4bKunit3")
    txn = transaction.ServerTransaction(invite, ("127.0.0.1", 5999), wire.send, lambda t: None)
    gave_up = asyncio.Event()
    txn.on_no_ack = gave_up.set
    txn.respond(response_to(invite, 200, "OK"))
    await asyncio.wait_for(gave_up.wait(), 3)
    sent = wire.times("SIP/2.0 200")
    assert 63 <= (time.monotonic() - wire.start) / fast_timers <= 66  # timer H = 64 T1
    # intervals T1, 2T1, 4T1, then capped at T2 = 8 T1 until 64 T1
    assert np.allclose(sent[:6], [0, 1, 3, 7, 15, 23], atol=0.75), sent


class _Transport:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


def test_rtp_held_sends_nothing_keeps_queued_audio_and_timestamp_runs_on():
    from telephony.rtp.session import RtpSession

    rtp = RtpSession(lambda pcm: None, lambda digit: None)
    wire = _Transport()
    rtp.connection_made(wire)
    rtp.update_remote(("127.0.0.1", 5999), "PCMU", 101)
    rtp.tick(0.0)
    rtp.set_sending(False)  # the peer put us on hold
    rtp.write(bytes(320 * 3))
    for _ in range(10):
        rtp.tick(0.0)
    assert len(wire.sent) == 1 and rtp.queued_bytes == 320 * 3
    rtp.set_sending(True)
    rtp.tick(0.0)
    first, resumed = (struct.unpack("!BBHI", p[:8]) for p in (wire.sent[0], wire.sent[1]))
    assert resumed[2] == (first[2] + 1) & 0xFFFF  # no sequence gap: nothing was sent
    assert resumed[3] - first[3] == 11 * 160  # but the timestamp kept real time through the hold
    assert resumed[1] & 0x80  # marker bit: a new talkspurt
    assert rtp.queued_bytes == 320 * 2  # the held audio is played now


def test_bench_reads_sipp_failed_count_and_error_lines(tmp_path):
    from bot.devtools.bench_sip import sipp_outcome

    (tmp_path / "uac_dtmf_4242_screen.log").write_text(
        "  Successful call        |        0                  |       99                 \n"
        "  Failed call            |        0                  |        1                 \n"
    )
    (tmp_path / "uac_dtmf_4242_errors.log").write_text(
        "2026-11-22 Aborting call on unexpected message for Call-Id '7-4242@127.0.0.1': "
        "while expecting '200' (index 13), received 'SIP/2.0 481 Call Leg/Transaction Does Not Exist'\n"
    )
    outcome = sipp_outcome(tmp_path, 4242, 1)
    assert outcome.failed == 1 and "unexpected message" in outcome.errors[0]
    assert sipp_outcome(tmp_path, 999, 0).failed == 0
    assert sipp_outcome(tmp_path, 999, 255) == type(outcome)(1, ["sipp exited 255"])
