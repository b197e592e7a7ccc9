"""SRTP (RFC 3711) for a call's audio with keys exchanged in the SDP (SDES, RFC 4568), through libsrtp2
(`pylibsrtp`). RTCP is not sent by this stack, so only SRTP (no SRTCP) is keyed."""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass

import pylibsrtp

log = logging.getLogger(__name__)

# Crypto suites we take, in our order of preference (RFC 4568 §6.2); both need 30 bytes of master key + salt.
SUITES = {
    "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
}
DEFAULT_SUITE = "AES_CM_128_HMAC_SHA1_80"
KEY_BYTES = 30


@dataclass(frozen=True)
class CryptoAttribute:
    """One `a=crypto:<tag> <suite> inline:<key||salt>[|lifetime][|MKI:len]` line."""

    tag: int
    suite: str
    key: bytes

    @classmethod
    def parse(cls, value: str) -> CryptoAttribute | None:
        """The attribute's value (after `a=crypto:`); None for a suite or key form we do not take."""
        fields = value.split()
        if len(fields) < 3 or not fields[0].isdigit() or fields[1].upper() not in SUITES:
            return None
        key_params = fields[2].split(";")[0]  # one key; RFC 4568 allows several with MKIs
        method, _, info = key_params.partition(":")
        if method.lower() != "inline":
            return None
        encoded, *extras = info.split("|")
        if any(":" in extra for extra in extras):  # MKI: we send and take packets without one
            return None
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:
            return None
        if len(key) != KEY_BYTES:
            return None
        return cls(int(fields[0]), fields[1].upper(), key)

    def line(self) -> str:
        return f"a=crypto:{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"


def new_key() -> bytes:
    """A fresh master key and salt (30 bytes from the OS's CSPRNG)."""
    return secrets.token_bytes(KEY_BYTES)


class SrtpContext:
    """Protects what we send with our key and unprotects what the peer sends with its key."""

    def __init__(self, suite: str, local_key: bytes, remote_key: bytes) -> None:
        self.suite = suite
        self._profile = SUITES[suite]
        self._out = pylibsrtp.Session(
            pylibsrtp.Policy(local_key, pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=self._profile)
        )
        self.remote_key = remote_key
        self._in = self._inbound(remote_key)
        self.unprotect_failures = 0

    def _inbound(self, key: bytes) -> pylibsrtp.Session:
        return pylibsrtp.Session(
            pylibsrtp.Policy(key, pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=self._profile)
        )

    def rekey_remote(self, remote_key: bytes) -> None:
        """The peer offered a new key (re-INVITE): take its packets with that one from now on."""
        if remote_key != self.remote_key:
            self.remote_key = remote_key
            self._in = self._inbound(remote_key)

    def protect(self, packet: bytes) -> bytes:
        return self._out.protect(packet)

    def unprotect(self, packet: bytes) -> bytes | None:
        """The plain RTP packet, or None when it fails authentication or replay checks (dropped)."""
        try:
            return self._in.unprotect(packet)
        except pylibsrtp.Error as exc:
            self.unprotect_failures += 1
            if self.unprotect_failures in (1, 100, 10000):
                log.warning("SRTP packet dropped (%s); %d so far", exc, self.unprotect_failures)
            return None
