"""`voicebot serve`: the platform in one process — the dialog service (Rasa + action server) and the REST API."""

import asyncio

from loguru import logger

from bot.api.app import API_PREFIX, create_app
from bot.asgi import ServerStartError, serve_app
from bot.cli import app, fail, settings, stop_signal
from bot.dialog.loader import ScriptErrors
from bot.dialog.service import DialogService
from bot.rasa.training import RasaError


@app.command("serve")
def serve() -> None:
    """Run the platform until Ctrl-C. Phone calls are not placed or answered yet (voice pipeline pending)."""
    config = settings()

    async def run() -> None:
        async with DialogService(config):
            api = await serve_app(create_app(config), config.api.host, config.api.port)
            base = f"http://{config.api.host}:{config.api.port}{API_PREFIX}"
            logger.info(
                f"platform ready: API {base} (docs {base}/docs); create a key: voicebot apikeys create NAME --scope admin"
            )
            await stop_signal()
            await api.stop_serving()

    try:
        asyncio.run(run())
    except (ScriptErrors, RasaError, ServerStartError) as exc:
        raise fail(str(exc)) from exc
