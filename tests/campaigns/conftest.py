"""Fixtures for campaign tests (the SQLite/PostgreSQL `db` fixture lives in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.db import Database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'voicebot.db'}")
    database.migrate()
    yield database
    database.dispose()
