"""`voicebot bench dialogs` against the real dialog service: a conversation that must pass and one that must fail."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT, VOICEBOT

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

FIXTURE_SET = ROOT / "tests" / "fixtures" / "dialog_bench"


def test_the_report_counts_passes_and_shows_the_failing_turn(dialog_service):
    done = subprocess.run(
        [VOICEBOT, "bench", "dialogs", "--path", str(FIXTURE_SET)],
        capture_output=True, text=True, env=dialog_service, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = done.stdout
    table = [" ".join(line.split()) for line in report.splitlines()[1:4]]
    assert table == ["script ru", "reminder 1/2 = 50.0%", "all 1/2 = 50.0%"]
    assert "overall: 1/2 = 50.0% conversations end as expected" in report
    assert "failures (1):" in report and "keypad-yes" not in report
    failure = report[report.index("failures (1):") :]
    assert (
        "\n  tests/fixtures/dialog_bench/ru/reminder.yml:11 [wrong-on-purpose] ru/reminder: outcome confirmed, expected refused"
        in failure
    )
    assert "   greet: (silence)  → - → silence → greet" in failure
    assert (
        '>> greet: "да"  → affirm ' in failure
        and "(should be deny) → answered → confirmed (ended)" in failure
    )
    assert "labelled turns heard as their intent: 0/1; confusions:" in report
    assert re.search(r"deny → affirm +1/1", report)


def test_quiet_leaves_out_the_failures(dialog_service):
    done = subprocess.run(
        [VOICEBOT, "bench", "dialogs", "--path", str(FIXTURE_SET), "--quiet", "--lang", "ru"],
        capture_output=True, text=True, env=dialog_service, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "overall: 1/2" in done.stdout and "failures (1)" not in done.stdout
