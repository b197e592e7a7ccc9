"""What a fault test measured, for `voicebot chaos` (bench/chaos.py): one row per fault, appended as a JSON line
to the file `VOICEBOT_CHAOS_RESULTS` names (nothing when it is unset, as in CI)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

RESULTS_ENV = "VOICEBOT_CHAOS_RESULTS"


@dataclass(frozen=True)
class ChaosRow:
    """One fault's numbers: calls up when it struck, the campaign's contacts, contacts lost (never done), attempts
    dialled twice, calls without exactly one `call.completed`, calls left live at the end, and seconds from the
    fault until the product had recovered (as the test defines it for its fault). None: the scenario has no such
    thing (a dialer test without call rows has no events, a webhook outage no calls)."""

    fault: str
    calls_up: int | None
    contacts: int | None
    lost: int | None
    dialled_twice: int | None
    events_lost: int | None
    calls_left_live: int | None
    seconds_to_recover: float | None


def record(row: ChaosRow) -> None:
    """Append `row` to the results file of a `voicebot chaos` run, if one is running."""
    path = os.environ.get(RESULTS_ENV)
    if path:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]  # its node id, without " (call)"
        with open(path, "a", encoding="utf-8") as results:
            results.write(json.dumps({**asdict(row), "test": test}) + "\n")
