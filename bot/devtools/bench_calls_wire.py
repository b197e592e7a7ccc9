"""A benchmark call as seen on the wire: the RTP packets to and from one robot port, the caller's turns, how long
the robot took to answer each, and how evenly it sent."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from telephony.rig import UdpPacket
from telephony.rtp.codec import G711

VOICE_LEVEL = 300  # a 16-bit sample above this is speech (as the simulated caller judges the robot)
TURN_GAP = 1.5  # seconds of caller silence that separate two turns (pauses inside an answer are shorter)
PROMPT_GAP = 1.5  # seconds of robot silence that end a prompt (pauses between its clauses are ≤ 0.35 s)
CODECS = {0: G711("PCMU"), 8: G711("PCMA")}


@dataclass(frozen=True)
class Turn:
    """One caller turn: from its first to its last voiced packet, and the robot's answer."""

    start: float
    end: float
    reply_after: (
        float | None
    )  # end → the robot's next voiced packet (seconds); None: no answer before the next turn
    overlapped: bool  # the robot spoke during the caller's words: no answer delay can be read from this turn


@dataclass
class Stream:
    """One call: the audio packets to (`caller`) and from (`robot`) one robot RTP port, as (time, voiced)."""

    port: int
    caller: list[tuple[float, bool]] = field(default_factory=list)
    robot: list[tuple[float, bool]] = field(default_factory=list)
    robot_seq: list[int] = field(default_factory=list)  # RTP sequence numbers of `robot`'s packets

    def _seq_steps(self) -> np.ndarray:
        """Sequence-number steps between the captured robot packets (1 = none missed by the capture)."""
        return np.diff(np.array(self.robot_seq, dtype=np.int64)) % 65536

    @property
    def start(self) -> float:
        """The caller's first packet: time 0 of the caller's audio file."""
        return self.caller[0][0] if self.caller else float("nan")

    def turns(self) -> list[Turn]:
        voiced = [t for t, v in self.caller if v]
        spans: list[list[float]] = []
        for t in voiced:
            if spans and t - spans[-1][1] < TURN_GAP:
                spans[-1][1] = t
            else:
                spans.append([t, t])
        robot = [t for t, v in self.robot if v]
        turns = []
        for i, (start, end) in enumerate(spans):
            until = spans[i + 1][0] if i + 1 < len(spans) else float("inf")
            overlapped = any(start <= t <= end for t in robot)
            reply = next((t for t in robot if end < t < until), None)
            turns.append(Turn(start, end, None if reply is None else reply - end, overlapped))
        return turns

    def prompt_end(self, after: float) -> float | None:
        """When the robot's first prompt after `after` ended: its last voiced packet before PROMPT_GAP silence."""
        voiced = [t for t, v in self.robot if v and t > after]
        if not voiced:
            return None
        end = voiced[0]
        for t in voiced[1:]:
            if t - end >= PROMPT_GAP:
                break
            end = t
        return end

    def send_rate(self) -> float | None:
        """Packets per second the robot sent over the call, counted by RTP sequence numbers, so packets the capture
        missed still count (None for a call too short to tell)."""
        times = [t for t, _ in self.robot]
        if len(times) < 50:
            return None
        return float(self._seq_steps().sum()) / (times[-1] - times[0])

    def send_gaps_ms(self) -> np.ndarray:
        """Gaps between packets the robot sent one after the other (a gap over a packet the capture missed is no
        sending gap)."""
        gaps = np.diff([t for t, _ in self.robot]) * 1000
        return gaps[self._seq_steps() == 1]

    def capture_missed(self) -> int:
        """Robot packets the capture did not see (tcpdump drops packets when it is starved of CPU)."""
        return int((self._seq_steps() - 1).sum()) if self.robot_seq else 0


def audio_packet(payload: bytes) -> bool | None:
    """Whether an RTP G.711 packet carries speech; None for anything else (RTCP, DTMF events, junk)."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    codec = CODECS.get(payload[1] & 0x7F)
    if codec is None:
        return None
    header = 12 + 4 * (payload[0] & 0x0F)
    if payload[0] & 0x10 and len(payload) >= header + 4:  # header extension
        header += 4 + 4 * int.from_bytes(payload[header + 2 : header + 4], "big")
    samples = np.frombuffer(codec.decode(payload[header:]), dtype=np.int16)
    return bool(samples.size) and int(np.abs(samples.astype(np.int32)).max()) > VOICE_LEVEL


def streams(packets: list[UdpPacket], port_min: int, port_max: int) -> dict[int, Stream]:
    """Group captured audio packets by the robot's RTP port (the robot owns `port_min`..`port_max`)."""
    out: dict[int, Stream] = {}
    for packet in sorted(packets, key=lambda p: p.time):
        voiced = audio_packet(packet.payload)
        if voiced is None:
            continue
        if port_min <= packet.dst_port <= port_max:
            out.setdefault(packet.dst_port, Stream(packet.dst_port)).caller.append((packet.time, voiced))
        elif port_min <= packet.src_port <= port_max:
            stream = out.setdefault(packet.src_port, Stream(packet.src_port))
            stream.robot.append((packet.time, voiced))
            stream.robot_seq.append(int.from_bytes(packet.payload[2:4], "big"))
    return out
