"""The database handle: one engine per URL (SQLite with WAL, or PostgreSQL), sessions, and schema migration."""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# what the database raises when it cannot be reached (restarting, failing over, cut off; SQLite: locked too long)
UNREACHABLE = (OperationalError, InterfaceError)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# PostgreSQL connections notice a peer that went silent (a host cut off) in bounded time, at both ends: the client
# by libpq's keepalives and TCP user timeout, the server (which then ends the session, dropping its locks and the
# node lease it holds) by the same settings sent as session options. Idle: ~11 s; data unacknowledged: 10 s.
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
    " -c tcp_user_timeout=10000",
}


def connect_args(url: URL) -> dict[str, object]:
    """The DBAPI connection arguments the platform uses for a database URL (see POSTGRES_CONNECT_ARGS)."""
    return dict(POSTGRES_CONNECT_ARGS) if url.get_backend_name() == "postgresql" else {}


def advisory_key(name: str) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for a name."""
    digest = hashlib.sha256(f"voicebot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Database:
    """Engine and session factory for one database URL."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = make_url(url)
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, echo=echo, connect_args=connect_args(self.url))
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent). Processes migrating one database at once
        (workers starting together) take turns, so the later ones find it done: a transaction-level advisory lock
        in PostgreSQL, an `flock` on `<database>.migrate.lock` next to a SQLite file."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._sqlite_migration_lock(), self.engine.begin() as connection:
            if not self.is_sqlite:
                self._pg_migration_lock(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @staticmethod
    def _pg_migration_lock(connection: Connection) -> None:
        """Held until the migration's transaction ends."""
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("migrate")})

    @contextmanager
    def _sqlite_migration_lock(self) -> Iterator[None]:
        database = self.url.database if self.is_sqlite else None
        if database in (None, "", ":memory:"):  # PostgreSQL, or a database no other process sees
            yield
            return
        with Path(f"{database}.migrate.lock").open("ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
            yield

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
