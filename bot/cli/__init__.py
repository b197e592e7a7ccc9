"""The `voicebot` command line: one typer app, each command group in a module of its own."""

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import typer
from loguru import logger

from bot.config import ROOT, ConfigError, Settings, load_settings
from bot.log import configure_logging
from bot.storage.db import Database

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Voice robot for call centers.",
)
# the 12-word Russian Vosk model of the tests, which `voicebot demo` and `voicebot bench calls --model tiny` use
TEST_ASR_MODEL = ROOT / "tests" / "fixtures" / "vosk-model-tiny-ru"


def settings() -> Settings:
    """Load configuration for a command, or exit with the configuration error (never a traceback)."""
    try:
        loaded = load_settings()
    except ConfigError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from exc
    configure_logging(loaded.log.level)
    return loaded


def open_database(config: Settings | None = None) -> Database:
    """The configured database (of `config`, else of the settings loaded now), migrated to the newest schema."""
    config = config or settings()
    db = Database(config.database_url, echo=config.storage.echo)
    db.migrate()
    return db


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error for the user and return the exit to raise (never a traceback)."""
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(code)


def run_service(service: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a long-lived command. SIGINT or SIGTERM while it starts cancel it, so what it has started already (Rasa,
    servers) is stopped on the way out; once it waits in `stop_signal()` they end that wait instead."""

    async def cancellable() -> None:
        task, loop = asyncio.current_task(), asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        await service()

    try:
        asyncio.run(cancellable())
    except asyncio.CancelledError:
        logger.info("stopped while starting")


async def stop_signal() -> None:
    """Return when the process gets SIGINT or SIGTERM."""
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()


def main() -> None:
    app()


# command groups register themselves on `app`; pipecat, imported by some, logs a banner at import: not for a CLI
logger.disable("pipecat")
from bot.cli import (  # noqa: E402,F401
    bench,
    call,
    campaigns,
    chaos,
    chat,
    dashboard,
    demo,
    dialogs,
    metrics,
    models,
    nlu,
    privacy,
    rasa,
    secrets,
    serve,
    simulate,
    webhooks,
)

logger.enable("pipecat")
