"""SDP offer/answer for one audio stream (RFC 4566 / RFC 3264 subset): G.711 plus telephone-event, SDES keys
(RFC 4568) for SRTP."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from telephony.config import MediaEncryption
from telephony.rtp.srtp import CryptoAttribute

STATIC_PT = {"PCMU": 0, "PCMA": 8}


class Direction(StrEnum):
    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def answer(self) -> Direction:
        """The direction an answerer takes for this offered direction."""
        return {
            Direction.SENDONLY: Direction.RECVONLY,
            Direction.RECVONLY: Direction.SENDONLY,
        }.get(self, self)

    @property
    def remote_receives(self) -> bool:
        """The peer offered to receive (sendrecv/recvonly): we may send. Not on hold (sendonly/inactive)."""
        return self in (Direction.SENDRECV, Direction.RECVONLY)

    @property
    def remote_sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)


class SdpError(ValueError):
    """An SDP we cannot use (no audio, no common codec)."""


class MediaSecurityError(SdpError):
    """The peer's SDP does not meet our media encryption policy (plain RTP where SRTP is required, or the other
    way round)."""


@dataclass(frozen=True)
class MediaDescription:
    """The parts of a session description a G.711 call needs."""

    address: str
    port: int
    payload_types: tuple[int, ...]
    rtpmap: tuple[tuple[int, str], ...]  # pt -> "PCMU/8000"
    direction: Direction = Direction.SENDRECV
    profile: str = "RTP/AVP"
    crypto: tuple[CryptoAttribute, ...] = ()  # the suites we take, in the peer's order

    @property
    def srtp_mandatory(self) -> bool:
        """RTP/SAVP: the peer sends and takes SRTP only."""
        return self.profile.upper() == "RTP/SAVP"

    def codec_name(self, pt: int) -> str | None:
        for num, desc in self.rtpmap:
            if num == pt:
                return desc.split("/")[0].upper()
        return {0: "PCMU", 8: "PCMA"}.get(pt)

    @property
    def telephone_event_pt(self) -> int | None:
        for pt in self.payload_types:
            if self.codec_name(pt) == "TELEPHONE-EVENT":
                return pt
        return None

    @classmethod
    def parse(cls, body: bytes) -> MediaDescription:
        session_addr, media_addr, port, pts, profile = None, None, None, (), "RTP/AVP"
        rtpmap: list[tuple[int, str]] = []
        crypto: list[CryptoAttribute] = []
        direction, in_audio, seen_media = Direction.SENDRECV, False, False
        for raw in body.decode(errors="replace").splitlines():
            line = raw.strip()
            if len(line) < 2 or line[1] != "=":
                continue
            kind, value = line[0], line[2:]
            if kind == "m":
                if seen_media and in_audio:
                    break  # first audio stream only
                seen_media = True
                fields = value.split()
                in_audio = bool(fields) and fields[0] == "audio"
                if in_audio:
                    if len(fields) < 2 or not fields[1].isdigit() or int(fields[1]) > 65535:
                        raise SdpError(f"bad media line {line!r}")
                    port = int(fields[1])
                    profile = fields[2] if len(fields) > 2 else profile
                    pts = tuple(int(p) for p in fields[3:] if p.isdigit())
            elif kind == "c" and value.split():
                addr = value.split()[-1].split("/")[0]
                if seen_media and in_audio:
                    media_addr = addr
                elif not seen_media:
                    session_addr = addr
            elif kind == "a" and (in_audio or not seen_media):
                if value.startswith("rtpmap:") and in_audio:
                    num, _, desc = value[7:].partition(" ")
                    if num.isdigit():  # a malformed rtpmap is ignored; the static types still apply
                        rtpmap.append((int(num), desc.strip()))
                elif value.startswith("crypto:") and in_audio:
                    attribute = CryptoAttribute.parse(value[7:])
                    if attribute is not None:
                        crypto.append(attribute)
                elif value in Direction.__members__.values():
                    direction = Direction(value)
        if port is None:
            raise SdpError("no audio stream in SDP")
        address = media_addr or session_addr
        if not address:
            raise SdpError("no connection address in SDP")
        return cls(address, port, pts, tuple(rtpmap), direction, profile, tuple(crypto))


@dataclass(frozen=True)
class Negotiated:
    """The outcome of an offer/answer: what we send and expect."""

    remote: MediaDescription
    codec: str
    payload_type: int
    dtmf_pt: int | None
    crypto: CryptoAttribute | None = None  # the peer's key and suite when the audio is SRTP


def negotiate(remote: MediaDescription, preferred: tuple[str, ...]) -> Negotiated:
    """Pick our first preferred codec the remote offered (as answerer) or accepted (as offerer)."""
    offered = {remote.codec_name(pt): pt for pt in remote.payload_types}
    for codec in preferred:
        if codec in offered:
            return Negotiated(remote, codec, offered[codec], remote.telephone_event_pt)
    raise SdpError(f"no common codec: offered {sorted(n for n in offered if n)}, we have {list(preferred)}")


def negotiate_crypto(remote: MediaDescription, policy: MediaEncryption) -> CryptoAttribute | None:
    """The peer's SDES key we use (its first suite we take), or None for plain RTP; MediaSecurityError says why
    the two sides cannot agree."""
    if policy is MediaEncryption.NONE:
        if remote.srtp_mandatory:
            raise MediaSecurityError("the peer requires SRTP (RTP/SAVP) but media_encryption is none")
        return None
    if remote.crypto:
        return remote.crypto[0]
    if policy is MediaEncryption.SDES_REQUIRED:
        raise MediaSecurityError(
            f"the peer's SDP has plain RTP only ({remote.profile} without an a=crypto line we take: "
            "AES_CM_128_HMAC_SHA1_80 or _32) but media_encryption is sdes_required"
        )
    if remote.srtp_mandatory:
        raise MediaSecurityError("the peer requires SRTP (RTP/SAVP) but offers no crypto suite we take")
    return None


def build_sdp(
    address: str,
    port: int,
    codecs: tuple[str, ...],
    dtmf_pt: int | None = 101,
    direction: Direction = Direction.SENDRECV,
    session_id: int | None = None,
    version: int = 1,
    profile: str = "RTP/AVP",
    crypto: CryptoAttribute | None = None,
) -> bytes:
    session_id = session_id or secrets.randbelow(2**31)
    pts = [STATIC_PT[c] for c in codecs]
    if dtmf_pt is not None:
        pts.append(dtmf_pt)
    lines = [
        "v=0",
        f"o=voicebot {session_id} {version} IN IP4 {address}",
        "s=voicebot",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} {profile} {' '.join(map(str, pts))}",
    ]
    if crypto is not None:
        lines.append(crypto.line())
    lines += [f"a=rtpmap:{STATIC_PT[c]} {c}/8000" for c in codecs]
    if dtmf_pt is not None:
        lines += [f"a=rtpmap:{dtmf_pt} telephone-event/8000", f"a=fmtp:{dtmf_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()
