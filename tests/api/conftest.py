"""An API client over a fresh SQLite database, with one key per scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.api.auth import Scope, create_key
from bot.config import PathsSettings, Settings
from bot.web import create_app
from tests.api.apiclient import Api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    for script in ("reminder", "debt"):
        (dialogs / f"{script}.yml").write_text("steps: {}\n", encoding="utf-8")
    settings = Settings(paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=dialogs))
    app = create_app(settings)
    keys = {}
    with app.state.db.session() as session:
        for scope in Scope:
            keys[scope] = create_key(session, f"{scope} key", [scope], datetime.now(UTC))[1]
    with TestClient(app) as client:
        yield Api(client, keys)
    app.state.db.dispose()
