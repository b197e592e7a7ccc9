"""`voicebot chaos`: run the fault scenarios (the fault tests under pytest) and print one table of what each
fault did — calls up, contacts, lost, dialled twice, events lost, calls left live, seconds to recover.

Each scenario test records its row (`tests/chaos.py`) into a results file this run names; a scenario that failed
or recorded nothing is still listed, with its pytest result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.config import ROOT

RESULTS_ENV = "VOICEBOT_CHAOS_RESULTS"  # as in tests/chaos.py
# the fault scenarios, as pytest node ids; the last two start the real Rasa (a trained model) or namespaces (root)
SCENARIOS = (
    "tests/campaigns/test_campaign_crash.py",
    "tests/campaigns/test_dialer_database_outage.py",
    "tests/calls/test_pending_writes.py::test_rows_written_while_the_database_is_down_land_when_it_is_back",
    "tests/campaigns/test_hosts_apart.py",
    "tests/calls/test_dialog_outage.py::test_a_call_is_held_while_rasa_restarts_and_goes_on",
)
COLUMNS = (
    ("fault", "fault"),
    ("calls_up", "calls up"),
    ("contacts", "contacts"),
    ("lost", "lost"),
    ("dialled_twice", "dialled twice"),
    ("events_lost", "events lost"),
    ("calls_left_live", "calls left live"),
    ("seconds_to_recover", "s to recover"),
)


@dataclass(frozen=True)
class ChaosRun:
    rows: list[dict]
    pytest_summary: str
    returncode: int


def run(scenarios: tuple[str, ...] = SCENARIOS, extra: tuple[str, ...] = ()) -> ChaosRun:
    """Run the scenarios under pytest (its output goes to this process's stderr) and collect their rows."""
    with tempfile.TemporaryDirectory(prefix="voicebot-chaos-") as folder:
        results = Path(folder) / "rows.jsonl"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfEs",
            *extra,
            *scenarios,
        ]
        env = os.environ | {RESULTS_ENV: str(results)}
        last = ""
        with subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as pytest:
            for line in pytest.stdout:
                sys.stderr.write(line)
                last = line.strip().strip("= ") or last
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    return ChaosRun(rows, last, pytest.returncode)


def table(rows: list[dict]) -> str:
    """The rows as one aligned text table (a scenario without a value in a column: `-`)."""
    cells = [[title for _, title in COLUMNS]]
    for row in rows:
        cells.append(["-" if row.get(key) is None else str(row[key]) for key, _ in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    out = []
    for n, line in enumerate(cells):
        first = line[0].ljust(widths[0])
        out.append(
            "  ".join([first, *(cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))])
        )
        if n == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)
