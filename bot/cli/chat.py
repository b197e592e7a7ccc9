"""`voicebot chat SCRIPT`: talk to a script in the terminal through the real Rasa engine.

Interactive on a terminal. With input piped, one caller line per line, it ends with one JSON line (outcome,
slots, actions, transcript). An empty line is the caller staying silent; `dtmf:15#` presses keys; the end of
input is the caller hanging up.
"""

import asyncio
import sys

import typer

from bot.asgi import ServerStartError
from bot.cli import app, fail, settings
from bot.config import Settings
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import DialogError, new_state
from bot.dialog.loader import ScriptErrors
from bot.dialog.model import Script
from bot.dialog.transcript import Exchange, Transcript
from bot.rasa.conversation import Conversation
from bot.rasa.dialog_service import dialog_client, load_valid_catalogue
from bot.rasa.errors import RasaError

DTMF_PREFIX = "dtmf:"


def parse_vars(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise fail(f"--var takes key=value, got {pair!r}", 2)
        variables[key.strip()] = value
    return variables


def chosen_script(config: Settings, script: str) -> tuple[Catalogue, Script]:
    """The checked scripts and `script` among them; exits 2 naming the problem (file:line, or the unknown id)."""
    try:
        catalogue = load_valid_catalogue(config)
        return catalogue, catalogue.get(script)
    except (ScriptErrors, KeyError) as exc:
        raise fail(str(exc).strip("'\""), 2) from exc


@app.command("chat")
def chat(
    script: str = typer.Argument(..., help="script id, e.g. reminder"),
    lang: str = typer.Option("ru", help="ru or en"),
    var: list[str] = typer.Option([], help="script variable as key=value (repeatable)"),
    timezone: str = typer.Option("Europe/Moscow", help="the caller's time zone, for 'tomorrow at five'"),
) -> None:
    """Chat with a script as the caller would; shows slots as they fill and the final outcome."""
    config = settings()
    catalogue, chosen = chosen_script(config, script)
    try:
        state = new_state(chosen, lang, parse_vars(var), timezone)
    except DialogError as exc:
        raise fail(str(exc).strip("'\""), 2) from exc
    interactive = sys.stdin.isatty()
    transcript = Transcript(chosen)

    def show(exchange: Exchange, step_before: str | None) -> None:
        transcript.add(exchange, step_before)
        if not interactive:
            return
        heard = exchange.heard
        if heard.intent and heard.kind == "text":
            typer.secho(f"   [{heard.intent} {heard.confidence:.2f} → {exchange.result.event}]", dim=True)
        for text in exchange.result.say:
            typer.secho(f"robot: {text}", fg="cyan")
        slots = transcript.slots(exchange.result.state)
        if slots:
            typer.secho(f"   slots: {slots}", dim=True)

    async def talk() -> None:
        async with dialog_client(config, catalogue) as client:
            conversation = Conversation(client, state)
            show(await conversation.start(), None)
            while not conversation.ended:
                line = _read_line(interactive)
                step = conversation.state.step
                if line is None:
                    show(await conversation.hangup(), step)
                elif line.startswith(DTMF_PREFIX):
                    show(await conversation.dtmf(line.removeprefix(DTMF_PREFIX).strip()), step)
                elif not line.strip():
                    show(await conversation.silence(), step)
                else:
                    show(await conversation.say(line), step)
            record = transcript.record(conversation.state)
            if interactive:
                typer.secho(f"outcome: {record.outcome} {record.outcome_data or ''}", bold=True)
            else:
                typer.echo(record.model_dump_json(exclude_none=True))

    try:
        asyncio.run(talk())
    except (RasaError, ServerStartError) as exc:
        raise fail(str(exc), 3) from exc


def _read_line(interactive: bool) -> str | None:
    """The caller's next line, or None when they hang up (end of input)."""
    if interactive:
        try:
            return input("you: ")
        except EOFError:
            return None
    raw = sys.stdin.readline()
    return None if raw == "" else raw.rstrip("\n")
