"""Whole calls simulated over the in-process line with the session's real dialog service."""

from __future__ import annotations

from bot.calls.simulate import CallerLine, simulate_call
from bot.config import Settings
from bot.dialog.catalogue import load_catalogue
from tests.rasa.helpers import VARIABLES, client_for


async def call(
    settings: Settings, dialog_service: dict[str, str], script_id: str, lines: list[CallerLine], **options
):
    """One call to `script_id` in Russian with its test variables: (record, line) of `simulate_call`."""
    script = load_catalogue(settings.paths.dialogs_dir, settings.paths.training_data_dir).get(script_id)
    client = client_for(dialog_service)
    try:
        return await simulate_call(settings, client, script, "ru", VARIABLES[script_id], lines, **options)
    finally:
        await client.close()
