"""Storage: migrations produce exactly the models' schema, on SQLite and PostgreSQL, also when several processes
migrate a new database at once; SQLite runs in WAL mode."""

from __future__ import annotations

import subprocess
import sys
import time

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.storage.db import MIGRATIONS, Database
from bot.storage.models import Base
from tests.conftest import ROOT

# waits until the wall-clock time in argv[2], then migrates the database at argv[1]
MIGRATE_AT = """
import sys, time
from bot.storage.db import Database
database = Database(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
database.migrate()
"""


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrate_is_idempotent(db: Database) -> None:
    db.migrate()
    with db.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_processes_migrating_a_new_database_at_once_take_turns(empty_database_url: str) -> None:
    """Workers started together on a new database each migrate it at start-up: none may fail."""
    start = time.time() + 3  # after every process has imported and connected
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_AT, empty_database_url, str(start)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], "\n".join(errors)
    database = Database(empty_database_url)
    with database.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    database.dispose()
    assert (version, diff) == (ScriptDirectory(str(MIGRATIONS)).get_current_head(), [])


def test_sqlite_uses_wal(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
