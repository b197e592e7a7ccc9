"""A database written by the previous release opens, migrates to this release's schema and answers the API as it did.

The fixture (`previous_release/`) was made by `make_previous_release.py` with the previous release's code: its
SQLite file, and the answers its API gave (campaign, results, contacts, campaign metrics, calls and each call,
metrics, SLA, hand-offs). On PostgreSQL the same rows are loaded into a fresh database migrated only to the
fixture's revision, as that release left it, before this release migrates it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine, func, select, text

from bot.config import PathsSettings, Settings
from bot.storage.db import Database
from bot.storage.models import Call
from bot.web import create_app
from tests.conftest import new_postgres_database
from tests.migration.steps import HEAD, migrate_to

FIXTURE = Path(__file__).parent / "previous_release"
ROOT = Path(__file__).resolve().parents[2]
TABLES = ("campaigns", "contacts", "attempts", "calls", "handoffs")
PREVIOUS = json.loads((FIXTURE / "answers.json").read_text(encoding="utf-8"))


def answers_after_migration(db: Database, tmp_path: Path) -> tuple[str, dict[str, object]]:
    """This release's app over `db` (which it migrates), its schema revision and its answers to the fixture's
    questions."""
    settings = Settings(paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=ROOT / "dialogs"))
    app = create_app(settings, db)
    with db.session() as session:
        revision = session.scalar(text("SELECT version_num FROM alembic_version"))
        transcripts = [lines for lines in session.scalars(select(Call.transcript)) if lines]
    assert transcripts and all(
        set(line) >= {"at", "speaker", "text"} for lines in transcripts for line in lines
    )
    assert not any("role" in line for lines in transcripts for line in lines)  # the one transcript shape
    answers: dict[str, object] = {}
    with TestClient(app) as client:
        for path in PREVIOUS["answers"]:
            response = client.get(path, headers={"X-API-Key": PREVIOUS["key"]})
            assert response.status_code == 200, (path, response.text)
            is_json = response.headers["content-type"].startswith("application/json")
            answers[path] = response.json() if is_json else response.text
    db.dispose()
    return revision, answers


def assert_same_answers(answers: dict[str, object]) -> None:
    """Every value the previous release answered is answered again; fields this release added are extra."""
    for path, before in PREVIOUS["answers"].items():
        assert kept(before, answers[path]), (path, before, answers[path])


def kept(before: object, after: object) -> bool:
    if isinstance(before, dict):
        return isinstance(after, dict) and all(
            key in after and kept(v, after[key]) for key, v in before.items()
        )
    if isinstance(before, list):
        return isinstance(after, list) and len(before) == len(after) and all(map(kept, before, after))
    return before == after


def test_the_fixture_is_the_previous_schema() -> None:
    """The file is as the previous release left it (so the tests below run the migrations since then)."""
    with sqlite3.connect(f"file:{FIXTURE / 'voicebot.db'}?mode=ro", uri=True) as fixture:
        count = {table: fixture.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
        revision = fixture.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert revision == PREVIOUS["revision"] != HEAD or revision == HEAD == "0014"
    assert count == {"campaigns": 1, "contacts": 5, "attempts": 10, "calls": 11, "handoffs": 2}


def test_sqlite_database_of_the_previous_release_migrates_and_answers_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "voicebot.db"
    shutil.copyfile(FIXTURE / "voicebot.db", copy)
    revision, answers = answers_after_migration(Database(f"sqlite:///{copy}"), tmp_path)
    assert revision == HEAD
    assert_same_answers(answers)


def test_postgresql_database_of_the_previous_release_migrates_and_answers_the_same(
    postgres_url: str, tmp_path: Path
) -> None:
    url = new_postgres_database(postgres_url, "previous")
    old = Database(url)
    migrate_to(old, PREVIOUS["revision"])
    _copy_rows(create_engine(f"sqlite:///{FIXTURE / 'voicebot.db'}"), old)
    old.dispose()
    revision, answers = answers_after_migration(Database(url), tmp_path)
    assert revision == HEAD
    assert_same_answers(answers)


def _copy_rows(source_engine, target: Database) -> None:
    """Every row of the SQLite file into the same tables of `target` (parents first), then the id sequences on."""
    source, destination = MetaData(), MetaData()
    source.reflect(source_engine)
    destination.reflect(target.engine)
    with source_engine.connect() as reading, target.engine.begin() as writing:
        for table in destination.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(row._mapping) for row in reading.execute(select(source.tables[table.name]))]
            if rows:
                writing.execute(table.insert(), rows)
            if "id" in table.c and rows:
                top = writing.scalar(select(func.max(table.c.id)))
                writing.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), {top})"))
    source_engine.dispose()
