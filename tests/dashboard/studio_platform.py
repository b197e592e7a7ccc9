"""The platform app with a real, in-process dialog service (Rasa 3.6 + the action server), served by uvicorn: what
`voicebot serve` gives the script studio, without the phone. Scripts are a copy of `dialogs/` in a temporary
folder; the Rasa model is reused from an earlier run when one matches (bot.devtools.bench_calls_setup)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.api.auth import Scope, create_key
from bot.asgi import serve_app
from bot.config import PathsSettings, RasaSettings, Settings
from bot.devtools.bench_calls_setup import reuse_trained_model
from bot.dialog import versions
from bot.rasa.dialog_service import DialogService, load_valid_catalogue
from bot.storage.db import Database
from bot.web import create_app
from tests.conftest import TEST_DATA_DIR, TEST_RASA_PORT
from tests.dashboard.platform import ROOT, free_port

# Ports of their own (inside this test slot's range): the session's `voicebot rasa run` may hold the slot's own.
RASA_PORT = TEST_RASA_PORT + 7
ACTION_PORT = TEST_RASA_PORT + 57
T = TypeVar("T")


class StudioPlatform:
    """`with StudioPlatform(tmp) as platform:` — `url`, a write key, the database, the scripts folder, the service."""

    def __init__(self, tmp: Path) -> None:
        self.dialogs = tmp / "dialogs"
        shutil.copytree(ROOT / "dialogs", self.dialogs)
        self.settings = Settings(
            paths=PathsSettings(data_dir=TEST_DATA_DIR / "studio", dialogs_dir=self.dialogs),
            rasa=RasaSettings(port=RASA_PORT, action_port=ACTION_PORT),
        )
        self.db = Database(f"sqlite:///{tmp / 'voicebot.db'}")
        self.db.migrate()
        with self.db.session() as session:
            self.key = create_key(session, "author", [Scope.WRITE], datetime.now(UTC))[1]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service: DialogService | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            catalogue = load_valid_catalogue(self.settings)
            await asyncio.to_thread(reuse_trained_model, self.settings, catalogue)
            catalogue.older_versions = versions.older_versions(self.db.session)
            self.service = DialogService(self.settings, catalogue)
            await self.service.start()
            app = create_app(self.settings, db=self.db)
            app.state.dialogs = self.service
            server = await serve_app(app, "127.0.0.1", self.port)
        except BaseException as exc:  # reported by __enter__
            self._failed = exc
            self._ready.set()
            if self.service is not None:
                await self.service.stop()
            return
        self._ready.set()
        await self._stop.wait()
        await server.stop_serving()
        await self.service.stop()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the platform's event loop (where the dialog service's client lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def __enter__(self) -> StudioPlatform:
        self._thread.start()
        if not self._ready.wait(900):  # a first training takes 2–3 minutes
            raise RuntimeError("the platform did not start")
        if self._failed is not None:
            raise RuntimeError(f"the platform did not start: {self._failed}") from self._failed
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        self.db.dispose()
