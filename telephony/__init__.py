"""Telephony for the voice robot: an asyncio SIP phone with G.711 RTP media and a pipecat transport.

Public API: `Phone`, `Call`, `TelephonySettings`, the result and event types in `telephony.events`.
"""

from telephony.call import Call, CallEnded
from telephony.config import TelephonySettings
from telephony.events import (
    CallDirection,
    CallEvent,
    CallEventType,
    CallInfo,
    CallState,
    DialResult,
    DialStatus,
    EndReason,
    TransferResult,
    TransferStatus,
)
from telephony.phone import Phone
from telephony.sip.auth import AuthError
from telephony.sip.useragent import RegistrationError

__all__ = [
    "AuthError",
    "Call",
    "CallDirection",
    "CallEnded",
    "CallEvent",
    "CallEventType",
    "CallInfo",
    "CallState",
    "DialResult",
    "DialStatus",
    "EndReason",
    "Phone",
    "RegistrationError",
    "TelephonySettings",
    "TransferResult",
    "TransferStatus",
]
