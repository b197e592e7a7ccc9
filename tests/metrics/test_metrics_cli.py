"""`voicebot metrics`: tables, CSV on standard output and to a file, and clear errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.storage.db import Database
from tests.metrics import builders as b


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("VOICEBOT_PATHS__DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("VOICEBOT_CONFIG", str(tmp_path / "none.yml"))
    monkeypatch.setenv("COLUMNS", "250")
    db = Database(f"sqlite:///{tmp_path / 'var' / 'voicebot.db'}")
    db.migrate()
    with db.session() as session:
        campaign = b.campaign(session, "Напоминание", "reminder")
        person = b.contact(session, campaign.id, "+79160000001", "done")
        b.call(session, "a1", b.at(2, 10), contact=person, talk=60, outcome="confirmed")
        b.call(session, "i1", b.at(3, 10), direction="inbound", script="inbound", ring=2.0, talk=30)
    db.dispose()
    return campaign.id


def voicebot(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_summary_campaign_steps_and_sla(stored: int, tmp_path: Path) -> None:
    rows = list(
        csv.DictReader(io.StringIO(voicebot("metrics", "summary", "--group", "day", "--format", "csv")))
    )
    assert [(r["bucket"][:10], r["calls"]) for r in rows] == [("2026-03-02", "1"), ("2026-03-03", "1")]
    # reminder.yml's goal is `confirmed`: the one contact converted
    out = tmp_path / "campaign.csv"
    table = voicebot("metrics", "campaign", str(stored), "--csv", str(out))
    assert "progress.conversion_rate" in table and "100.0" in table
    assert dict(csv.reader(out.open(encoding="utf-8")))["progress.converted"] == "1"
    assert "no_match_rate" in voicebot("metrics", "steps", "reminder", "--format", "csv")
    sla = dict(csv.reader(io.StringIO(voicebot("metrics", "sla", "--answer-within", "1", "--format", "csv"))))
    assert (sla["inbound_offered"], sla["inbound_answered_within"], sla["robot_sla"]) == ("1", "0", "0.0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "--from", "2026-13-01"], "--from: expected a date"),
        (["summary", "--tz", "Mars/Base"], "unknown time zone"),
        (["summary", "--from", "2026-03-03", "--to", "2026-03-02"], "before"),
        (["campaign", "99"], "campaign 99 not found"),
    ],
)
def test_bad_input_is_an_error_message(stored: int, args: list[str], message: str) -> None:
    output = voicebot("metrics", *args, code=2 if args[0] == "summary" else 1)
    assert message in output and "Traceback" not in output
