"""G.711 µ-law (PCMU) and A-law (PCMA) via numpy lookup tables — 16-bit linear PCM in, bytes out."""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

_ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def _segment(pcm: int, ends: tuple[int, ...]) -> int:
    """The G.711 segment of a magnitude: the first whose end it does not pass (8: above them all)."""
    return bisect_left(ends, pcm)


def _ulaw_encode_scalar(x: int) -> int:
    """ITU-T G.711 µ-law on the 14-bit magnitude (the classic Sun/CCITT reference algorithm)."""
    pcm = x >> 2
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + 0x21
    seg = _segment(pcm, _ULAW_SEGMENT_ENDS)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0x0F)) ^ mask


def _ulaw_decode_scalar(u: int) -> int:
    u = ~u & 0xFF
    exponent, mantissa = (u >> 4) & 7, u & 0x0F
    x = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -x if u & 0x80 else x


def _alaw_encode_scalar(x: int) -> int:
    pcm = x >> 3
    if pcm >= 0:
        mask = 0xD5
    else:
        mask, pcm = 0x55, -pcm - 1
    seg = _segment(pcm, _ALAW_SEGMENT_ENDS)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm >> 1) & 0x0F if seg < 2 else (pcm >> seg) & 0x0F
    return aval ^ mask


def _alaw_decode_scalar(a: int) -> int:
    a ^= 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


# Encode tables are indexed by the int16 sample reinterpreted as uint16.
_ALL = np.arange(65536, dtype=np.uint16).view(np.int16)
ULAW_ENCODE = np.array([_ulaw_encode_scalar(int(x)) for x in _ALL], dtype=np.uint8)
ALAW_ENCODE = np.array([_alaw_encode_scalar(int(x)) for x in _ALL], dtype=np.uint8)
ULAW_DECODE = np.array([_ulaw_decode_scalar(u) for u in range(256)], dtype=np.int16)
ALAW_DECODE = np.array([_alaw_decode_scalar(a) for a in range(256)], dtype=np.int16)


class G711:
    """One G.711 variant: `encode(pcm16) -> bytes`, `decode(bytes) -> pcm16`."""

    def __init__(self, name: str) -> None:
        name = name.upper()
        if name == "PCMU":
            self._enc, self._dec, self.payload_type = ULAW_ENCODE, ULAW_DECODE, 0
        elif name == "PCMA":
            self._enc, self._dec, self.payload_type = ALAW_ENCODE, ALAW_DECODE, 8
        else:
            raise ValueError(f"unsupported codec {name!r}")
        self.name = name
        self.silence = self.encode(b"\0\0" * 160)

    def encode(self, pcm16: bytes) -> bytes:
        return self._enc[np.frombuffer(pcm16, dtype="<u2")].tobytes()

    def decode(self, payload: bytes) -> bytes:
        return self._dec[np.frombuffer(payload, dtype=np.uint8)].astype("<i2").tobytes()
