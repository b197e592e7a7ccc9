"""Call lifecycle vocabulary: states, end reasons, typed events, and the results of dial and transfer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.call import Call


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallState(StrEnum):
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(StrEnum):
    LOCAL_HANGUP = "local_hangup"
    REMOTE_BYE = "remote_bye"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"
    RTP_TIMEOUT = "rtp_timeout"
    NO_ACK = "no_ack"
    ERROR = "error"
    SHUTDOWN = "shutdown"


class CallEventType(StrEnum):
    ANSWERED = "answered"
    DTMF = "dtmf"
    HOLD = "hold"
    RESUME = "resume"
    MEDIA_UPDATED = "media_updated"
    TRANSFER_PROGRESS = "transfer_progress"
    ENDED = "ended"


@dataclass(frozen=True)
class CallEvent:
    type: CallEventType
    call_id: str
    digit: str | None = None
    reason: EndReason | None = None
    code: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class CallInfo:
    """Who calls whom: what an inbound handler needs to route the call."""

    call_id: str
    direction: CallDirection
    caller: str  # user part (number) of From
    called: str  # user part (number) of the request URI / To
    caller_uri: str
    called_uri: str
    display_name: str | None
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class DialStatus(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class DialResult:
    status: DialStatus
    call: Call | None = None
    code: int | None = None
    reason: str = ""

    @property
    def answered(self) -> bool:
        return self.status is DialStatus.ANSWERED


class TransferStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class TransferResult:
    status: TransferStatus
    code: int | None = None
    reason: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is TransferStatus.SUCCEEDED
