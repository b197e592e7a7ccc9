"""`voicebot call NUMBER --script SCRIPT`: place one real phone call and print what happened as JSON."""

import asyncio
import dataclasses
import json

import typer

from bot.asgi import ServerStartError
from bot.call_results.store import CallStore
from bot.calls.phone_calls import PhoneCalls
from bot.campaigns.nodes import NodeLease, node_name
from bot.campaigns.placer import CallRequest
from bot.cli import app, fail, open_database, settings
from bot.cli.chat import chosen_script, parse_vars
from bot.dialog.engine import DialogError
from bot.rasa.dialog_service import dialog_client
from bot.rasa.errors import RasaError
from telephony import RegistrationError


@app.command("call")
def call(
    number: str = typer.Argument(..., help="a number (sent to the configured proxy) or a SIP URI"),
    script: str = typer.Option(..., help="script id, e.g. reminder"),
    lang: str = typer.Option("ru", help="ru or en"),
    var: list[str] = typer.Option([], help="script variable as key=value (repeatable)"),
    caller_id: str = typer.Option("", help="caller ID (default: telephony.caller_id or user)"),
) -> None:
    """Dial NUMBER, run SCRIPT over the voice pipeline when answered (answering-machine detection on); the call is
    recorded in the `calls` table."""
    config = settings()
    catalogue, _ = chosen_script(config, script)
    request = CallRequest(0, 0, 0, number, caller_id, script, lang, parse_vars(var))

    async def run() -> dict:
        database = open_database(config)
        # the call's row names this process's node, whose lease tells live workers the call is not theirs to end
        lease = NodeLease(database, node_name())
        await asyncio.to_thread(lease.acquire)
        store = CallStore(database, lease.node, config.contacts.default_region)
        try:
            async with (
                dialog_client(config, catalogue) as client,
                PhoneCalls(config, catalogue, client, store=store) as calls,
            ):
                return dataclasses.asdict(await calls.place(request))
        finally:
            lease.release()
            database.dispose()

    try:
        report = asyncio.run(run())
    except DialogError as exc:
        raise fail(str(exc), 2) from exc
    except (RasaError, ServerStartError, RegistrationError, OSError) as exc:
        raise fail(str(exc), 3) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, default=str))
