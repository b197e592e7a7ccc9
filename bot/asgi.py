"""Serving ASGI apps (the REST API, the Rasa action server) as tasks inside the platform's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class ServerStartError(Exception):
    """The app could not listen on its address (port taken, bad host)."""


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to the platform (which stops every part in order)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def start_serving(self) -> None:
        self._task = asyncio.create_task(self.serve(), name=f"http:{self.config.port}")
        while not self.started:
            if self._task.done():
                raise ServerStartError(
                    f"cannot listen on {self.config.host}:{self.config.port} (port in use?)"
                )
            await asyncio.sleep(0.05)

    async def stop_serving(self) -> None:
        self.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def serve_app(app: FastAPI, host: str, port: int) -> EmbeddedServer:
    """Start serving `app`; returns once it accepts connections."""
    server = EmbeddedServer(
        uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None, lifespan="off")
    )
    await server.start_serving()
    return server
