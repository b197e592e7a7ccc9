"""Compare the candidates for the robot's SRTP: pylibsrtp (libsrtp2) and AES_CM_128_HMAC_SHA1_80 written by hand
on the `cryptography` package (RFC 3711 §4.1.1, §4.2, §4.3 with key derivation rate 0).

Run: .venv/bin/python scripts/compare_srtp.py  (the second row needs `pip install cryptography==46.0.3`)
Prints a Markdown table: the protect/unprotect round trip of 20,000 packets of 20 ms G.711, whether both give
byte-identical SRTP for the same key, and microseconds per packet. The results are kept in docs/telephony.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import time

import pylibsrtp

PACKETS = 20000
TAG_BYTES = 10


class HandWrittenSrtp:
    """The alternative: SRTP for one stream without replay protection or rollover tracking (roc fixed at 0)."""

    def __init__(self, master: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._cipher, self._modes = Cipher, modes
        key, salt = master[:16], master[16:]
        derive = [self._prf(algorithms.AES(key), salt, label, n) for label, n in ((0, 16), (1, 20), (2, 14))]
        self._aes, self._auth_key, self._salt = algorithms.AES(derive[0]), derive[1], derive[2]

    def _prf(self, aes, salt: bytes, label: int, length: int) -> bytes:
        iv = ((int.from_bytes(salt, "big") ^ (label << 48)) << 16).to_bytes(16, "big")
        return self._cipher(aes, self._modes.CTR(iv)).encryptor().update(bytes(length))

    def _keystream(self, ssrc: int, index: int, length: int) -> bytes:
        iv = (int.from_bytes(self._salt, "big") << 16) ^ (ssrc << 64) ^ (index << 16)
        return (
            self._cipher(self._aes, self._modes.CTR(iv.to_bytes(16, "big"))).encryptor().update(bytes(length))
        )

    def _xor(self, packet: bytes) -> bytes:
        seq, ssrc = struct.unpack_from("!H", packet, 2)[0], struct.unpack_from("!I", packet, 8)[0]
        stream = self._keystream(ssrc, seq, len(packet) - 12)
        return packet[:12] + bytes(a ^ b for a, b in zip(packet[12:], stream, strict=True))

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._auth_key, body + bytes(4), hashlib.sha1).digest()[:TAG_BYTES]

    def protect(self, packet: bytes) -> bytes:
        body = self._xor(packet)
        return body + self._tag(body)

    def unprotect(self, packet: bytes) -> bytes:
        body, tag = packet[:-TAG_BYTES], packet[-TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(body)):
            raise ValueError("authentication failed")
        return self._xor(body)


def libsrtp_pair(key: bytes):
    policy = pylibsrtp.Policy
    profile = policy.SRTP_PROFILE_AES128_CM_SHA1_80
    return (
        pylibsrtp.Session(policy(key, policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)),
        pylibsrtp.Session(policy(key, policy.SSRC_ANY_INBOUND, srtp_profile=profile)),
    )


def timed(function, packets: list[bytes]) -> tuple[list[bytes], float]:
    start = time.perf_counter()
    out = [function(packet) for packet in packets]
    return out, (time.perf_counter() - start) / len(packets) * 1e6


def main() -> None:
    key = os.urandom(30)
    packets = [
        struct.pack("!BBHII", 0x80, 0, n, n * 160, 0x1234ABCD) + os.urandom(160)
        for n in range(1, PACKETS + 1)
    ]
    sender, receiver = libsrtp_pair(key)
    reference, protect_us = timed(sender.protect, packets)
    back, unprotect_us = timed(receiver.unprotect, reference)
    print("| candidate | round trip | same bytes as libsrtp | protect µs/packet | unprotect µs/packet |")
    print("|---|---|---|---|---|")
    print(
        f"| pylibsrtp {pylibsrtp.__version__} | {back == packets} | — | {protect_us:.2f} | {unprotect_us:.2f} |"
    )
    try:
        hand = HandWrittenSrtp(key)
    except ImportError:
        print("| cryptography (by hand) | not installed | | | |")
        return
    protected, protect_us = timed(hand.protect, packets)
    back, unprotect_us = timed(hand.unprotect, protected)
    print(
        f"| cryptography (by hand) | {back == packets} | {protected == reference} | {protect_us:.2f} | "
        f"{unprotect_us:.2f} |"
    )


if __name__ == "__main__":
    main()
