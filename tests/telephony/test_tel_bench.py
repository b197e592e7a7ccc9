"""`voicebot bench sip` (bot.devtools.bench_sip.main) runs from the package: a small level, zero failures, sane numbers."""

from __future__ import annotations

import pytest

from bot.devtools.bench_sip import main

pytestmark = [pytest.mark.sip, pytest.mark.slow]


def test_bench_small_level_from_the_package(capsys, tmp_path):
    assert main(["--levels", "5", "--keep", str(tmp_path)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("5 ")]
    assert len(rows) == 1, rows
    calls, ok, fail, setup, _cpu, rate, gap = rows[0]
    assert (calls, ok, fail) == ("5", "5", "0")
    assert float(setup.split("/")[1]) < 100  # INVITE -> 200 at the robot
    low, high = map(float, rate.split("-"))
    assert 49.5 <= low <= high <= 50.5
    assert float(gap) < 30
    assert list(tmp_path.glob("*_screen.log"))  # SIPp's own logs were kept
