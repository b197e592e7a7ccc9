"""A dashboard client: the platform app over the `db` fixture (SQLite and PostgreSQL), one API key per scope and
one configured user."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.access.passwords import hash_password
from bot.api.auth import Scope, create_key
from bot.config import DashboardSettings, DashboardUser, PathsSettings, Settings
from bot.storage.db import Database
from bot.web import create_app

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


@dataclass
class Dashboard:
    client: TestClient
    keys: dict[Scope, str]
    db: Database
    dialogs: Path

    def login(self, scope: Scope = Scope.WRITE) -> None:
        response = self.client.post(
            "/dashboard/login", data={"api_key": self.keys[scope]}, follow_redirects=False
        )
        assert response.status_code == 303, response.text


@pytest.fixture
def dashboard(db: Database, tmp_path: Path) -> Iterator[Dashboard]:
    dialogs = tmp_path / "dialogs"
    shutil.copytree(ROOT / "dialogs", dialogs)
    settings = Settings(
        paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=dialogs),
        dashboard=DashboardSettings(users={"olga": DashboardUser(password_hash=hash_password(PASSWORD))}),
    )
    app = create_app(settings, db=db)
    with db.session() as session:
        keys = {scope: create_key(session, f"{scope} key", [scope], datetime.now(UTC))[1] for scope in Scope}
    with TestClient(app) as client:
        yield Dashboard(client, keys, db, dialogs)
