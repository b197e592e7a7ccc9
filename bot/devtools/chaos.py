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
from xml.etree import ElementTree

from bot.config import ROOT

RESULTS_ENV = "VOICEBOT_CHAOS_RESULTS"  # as in tests/chaos.py
# the fault scenarios (pytest paths); those that start the real Rasa need a trained model (trained on first use),
# hosts apart needs root (network namespaces), the registrar restart Kamailio, the hostile storm SIPp
SCENARIOS = (
    "tests/campaigns/test_campaign_crash.py",
    "tests/campaigns/test_hosts_apart.py",
    "tests/campaigns/test_dialer_database_outage.py",
    "tests/calls/test_pending_writes.py::test_rows_written_while_the_database_is_down_land_when_it_is_back",
    "tests/calls/test_dialog_outage.py",
    "tests/telephony/test_tel_registrar_restart.py",
    "tests/crm/test_webhook_outages.py",
    "tests/calls/test_recordings_disk_full.py",
    "tests/calls/test_machine_hangup_timing.py",
    "tests/telephony/test_tel_hostile.py::test_storm_during_a_call_keeps_its_audio_and_the_phone_answering",
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
    ("result", "test"),
)


@dataclass(frozen=True)
class ChaosRun:
    rows: list[dict]
    pytest_summary: str
    returncode: int


def run(scenarios: tuple[str, ...] = SCENARIOS, extra: tuple[str, ...] = ()) -> ChaosRun:
    """Run the scenarios under pytest (its output goes to this process's stderr) and collect one row per test:
    the numbers it recorded (`tests/chaos.py`), else only its name; each with its pytest result."""
    with tempfile.TemporaryDirectory(prefix="voicebot-chaos-") as folder:
        results, junit = Path(folder) / "rows.jsonl", Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs"]
        present = [s for s in scenarios if (ROOT / s.split("::")[0]).exists()]  # a checkout without one
        command += [f"--junitxml={junit}", *extra, *present]
        env = os.environ | {RESULTS_ENV: str(results), "PYTHONUNBUFFERED": "1"}  # its progress as it goes
        last = ""
        with subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as pytest:
            for line in pytest.stdout:
                sys.stderr.write(line)
                last = line.strip().strip("= ") or last
        recorded = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
        outcomes = _outcomes(junit) if junit.exists() else {}
    rows = []
    for test, result in outcomes.items():
        mine = [row for row in recorded if row.get("test") == test]
        rows += [{**row, "result": result} for row in mine] or [{"fault": _named(test), "result": result}]
    return ChaosRun(rows, last, pytest.returncode)


def _named(test: str) -> str:
    """A test that records no numbers, named in words: `dialog_outage: a call ends with an apology if …`."""
    path, _, name = test.partition("::")
    name, bracket, param = name.partition("[")
    words = f"{Path(path).stem.removeprefix('test_')}: {name.removeprefix('test_').replace('_', ' ')}"
    room = 72 - len(bracket + param)
    return (words if len(words) <= room else words[: room - 1] + "…") + bracket + param


def _outcomes(junit: Path) -> dict[str, str]:
    """Each test's node id (tests/x.py::name[param]) → passed, failed or skipped, from pytest's JUnit XML."""
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        path = case.get("classname", "").replace(".", "/") + ".py"  # tests run as module-level functions
        tags = {child.tag for child in case}
        result = "failed" if tags & {"failure", "error"} else "skipped" if "skipped" in tags else "passed"
        outcomes[f"{path}::{case.get('name')}"] = result
    return outcomes


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
