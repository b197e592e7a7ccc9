"""The sensitive values of calls in progress, for the log: a log line does not know its call's script, so a call
whose script has sensitive slots is held here while it lasts, and its captured values are masked in every line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.privacy.records import SensitiveSlots


class LiveCalls:
    """Calls in progress with sensitive slots, each with a way to read its dialog's current values."""

    def __init__(self) -> None:
        self._calls: dict[str, tuple[SensitiveSlots, Callable[[], Mapping[str, Any]]]] = {}

    def hold(self, call_id: str, sensitive: SensitiveSlots, values: Callable[[], Mapping[str, Any]]) -> None:
        """Mask `values()`'s sensitive slots in the log until `release(call_id)` (nothing to do without any)."""
        if sensitive.slots:
            self._calls[call_id] = (sensitive, values)

    def release(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def secrets(self) -> list[str]:
        """Every value a live call's script marks sensitive, as captured so far."""
        return [
            secret
            for sensitive, values in list(self._calls.values())
            for secret in sensitive.secrets(values())
        ]


LIVE_CALLS = LiveCalls()
