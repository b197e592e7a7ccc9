"""`voicebot bench …`: benchmarks that print numbers (speed claims live here, not in tests)."""

import asyncio

import typer

from bot.asgi import ServerStartError
from bot.cli import app, fail, settings
from bot.config import ROOT
from bot.dialog.loader import ScriptErrors
from bot.dialog.service import dialog_client, load_valid_catalogue
from bot.rasa import bench as nlu_bench
from bot.rasa.training import RasaError

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks.")
app.add_typer(bench_app, name="bench")


@bench_app.command("nlu")
def nlu() -> None:
    """Held-out intent accuracy per language, confusions, and median NLU and dialog-turn latency."""
    config = settings()
    try:
        catalogue = load_valid_catalogue(config)
    except ScriptErrors as exc:
        raise fail(str(exc), 2) from exc

    async def run() -> str:
        async with dialog_client(config, catalogue) as client:
            report, _ = await nlu_bench.run(client, catalogue, ROOT)
            return report

    try:
        typer.echo(asyncio.run(run()))
    except (RasaError, ServerStartError) as exc:
        raise fail(str(exc), 3) from exc
