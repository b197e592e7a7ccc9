"""The dialog service of one platform process: trained model, supervised Rasa server, and the action server."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from loguru import logger

from bot.asgi import EmbeddedServer, serve_app
from bot.config import Settings
from bot.dialog.catalogue import Catalogue, load_catalogue
from bot.dialog.loader import ScriptErrors
from bot.rasa.actions import create_action_app
from bot.rasa.client import RasaClient, RasaUnavailable
from bot.rasa.compiler import compile_project
from bot.rasa.errors import RasaError
from bot.rasa.server import RasaServer, token_path
from bot.rasa.training import train


def load_valid_catalogue(settings: Settings) -> Catalogue:
    """All scripts, or ScriptErrors if any script is broken (the service never runs half a deployment)."""
    catalogue = load_catalogue(
        settings.paths.dialogs_dir, settings.paths.training_data_dir, queues=settings.handoff.queues
    )
    if catalogue.errors:
        raise ScriptErrors(catalogue.errors)
    return catalogue


class DialogService:
    """Owns Rasa for this process: `async with DialogService(settings) as service: service.client ...`."""

    def __init__(self, settings: Settings, catalogue: Catalogue | None = None):
        self.settings = settings
        self.catalogue = catalogue or load_valid_catalogue(settings)
        self.rasa: RasaServer | None = None
        self.client: RasaClient | None = None
        self._actions: EmbeddedServer | None = None

    async def __aenter__(self) -> DialogService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self.settings.rasa_dir.mkdir(parents=True, exist_ok=True)
        model = await asyncio.to_thread(train, self.settings, self.catalogue)
        logger.info(
            f"Rasa model {model.path.name} ({'reused' if model.reused else f'trained in {model.seconds:.0f} s'})"
        )
        self._actions = await serve_app(
            create_action_app(self.catalogue), "127.0.0.1", self.settings.rasa.action_port
        )
        self.rasa = RasaServer(self.settings, model.path)
        try:
            await self.rasa.start()
        except (RasaError, asyncio.CancelledError):  # a failed or interrupted start leaves nothing running
            await self.stop()
            raise
        self.client = RasaClient(self.settings.rasa.url, self.rasa.token, self.settings.rasa.request_timeout)

    async def stop(self) -> None:
        if self.client:
            await self.client.close()
        if self.rasa:
            await self.rasa.stop()
        if self._actions:
            await self._actions.stop_serving()


async def connect_running(settings: Settings, catalogue: Catalogue) -> RasaClient | None:
    """A client of an already running dialog service with the current model, or None if there is none.

    Lets `voicebot chat` and tests reuse a service started by `voicebot serve` or `voicebot rasa run` instead
    of waiting for Rasa to load a model again.
    """
    path = token_path(settings)
    if not path.exists():
        return None
    client = RasaClient(settings.rasa.url, path.read_text().strip(), settings.rasa.request_timeout)
    try:
        status = await client.status()
    except (RasaUnavailable, RasaError):
        await client.close()
        return None
    with tempfile.TemporaryDirectory() as tmp:
        project = compile_project(catalogue, settings.paths.training_data_dir, Path(tmp) / "p", settings.rasa)
    if Path(status.get("model_file", "")).name != f"{project.fingerprint}.tar.gz":
        await client.close()
        raise RasaError(
            "a dialog service is running with an older model; restart it to use the current scripts "
            f"(running: {status.get('model_file')}, current: {project.fingerprint})"
        )
    return client


@contextlib.asynccontextmanager
async def dialog_client(settings: Settings, catalogue: Catalogue) -> AsyncIterator[RasaClient]:
    """A Rasa client: the running dialog service's if there is one, else a service started for this block."""
    client = await connect_running(settings, catalogue)
    if client is not None:
        try:
            yield client
        finally:
            await client.close()
        return
    logger.info("no dialog service running: starting Rasa for this command (loading a model takes ~30 s)")
    async with DialogService(settings, catalogue) as service:
        yield service.client
