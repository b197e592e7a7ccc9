"""SDES keys in SDP, the SRTP policy decision, SRTP protect/unprotect, TLS stream framing, and the settings."""

from __future__ import annotations

import asyncio
import base64
import re
import struct
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from telephony.config import MediaEncryption
from telephony.rtp.srtp import KEY_BYTES, CryptoAttribute, SrtpContext, new_key
from telephony.sip import transaction
from telephony.sip.message import SipMessage
from telephony.sip.sdp import MediaDescription, MediaSecurityError, build_sdp, negotiate_crypto
from telephony.sip.tls_transport import split_stream

KEY = bytes(range(KEY_BYTES))
INLINE = base64.b64encode(KEY).decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"1 AES_CM_128_HMAC_SHA1_80 inline:{INLINE}", CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", KEY)),
        (
            f"2 AES_CM_128_HMAC_SHA1_32 inline:{INLINE}|2^31",
            CryptoAttribute(2, "AES_CM_128_HMAC_SHA1_32", KEY),
        ),
        (f"1 AES_256_CM_HMAC_SHA1_80 inline:{INLINE}", None),  # a suite we do not take
        (f"1 AES_CM_128_HMAC_SHA1_80 inline:{INLINE}|2^20|1:4", None),  # with an MKI
        (f"1 AES_CM_128_HMAC_SHA1_80 inline:{base64.b64encode(KEY[:16]).decode()}", None),  # short key
        ("1 AES_CM_128_HMAC_SHA1_80 inline:not*base64", None),
        ("x AES_CM_128_HMAC_SHA1_80", None),
    ],
)
def test_crypto_attribute_parse(value, expected):
    assert CryptoAttribute.parse(value) == expected


def test_offer_with_key_parses_back():
    crypto = CryptoAttribute(1, "AES_CM_128_HMAC_SHA1_80", new_key())
    sdp = build_sdp("127.0.0.1", 4000, ("PCMU",), 101, profile="RTP/SAVP", crypto=crypto)
    assert b"m=audio 4000 RTP/SAVP 0 101\r\n" in sdp
    media = MediaDescription.parse(sdp)
    assert media.srtp_mandatory and media.crypto == (crypto,)


def media(profile: str, *suites: str) -> MediaDescription:
    lines = [f"a=crypto:{n} {suite} inline:{INLINE}" for n, suite in enumerate(suites, 1)]
    body = "\r\n".join(["v=0", "c=IN IP4 127.0.0.1", f"m=audio 4000 {profile} 0", *lines]) + "\r\n"
    return MediaDescription.parse(body.encode())


@pytest.mark.parametrize(
    ("policy", "remote", "expected"),
    [
        (MediaEncryption.NONE, media("RTP/AVP"), None),
        (MediaEncryption.NONE, media("RTP/AVP", "AES_CM_128_HMAC_SHA1_80"), None),  # best effort: stay plain
        (MediaEncryption.NONE, media("RTP/SAVP", "AES_CM_128_HMAC_SHA1_80"), "requires SRTP (RTP/SAVP)"),
        (MediaEncryption.SDES_OPTIONAL, media("RTP/AVP"), None),
        (
            MediaEncryption.SDES_OPTIONAL,
            media("RTP/AVP", "AES_CM_128_HMAC_SHA1_32"),
            "AES_CM_128_HMAC_SHA1_32",
        ),
        (
            MediaEncryption.SDES_OPTIONAL,
            media("RTP/SAVP", "AES_256_CM_HMAC_SHA1_80"),
            "no crypto suite we take",
        ),
        (MediaEncryption.SDES_REQUIRED, media("RTP/AVP"), "plain RTP only (RTP/AVP"),
        (MediaEncryption.SDES_REQUIRED, media("RTP/SAVP", "AES_256_CM_HMAC_SHA1_80"), "sdes_required"),
        (
            MediaEncryption.SDES_REQUIRED,
            media("RTP/SAVP", "AES_256_CM_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80"),
            "AES_CM_128_HMAC_SHA1_80",
        ),
    ],
)
def test_media_encryption_policy(policy, remote, expected):
    if expected is None:
        assert negotiate_crypto(remote, policy) is None
    elif expected.startswith("AES"):
        assert negotiate_crypto(remote, policy).suite == expected
    else:
        with pytest.raises(MediaSecurityError, match=re.escape(expected)):
            negotiate_crypto(remote, policy)


def rtp_packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x1234) + payload


def test_srtp_round_trip_and_tampering():
    ours, theirs = new_key(), new_key()
    robot = SrtpContext("AES_CM_128_HMAC_SHA1_80", ours, theirs)
    peer = SrtpContext("AES_CM_128_HMAC_SHA1_80", theirs, ours)
    plain = rtp_packet(1, bytes(range(160)))
    sent = robot.protect(plain)
    assert len(sent) == len(plain) + 10 and sent[12:172] != plain[12:]
    assert peer.unprotect(sent) == plain
    tampered = peer.protect(rtp_packet(2, bytes(160)))
    tampered = tampered[:20] + bytes([tampered[20] ^ 1]) + tampered[21:]
    assert robot.unprotect(tampered) is None and robot.unprotect_failures == 1
    assert robot.unprotect(rtp_packet(3, bytes(160))) is None  # plain RTP is dropped, not played
    stranger = SrtpContext("AES_CM_128_HMAC_SHA1_80", new_key(), ours)
    assert robot.unprotect(stranger.protect(rtp_packet(4, bytes(160)))) is None
    robot.rekey_remote(stranger_key := new_key())
    assert robot.unprotect(SrtpContext("AES_CM_128_HMAC_SHA1_80", stranger_key, ours).protect(plain)) == plain


def test_tls_stream_is_split_by_content_length():
    first = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length: 0\r\n\r\n"
    second = b"MESSAGE sip:a@b SIP/2.0\r\nl: 5\r\n\r\nhello"
    buffer = bytearray(b"\r\n\r\n" + first + second + second[:30])
    assert split_stream(buffer) == [first, second]
    assert bytes(buffer) == second[:30]
    buffer += second[30:]
    assert split_stream(buffer) == [second] and buffer == bytearray()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "telephony:\n  registrar: pbx:5061\n  media_encryption: sdes_required\n",
            "telephony: Value error, media_encryption sdes_required puts the SRTP keys in the SDP: it needs "
            "transport: tls",
        ),
        (
            "telephony:\n  transport: tls\n",
            "telephony: Value error, transport tls needs a registrar or proxy",
        ),
        (
            "telephony:\n  registrar: pbx\n  transport: tls\n  tls_ca_file: /nowhere/ca.pem\n",
            "telephony.tls_ca_file: Value error, tls_ca_file '/nowhere/ca.pem' is not a file",
        ),
        (
            "telephony:\n  registrar: pbx\n  transport: tls\n  media_encryption: srtp\n",
            "telephony.media_encryption: Input should be 'none', 'sdes_optional' or 'sdes_required'",
        ),
        ("telephony:\n  transport: tcp\n", "telephony.transport: Input should be 'udp' or 'tls'"),
    ],
)
def test_bad_security_settings_are_clear_errors(tmp_path: Path, text: str, message: str):
    config = tmp_path / "voicebot.yml"
    config.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(config, environ={})
    assert message in str(error.value)


def test_tls_settings_from_the_config_file(tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "voicebot.yml"
    config.write_text(
        f"telephony:\n  registrar: pbx.example\n  transport: tls\n  tls_ca_file: {ca}\n"
        "  media_encryption: sdes_required\n"
    )
    telephony = load_settings(config, environ={}).telephony
    assert telephony.transport == "tls" and telephony.default_port == 5061 and telephony.tls_verify
    assert telephony.media_encryption is MediaEncryption.SDES_REQUIRED and telephony.tls_ca_file == ca


async def test_requests_over_tls_are_not_retransmitted_but_still_time_out(monkeypatch):
    """RFC 3261 17.1.1.2 / 17.1.2.2: over a reliable transport no timer A/E, timer B/F still ends the wait."""
    monkeypatch.setattr(transaction, "T1", 0.02)
    monkeypatch.setattr(transaction, "T2", 0.16)
    for method in ("INVITE", "OPTIONS"):
        sent = []
        request = SipMessage(method=method, uri="sip:peer@127.0.0.1")
        request.add("Via", "SIP/2.0/TLS 127.0.0.1:40000;branch=z9hG4bKtls1")
        request.add("CSeq", f"1 {method}")
        txn = transaction.ClientTransaction(
            request,
            ("127.0.0.1", 5061),
            lambda data, dest, sent=sent: sent.append(data),
            lambda t: None,
            1.28,
            True,
        )
        with pytest.raises(transaction.TransactionTimeout):
            await asyncio.wait_for(asyncio.shield(txn.final), 3)
        txn.cancel_timers()
        assert len(sent) == 1, (method, len(sent))
