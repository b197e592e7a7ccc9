"""The states a campaign, its contacts and attempts go through (`campaigns.state`, `contacts.state`,
`attempts.state`), and how a hand-off ended (`handoffs.ended`)."""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    """A campaign's life: a draft, then running and paused at will, until completed or stopped."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"  # every contact reached a final state, or the end date passed
    STOPPED = "stopped"  # stopped by an operator; final


FINAL_STATES = {CampaignState.COMPLETED, CampaignState.STOPPED}


class ContactState(StrEnum):
    """Where a contact stands with the dialer; only `pending` contacts are dialled."""

    PENDING = "pending"  # waiting for its next attempt (`next_attempt_at`)
    IN_FLIGHT = "in_flight"  # an attempt is claimed and being called
    DONE = "done"  # a final result was reached
    EXHAUSTED = "exhausted"  # retries used up
    DNC = "dnc"  # on a do-not-call list
    BLOCKED = "blocked"  # the campaign purpose's policy forbids calling it (`note` says why)
    UNREACHABLE = "unreachable"  # no calling window left
    EXPIRED = "expired"  # its campaign completed before it was called
    CANCELLED = "cancelled"  # its campaign was stopped before it was called
    FORGOTTEN = "forgotten"  # the person's data was erased (right to be forgotten)


class AttemptState(StrEnum):
    """One dialling attempt's life: claimed, then done (a report) or interrupted (its dialer died)."""

    IN_FLIGHT = "in_flight"
    DONE = "done"
    INTERRUPTED = "interrupted"


OPEN_CONTACT_STATES = (ContactState.PENDING, ContactState.IN_FLIGHT)


class HandoffEnd(StrEnum):
    """How a hand-off ended, as its service level counts it (decided once, by bot/handoff/ending.py)."""

    PENDING = "pending"  # still requested (ringing, waiting, or never finished)
    CONNECTED = "connected"  # the customer reached an agent
    ABANDONED = "abandoned"  # the customer hung up while agents were rung or while waiting in queue
    TAKEN_BACK = "taken_back"  # no agent took the call: the robot took it back with a callback
    FAILED = "failed"  # failed otherwise (a blind transfer that left the robot and failed at the PBX)
