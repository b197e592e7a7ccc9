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


PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@bench_app.command("campaigns", context_settings=PASS_THROUGH)
def campaigns(ctx: typer.Context) -> None:
    """Contact import rows/s and dialer scheduling decisions/s (`--help` for options)."""
    from bot.campaigns import bench

    raise typer.Exit(bench.main(ctx.args))


@bench_app.command("sip", context_settings=PASS_THROUGH)
def sip(ctx: typer.Context) -> None:
    """Concurrent SIPp calls through Kamailio to one robot process (`--help` for options)."""
    from telephony import bench

    raise typer.Exit(bench.main(ctx.args))
