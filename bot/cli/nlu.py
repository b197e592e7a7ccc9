"""`voicebot nlu parse`: what the trained model understands of a text (one JSON line per text)."""

import asyncio
import json
import sys

import typer

from bot.asgi import ServerStartError
from bot.cli import app, fail, settings
from bot.dialog.loader import ScriptErrors
from bot.rasa.dialog_service import dialog_client, load_valid_catalogue
from bot.rasa.errors import RasaError

nlu_app = typer.Typer(no_args_is_help=True, help="The NLU model.")
app.add_typer(nlu_app, name="nlu")


@nlu_app.command("parse")
def parse(
    text: str | None = typer.Argument(None, help="the text; without it, one text per line from stdin"),
    lang: str = typer.Option("ru", help="ru or en (one model serves both; recorded in the output)"),
) -> None:
    """Print {"intent": {"name", "confidence"}, "entities": [...]} for each text."""
    if lang not in ("ru", "en"):
        raise fail(f"--lang must be ru or en, not {lang!r}", 2)
    config = settings()
    try:
        catalogue = load_valid_catalogue(config)
    except ScriptErrors as exc:
        raise fail(str(exc), 2) from exc
    texts = [text] if text is not None else (line.rstrip("\n") for line in sys.stdin)

    async def run() -> None:
        async with dialog_client(config, catalogue) as client:
            for one in texts:
                result = await client.parse(one)
                intent = result.get("intent") or {}
                line = {
                    "text": one,
                    "lang": lang,
                    "intent": {
                        "name": intent.get("name"),
                        "confidence": round(intent.get("confidence") or 0, 4),
                    },
                    "entities": result.get("entities", []),
                }
                typer.echo(json.dumps(line, ensure_ascii=False))

    try:
        asyncio.run(run())
    except (RasaError, ServerStartError) as exc:
        raise fail(str(exc), 3) from exc
