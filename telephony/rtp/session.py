"""One call's RTP stream: a UDP socket, G.711 at the edge, paced sending driven by the shared clock, SRTP when
keyed."""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable

from telephony.droplog import DropLog
from telephony.rtp.clock import PacingClock, shared_clock
from telephony.rtp.codec import G711
from telephony.rtp.dtmf import DtmfDetector, digit_packets
from telephony.rtp.srtp import SrtpContext

FRAME_BYTES = 320  # 20 ms of 16-bit mono PCM at 8 kHz
_HEADER = struct.Struct("!BBHII")
# A stream (source address and SSRC) heard this recently holds the call: packets of another are dropped, unless
# they come from the address the peer's SDP gave (the peer restarting its stream or changing SSRC).
SOURCE_HOLD = 0.5
# A stream from elsewhere takes over a quiet call only after this many packets in sequence (RFC 3550 A.1's
# probation): a lone forged packet processed after a stall of the event loop is never played.
PROBATION = 2

log = logging.getLogger(__name__)
_drops = DropLog(log, "RTP packet")


class RtpSession(asyncio.DatagramProtocol):
    """Sends one packet per clock tick (queued audio, DTMF, or silence) and delivers decoded frames."""

    def __init__(
        self,
        on_audio: Callable[[bytes], None],
        on_dtmf: Callable[[str], None],
        clock: PacingClock | None = None,
        record_send_times: bool = False,
    ) -> None:
        self._on_audio, self._on_dtmf = on_audio, on_dtmf
        self._clock = clock
        self._transport: asyncio.DatagramTransport | None = None
        self.local_port = 0
        self.remote: tuple[str, int] | None = None
        self.codec = G711("PCMU")
        self.dtmf_pt: int | None = 101
        self._seq = secrets.randbelow(65536)
        self._ts = secrets.randbelow(2**32)
        self._ssrc = secrets.randbelow(2**32)
        self._first = True
        self._out = bytearray()
        self._dtmf_out: deque[tuple[bytes, bool, bool]] = deque()  # payload, marker, new_event
        self._dtmf_ts = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._detector = DtmfDetector()
        self.sending = True  # False while the peer holds us (RFC 3264 8.4): the clock runs, nothing is sent
        self.packets_sent = 0
        self.last_audio_sent = 0.0  # time.monotonic() of the last packet carrying queued (not filler) audio
        self.packets_received = 0
        self.packets_dropped = 0  # malformed, or from another stream than the call's
        self.last_received = time.monotonic()
        self._source: tuple[tuple[str, int], int] | None = None  # (address, SSRC) of the stream we play
        self._candidate: tuple[tuple[tuple[str, int], int], int, int] | None = None  # source, next seq, seen
        self.send_times: list[float] | None = [] if record_send_times else None
        self.srtp: SrtpContext | None = (
            None  # set by the call once SDES keys are agreed: every packet is SRTP
        )

    # ---- lifecycle -----------------------------------------------------
    async def open(self, host: str, port_min: int, port_max: int) -> int:
        loop = asyncio.get_running_loop()
        start = port_min + 2 * secrets.randbelow(max(1, (port_max - port_min) // 2))
        span = max(2, port_max - port_min)
        for i in range(0, span, 2):
            port = port_min + (start - port_min + i) % span
            port -= port % 2
            try:
                await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
                self.local_port = port
                return port
            except OSError:
                continue
        raise OSError(f"no free RTP port in {port_min}-{port_max}")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def start(self, remote: tuple[str, int], codec: str, dtmf_pt: int | None) -> None:
        self.update_remote(remote, codec, dtmf_pt)
        if self._clock is None:
            self._clock = shared_clock()
        self._clock.add(self)

    def update_remote(self, remote: tuple[str, int], codec: str, dtmf_pt: int | None) -> None:
        self.remote = remote
        if codec != self.codec.name:
            self.codec = G711(codec)
        self.dtmf_pt = dtmf_pt

    def set_sending(self, sending: bool) -> None:
        """Pause (hold) or resume sending; the first packet after a resume starts a talkspurt (marker bit)."""
        if sending and not self.sending:
            self._first = True
        self.sending = sending

    def close(self) -> None:
        if self._clock:
            self._clock.remove(self)
        if self._transport:
            self._transport.close()
            self._transport = None
        self._out.clear()
        self._drained.set()

    # ---- outgoing ------------------------------------------------------
    def write(self, pcm16: bytes) -> None:
        if pcm16:
            self._out += pcm16
            self._drained.clear()

    def flush(self) -> int:
        """Drop queued outgoing audio (barge-in); returns the number of bytes dropped."""
        dropped = len(self._out)
        self._out.clear()
        self._drained.set()
        return dropped

    @property
    def queued_bytes(self) -> int:
        return len(self._out)

    @property
    def dtmf_pending(self) -> bool:
        """RFC 2833 events queued by `send_dtmf` and not sent yet."""
        return bool(self._dtmf_out)

    async def drained(self) -> None:
        await self._drained.wait()

    def send_dtmf(self, digits: str, duration_ms: int = 100, gap_ms: int = 60) -> None:
        for digit in digits:
            for n, (payload, marker) in enumerate(digit_packets(digit, duration_ms)):
                self._dtmf_out.append((payload, marker, n == 0))
            for _ in range(max(0, gap_ms // 20)):
                self._dtmf_out.append((b"", False, False))  # audio ticks between digits

    def tick(self, now: float) -> None:
        transport, remote = self._transport, self.remote
        if transport is None or remote is None:
            return
        timestamp = self._ts
        self._ts = (self._ts + 160) & 0xFFFFFFFF
        if not self.sending:
            return  # held: queued audio and DTMF wait for the resume, the timestamp keeps real time
        if self._dtmf_out:
            payload, marker, new_event = self._dtmf_out.popleft()
            if payload and self.dtmf_pt is not None:
                if new_event:
                    self._dtmf_ts = timestamp
                self._send(transport, remote, self.dtmf_pt, marker, self._dtmf_ts, payload)
                return
        chunk = bytes(self._out[:FRAME_BYTES])
        if chunk:
            del self._out[:FRAME_BYTES]
            if len(chunk) < FRAME_BYTES:
                chunk += bytes(FRAME_BYTES - len(chunk))
            if not self._out:
                self._drained.set()
            payload = self.codec.encode(chunk)
            self.last_audio_sent = time.monotonic()
        else:
            payload = self.codec.silence
        self._send(transport, remote, self.codec.payload_type, self._first, timestamp, payload)
        self._first = False

    def _send(self, transport, remote, pt: int, marker: bool, timestamp: int, payload: bytes) -> None:
        header = _HEADER.pack(0x80, pt | (0x80 if marker else 0), self._seq, timestamp, self._ssrc)
        self._seq = (self._seq + 1) & 0xFFFF
        packet = header + payload
        transport.sendto(self.srtp.protect(packet) if self.srtp else packet, remote)
        self.packets_sent += 1
        if self.send_times is not None:
            self.send_times.append(time.perf_counter())

    # ---- incoming ------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            self._drop(addr, f"not RTP ({len(data)} bytes, version {data[0] >> 6 if data else '-'})")
            return
        if self.srtp is not None:
            data = self.srtp.unprotect(data)
            if data is None:
                return
        pt = data[1] & 0x7F
        offset = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= offset + 4:  # header extension
            offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
        end = len(data)
        if data[0] & 0x20 and end > offset:  # padding
            end -= data[-1]
        if end < offset:
            self._drop(addr, "CSRC list, header extension or padding past the end of the packet")
            return
        now = time.monotonic()
        source = (addr[:2], struct.unpack_from("!I", data, 8)[0])
        if source != self._source:
            if self._source and addr[:2] != self.remote:
                if now - self.last_received < SOURCE_HOLD:
                    self._drop(
                        addr, f"SSRC {source[1]:#010x} from {addr[0]}:{addr[1]}, not the call's stream"
                    )
                    return
                if not self._proven(source, struct.unpack_from("!H", data, 2)[0]):
                    self._drop(addr, f"SSRC {source[1]:#010x} from {addr[0]}:{addr[1]}, on probation")
                    return
            self._source, self._candidate = source, None
        payload = data[offset:end]
        self.packets_received += 1
        self.last_received = now
        if not payload:
            return
        if pt == self.codec.payload_type:
            self._on_audio(self.codec.decode(payload))
        elif pt in (0, 8):  # the peer may switch between offered G.711 variants
            self._on_audio(G711("PCMU" if pt == 0 else "PCMA").decode(payload))
        elif pt == self.dtmf_pt:
            timestamp = struct.unpack_from("!I", data, 4)[0]
            digit = self._detector.feed(timestamp, payload)
            if digit:
                self._on_dtmf(digit)

    def _proven(self, source: tuple[tuple[str, int], int], seq: int) -> bool:
        """Has `source` sent PROBATION packets in sequence, this one the last? (Counts it either way.)"""
        candidate = self._candidate
        seen = candidate[2] + 1 if candidate and candidate[:2] == (source, seq) else 1
        self._candidate = (source, (seq + 1) % 65536, seen)
        return seen >= PROBATION

    def _drop(self, addr: tuple[str, int], reason: str) -> None:
        self.packets_dropped += 1
        _drops.drop(addr, reason)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable etc.: keep going
        pass
