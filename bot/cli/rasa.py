"""`voicebot train` and `voicebot rasa run`: the dialog model and the dialog service."""

import typer
from loguru import logger

from bot.asgi import ServerStartError
from bot.cli import app, fail, run_service, settings, stop_signal
from bot.dialog.loader import ScriptErrors
from bot.rasa.dialog_service import DialogService, load_valid_catalogue
from bot.rasa.errors import RasaError
from bot.rasa.training import train

rasa_app = typer.Typer(no_args_is_help=True, help="The Rasa dialog service.")
app.add_typer(rasa_app, name="rasa")


@app.command("train")
def train_command() -> None:
    """Compile dialogs + training_data into a Rasa project and train one model (reused while unchanged)."""
    config = settings()
    try:
        model = train(config, load_valid_catalogue(config))
    except (ScriptErrors, RasaError, ServerStartError) as exc:
        raise fail(str(exc)) from exc
    how = "unchanged inputs, reused" if model.reused else f"trained in {model.seconds:.0f} s"
    typer.echo(f"model {model.path} ({how})")


@rasa_app.command("run")
def run_command() -> None:
    """Run the dialog service in the foreground: supervised Rasa server plus the platform's action server."""
    config = settings()

    async def serve() -> None:
        async with DialogService(config) as service:
            logger.info(f"dialog service ready: Rasa {config.rasa.url} (pid {service.rasa.pid})")
            await stop_signal()

    try:
        run_service(serve)
    except (ScriptErrors, RasaError, ServerStartError) as exc:
        raise fail(str(exc)) from exc
