"""`voicebot privacy export|forget` from a shell, and the SQL tracker store's rows of a forgotten person's calls
(an `events` table as Rasa 3.6's SQLTrackerStore writes it)."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_settings
from bot.storage.db import Database
from tests.privacy.people import PERSON, write_history

RASA_EVENTS = (
    "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), type_name VARCHAR(255), "
    "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
)


@pytest.fixture
def environment(tmp_path: Path, monkeypatch) -> dict[str, str]:
    env = {
        "VOICEBOT_CONFIG": str(tmp_path / "none.yml"),
        "VOICEBOT_PATHS__DATA_DIR": str(tmp_path / "var"),
        "VOICEBOT_VOICE__RECORDINGS_DIR": str(tmp_path / "recordings"),
        "VOICEBOT_RASA__TRACKER_STORE": f"sqlite:///{tmp_path / 'tracker.db'}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_export_then_forget_from_the_shell(environment, tmp_path) -> None:
    settings = load_settings()
    db = Database(settings.database_url)
    db.migrate()
    history = asyncio.run(write_history(db, settings.voice.recordings_dir))
    engine = create_engine(settings.rasa.tracker_store)
    with engine.begin() as connection:
        connection.execute(text(RASA_EVENTS))
        for sender in (*history.person_calls, *history.bystander_calls):
            data = json.dumps(
                {"event": "user", "text": f"мой номер {PERSON}" if sender in history.person_calls else "да"}
            )
            connection.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, 'user', 1.0, :d)"
                ),
                {"s": sender, "d": data},
            )

    runner = CliRunner()
    out = tmp_path / "person.zip"
    exported = runner.invoke(app, ["privacy", "export", "8 916 123-45-67", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    person = json.loads(zipfile.ZipFile(out).read("person.json"))
    assert person["rasa_conversations"]["store"] == "sql"
    assert sorted(person["rasa_conversations"]["conversations"]) == sorted(history.person_calls)

    forgotten = runner.invoke(app, ["privacy", "forget", PERSON, "--yes"])
    assert forgotten.exit_code == 0, forgotten.output
    report = json.loads(next(line for line in forgotten.output.splitlines() if line.startswith("{")))
    assert report["tracker_store"] == "sql" and report["tracker_conversations"] == 2
    with engine.connect() as connection:
        left = [row[0] for row in connection.execute(text("SELECT sender_id FROM events ORDER BY id"))]
    assert left == history.bystander_calls
    engine.dispose()
    tracker_file = Path(settings.rasa.tracker_store.removeprefix("sqlite:///")).read_bytes()
    assert PERSON[2:].encode() not in tracker_file  # deleted rows are zeroed, not left in free pages
    engine.dispose()
    db.dispose()


def test_a_bad_number_is_a_clear_error(environment) -> None:
    result = CliRunner().invoke(app, ["privacy", "forget", "twelve", "--yes"])
    assert result.exit_code == 2 and "phone:" in result.output and "Traceback" not in result.output
