"""A call's turn while the dialog service is down (Rasa killed, restarting or still loading its model).

The caller is not left in silence: a short holding phrase, repeated while the call waits for Rasa to answer again
(its supervisor, `bot.rasa.server`, restarts it). When it is back, the conversation is carried over from the dialog
state the call holds (`Conversation.resume`: a Rasa with an in-memory tracker store has forgotten it) and the turn
runs again. If Rasa is not back within the limit, the caller hears an apology and the call ends (`ended_by=error`,
no outcome: the dialer retries the contact by its rules).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from bot.rasa.client import RasaClient
from bot.rasa.errors import RasaError

HOLD = {"ru": "Одну секунду, пожалуйста.", "en": "One moment, please."}
STILL_HOLDING = {
    "ru": "Спасибо за ожидание, ещё немного.",
    "en": "Thank you for waiting, just a moment more.",
}
APOLOGY = {
    "ru": "Извините, у нас технические неполадки. До свидания!",
    "en": "Sorry, we are having technical problems. Goodbye!",
}
HOLD_REPEAT = 8.0  # seconds between holding phrases
POLL = 0.5  # seconds between health checks


async def wait_for_dialog(
    client: RasaClient, limit: float, say: Callable[[str], Awaitable[None]], lang: str
) -> bool:
    """Say the holding phrase (again every HOLD_REPEAT s) until Rasa has its model loaded again; False if it is
    not back within `limit` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    await say(HOLD.get(lang, HOLD["en"]))
    next_phrase = loop.time() + HOLD_REPEAT
    while loop.time() < deadline:
        with contextlib.suppress(RasaError):
            if (await client.status()).get("model_file"):
                return True
        if loop.time() >= next_phrase:
            await say(STILL_HOLDING.get(lang, STILL_HOLDING["en"]))
            next_phrase = loop.time() + HOLD_REPEAT
        await asyncio.sleep(POLL)
    return False


def apology(lang: str) -> str:
    """What the caller hears before a call the dialog could not carry on ends."""
    return APOLOGY.get(lang, APOLOGY["en"])
