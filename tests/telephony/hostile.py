"""A seeded, reproducible generator of hostile datagrams for the robot's SIP and RTP ports (a test helper).

`storm(seed, n, target)` gives `n` mixed (port, bytes) datagrams: malformed, truncated and oversized SIP
requests and responses, unknown methods, in-dialog requests with the live call's Call-ID but wrong tags, INVITEs
with broken SDP, and RTP packets that are too short, of the wrong version, with a foreign SSRC, unknown payload
types, CSRC counts, header extensions and padding that point past the packet. The same seed gives the same bytes.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

UDP_MAX = 65507


@dataclass(frozen=True)
class Target:
    """Where the storm goes, and what it knows about the call in progress (its Call-ID, as an on-path sniffer
    would, but not its tags)."""

    host: str
    sip_port: int
    rtp_port: int
    call_id: str


def _request(
    method: str,
    target: Target,
    rng: random.Random,
    *,
    call_id: str | None = None,
    to_tag: str | None = None,
    headers: list[str] | None = None,
    body: bytes = b"",
    content_length: str | None = None,
) -> bytes:
    branch = f"z9hG4bK{rng.getrandbits(64):x}"
    uri = f"sip:robot@{target.host}:{target.sip_port}"
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {target.host}:9;branch={branch}",
        f"From: <sip:evil@{target.host}>;tag={rng.getrandbits(32):x}",
        f"To: <{uri}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id or f'{rng.getrandbits(64):x}@evil'}",
        f"CSeq: {rng.randint(1, 2**31)} {method}",
        "Max-Forwards: 70",
        *(headers or []),
        f"Content-Length: {len(body) if content_length is None else content_length}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _sdp(rng: random.Random, broken: bool) -> bytes:
    port = rng.choice(["notaport", "-1", "99999999999", ""]) if broken else str(rng.randint(1024, 65000))
    rtpmap = (
        rng.choice(["a=rtpmap:abc PCMU/8000", "a=rtpmap:", "a=rtpmap:0"])
        if broken
        else "a=rtpmap:0 PCMU/8000"
    )
    lines = [
        "v=0",
        "o=- 1 1 IN IP4 127.0.0.1",
        "s=-",
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        f"m=audio {port} RTP/AVP 0",
    ]
    lines.append(rtpmap)
    if rng.random() < 0.3:
        lines = [line[:1] for line in lines]  # "m" "c" without '=' values
    if rng.random() < 0.2:
        lines.append("m=")
    return ("\r\n".join(lines) + "\r\n").encode()


# ---- SIP kinds: each takes (target, rng) and returns one datagram ------------------------------------------
def sip_truncated(t: Target, rng: random.Random) -> bytes:
    whole = _request("INVITE", t, rng, headers=["Content-Type: application/sdp"], body=_sdp(rng, False))
    return whole[: rng.randint(1, len(whole) - 1)]


def sip_huge_content_length(t: Target, rng: random.Random) -> bytes:
    length = rng.choice(["4294967296", "99999999999999999999999", "65536", "-5", "12abc", "", " 1 2"])
    return _request(rng.choice(["INVITE", "OPTIONS", "BYE"]), t, rng, body=b"x" * 10, content_length=length)


def sip_bad_headers(t: Target, rng: random.Random) -> bytes:
    bad = rng.choice(
        [
            ["Via: SIP/2.0/UDP host:port;branch=z9hG4bKx"],
            ["Via: "],
            ["CSeq: abc INVITE"],
            ["CSeq: 1"],
            ["CSeq: 99999999999999999999999 INVITE"],
            ["From: <http://not-sip>;tag=1"],
            ["From: <sip:a@b:notaport>;tag=1"],
            ["To: <sip:robot@[::1>"],
            ["Contact: <sip:x@y:z>"],
            ["Contact: garbage<<>>"],
            ["this line has no colon"],
            ["Expires: \x00\x01\x02"],
            [": empty name"],
        ]
    )
    msg = _request(rng.choice(["INVITE", "OPTIONS", "BYE", "REGISTER"]), t, rng).decode()
    name = bad[0].split(":", 1)[0]
    kept = [line for line in msg.split("\r\n") if not (name and line.startswith(name + ":"))]
    kept.insert(1, bad[0])
    return "\r\n".join(kept).encode()


def sip_missing_header(t: Target, rng: random.Random) -> bytes:
    drop = rng.choice(["Via", "From", "To", "Call-ID", "CSeq"])
    msg = _request("INVITE", t, rng).decode()
    return "\r\n".join(line for line in msg.split("\r\n") if not line.startswith(drop + ":")).encode()


def sip_unknown_method(t: Target, rng: random.Random) -> bytes:
    method = rng.choice(["FOO", "PUBLISH", "MESSAGE", "X" * 300, "INV!TE", "SUBSCRIBE", "PRACK"])
    return _request(method, t, rng, call_id=t.call_id if rng.random() < 0.5 else None)


def sip_wrong_tags(t: Target, rng: random.Random) -> bytes:
    """In-dialog requests for the live call (its Call-ID) from someone who does not know its tags."""
    method = rng.choice(["BYE", "INVITE", "REFER", "INFO", "NOTIFY", "UPDATE"])
    headers = ["Refer-To: <sip:attacker@evil>"] if method == "REFER" else []
    body = _sdp(rng, rng.random() < 0.5) if method == "INVITE" else b""
    return _request(
        method, t, rng, call_id=t.call_id, to_tag=f"{rng.getrandbits(32):x}", headers=headers, body=body
    )


def sip_broken_sdp(t: Target, rng: random.Random) -> bytes:
    return _request("INVITE", t, rng, headers=["Content-Type: application/sdp"], body=_sdp(rng, True))


def sip_oversized(t: Target, rng: random.Random) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        headers = [f"X-Big: {'a' * (UDP_MAX - 600)}"]
    elif kind == 1:
        headers = [f"Via: SIP/2.0/UDP 10.0.0.{i % 250}:5060;branch=z9hG4bK{i}" for i in range(1200)]
    else:
        headers = [f"Route: <sip:{i}@r>" for i in range(1500)]
    data = _request("OPTIONS", t, rng, headers=headers)
    return data[:UDP_MAX]


def sip_bad_first_line(t: Target, rng: random.Random) -> bytes:
    first = rng.choice(
        [
            b"INVITE",
            b"INVITE sip:x SIP/3.0",
            b"SIP/2.0 abc OK",
            b"SIP/2.0",
            b"  ",
            b"\xff\xfe INVITE",
            b"GET / HTTP/1.1",
        ]
    )
    rest = _request("OPTIONS", t, rng).split(b"\r\n", 1)[1]
    return first + b"\r\n" + rest


def sip_stray_response(t: Target, rng: random.Random) -> bytes:
    status = rng.choice([100, 180, 200, 401, 407, 481, 500, 699, 999])
    req = _request(
        rng.choice(["INVITE", "BYE", "REGISTER"]), t, rng, call_id=t.call_id if rng.random() < 0.5 else None
    )
    _, rest = req.split(b"\r\n", 1)
    return f"SIP/2.0 {status} Whatever".encode() + b"\r\n" + rest


def sip_binary(t: Target, rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(1, 1500))


def sip_non_utf8(t: Target, rng: random.Random) -> bytes:
    head, rest = _request("OPTIONS", t, rng).split(b"\r\n", 1)
    return head + b"\r\nSubject: \xff\xfe\x80 \x00bad\r\n" + rest


SIP_KINDS: tuple[Callable[[Target, random.Random], bytes], ...] = (
    sip_truncated,
    sip_huge_content_length,
    sip_bad_headers,
    sip_missing_header,
    sip_unknown_method,
    sip_wrong_tags,
    sip_broken_sdp,
    sip_oversized,
    sip_bad_first_line,
    sip_stray_response,
    sip_binary,
    sip_non_utf8,
)


# ---- RTP kinds -----------------------------------------------------------------------------------------
def _rtp(rng: random.Random, first: int = 0x80, pt: int = 0, payload: bytes | None = None) -> bytes:
    header = struct.pack(
        "!BBHII", first, pt, rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(32) | 1
    )  # a foreign SSRC
    return header + (rng.randbytes(160) if payload is None else payload)


def rtp_short(t: Target, rng: random.Random) -> bytes:
    return rng.randbytes(rng.randint(0, 11))


def rtp_wrong_version(t: Target, rng: random.Random) -> bytes:
    return _rtp(rng, first=rng.choice([0x00, 0x40, 0xC0]))


def rtp_foreign_ssrc_audio(t: Target, rng: random.Random) -> bytes:
    """Loud PCMU/PCMA noise from another source: it would ruin the call's audio if it were played."""
    return _rtp(
        rng, pt=rng.choice([0, 8, 0x80]), payload=bytes(rng.choice([0x00, 0x80, 0x7F]) for _ in range(160))
    )


def rtp_unknown_payload_type(t: Target, rng: random.Random) -> bytes:
    return _rtp(rng, pt=rng.choice([3, 9, 18, 96, 100, 101, 127]))


def rtp_bad_lengths(t: Target, rng: random.Random) -> bytes:
    kind = rng.randrange(4)
    if kind == 0:  # 15 CSRCs announced, none there
        return _rtp(rng, first=0x8F, payload=b"")
    if kind == 1:  # a header extension longer than the packet
        return _rtp(rng, first=0x90, payload=struct.pack("!HH", 0xBEDE, 0xFFFF) + rng.randbytes(8))
    if kind == 2:  # padding longer than the packet
        return _rtp(rng, first=0xA0, payload=rng.randbytes(20) + b"\xff")
    return _rtp(rng, payload=b"")


def rtp_oversized(t: Target, rng: random.Random) -> bytes:
    return _rtp(rng, payload=rng.randbytes(rng.choice([1400, 8000, UDP_MAX - 12])))


def rtp_dtmf(t: Target, rng: random.Random) -> bytes:
    return _rtp(rng, pt=101, payload=bytes([rng.randrange(256), 0x80, 0, 160]))


RTP_KINDS: tuple[Callable[[Target, random.Random], bytes], ...] = (
    rtp_short,
    rtp_wrong_version,
    rtp_foreign_ssrc_audio,
    rtp_unknown_payload_type,
    rtp_bad_lengths,
    rtp_oversized,
    rtp_dtmf,
)


def storm(seed: int, n: int, target: Target) -> Iterator[tuple[str, int, bytes]]:
    """`n` datagrams (kind name, port, bytes): half SIP to the SIP port, half RTP to the call's RTP port."""
    rng = random.Random(seed)
    for _ in range(n):
        if rng.random() < 0.5:
            kind = rng.choice(SIP_KINDS)
            yield kind.__name__, target.sip_port, kind(target, rng)
        else:
            kind = rng.choice(RTP_KINDS)
            yield kind.__name__, target.rtp_port, kind(target, rng)
