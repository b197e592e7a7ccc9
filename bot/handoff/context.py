"""What travels with a hand-off: why it happens, the SIP headers for the agent's phone, the transcript so far."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from bot.dialog.action_log import LeadQualified
from bot.dialog.engine import TurnEvent
from bot.dialog.transcript import Exchange
from bot.outcomes import Intent

HEADER_PREFIX = "X-Voicebot-"
_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")  # URI "unreserved" characters
STUCK_EVENTS = {TurnEvent.NO_MATCH, TurnEvent.INVALID, TurnEvent.SILENCE}


class HandoffReason(StrEnum):
    QUALIFIED = "qualified"  # the script's lead rule held
    REQUESTED = "requested"  # the caller asked for a person, or chose a menu item a person handles
    STUCK = "stuck"  # the robot did not understand the caller often enough


class HandoffState(StrEnum):
    REQUESTED = "requested"
    COMPLETED = "completed"
    FAILED = "failed"


def handoff_reason(exchange: Exchange) -> HandoffReason:
    """Why the turn that ends in a transfer hands the caller over."""
    result = exchange.result
    if any(isinstance(action, LeadQualified) for action in result.actions):
        return HandoffReason.QUALIFIED
    if result.event in STUCK_EVENTS:
        return HandoffReason.STUCK
    if result.event is TurnEvent.HANDLED and exchange.heard.intent != Intent.ASK_HUMAN:
        return HandoffReason.STUCK  # a handler that counts as not understood ("I don't know") ran out
    return HandoffReason.REQUESTED


def sip_headers(
    call_id: str,
    handoff_id: int | None,
    queue: str,
    reason: HandoffReason,
    campaign_id: int | None,
    outcome: str | None,
    data: dict[str, Any],
) -> dict[str, str]:
    """Headers for the agent's INVITE: ids to find the screen pop, and the script's key slots by name."""
    headers = {
        f"{HEADER_PREFIX}Call-Id": call_id,
        f"{HEADER_PREFIX}Queue": queue,
        f"{HEADER_PREFIX}Reason": reason.value,
    }
    if handoff_id is not None:
        headers[f"{HEADER_PREFIX}Handoff-Id"] = str(handoff_id)  # the screen pop: GET /api/v1/handoffs/{id}
    if campaign_id is not None:
        headers[f"{HEADER_PREFIX}Campaign"] = str(campaign_id)
    if outcome:
        headers[f"{HEADER_PREFIX}Outcome"] = outcome
    for key, value in data.items():
        if value is not None:
            headers[f"{HEADER_PREFIX}Slot-{key.replace('_', '-')}"] = str(value)
    # baresip 1.0 turns a Refer-To with any %-escape into an empty target (the transfer never happens): only
    # values that need no escaping in a URI travel (measured end to end, tests/e2e)
    return {name: value for name, value in headers.items() if _PLAIN.fullmatch(value)}


def screen_link(handoff_id: int) -> str:
    """The API path of a hand-off's screen pop (read scope)."""
    return f"/api/v1/handoffs/{handoff_id}"


def transcript_so_far(exchanges: list[tuple[str | None, Exchange]]) -> list[dict[str, Any]]:
    """The conversation up to now as `{speaker, text, step}` lines, for the agent's screen."""
    lines: list[dict[str, Any]] = []
    for step, exchange in exchanges:
        heard = exchange.heard
        said = heard.text or (f"[keys {heard.digits}]" if heard.digits else "")
        if heard.kind != "start" and said:
            lines.append({"speaker": "caller", "text": said, "step": step, "intent": heard.intent})
        for text in exchange.result.say:
            lines.append({"speaker": "robot", "text": text, "step": exchange.result.state.step})
    return lines
