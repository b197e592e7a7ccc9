"""`voicebot privacy export|forget PHONE`: one person's data as a zip, or erased (`docs/privacy.md`)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.audit import CLI_ACTOR
from bot.cli import app, fail, open_database, settings
from bot.config import Settings
from bot.core.phones import PhoneError, PhoneNormalizer
from bot.privacy.export import export_person
from bot.privacy.forget import PersonInCall, forget_person
from bot.privacy.person import phone_hash
from bot.rasa.errors import RasaError
from bot.storage.db import Database

privacy_app = typer.Typer(no_args_is_help=True, help="One person's data: export it, or forget it.")
app.add_typer(privacy_app, name="privacy")


def _open(phone: str) -> tuple[Settings, Database, str]:
    config = settings()
    try:
        e164 = PhoneNormalizer(config.contacts.default_region).normalize(phone).e164
    except PhoneError as exc:
        raise fail(f"phone: {exc}", 2) from exc
    return config, open_database(config), e164


@privacy_app.command("export")
def export(
    phone: str,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="the zip to write")] = None,
) -> None:
    """Write everything held about PHONE to a zip (person.json and the recordings)."""
    config, db, e164 = _open(phone)
    try:
        archive = asyncio.run(export_person(db, config, e164, CLI_ACTOR, datetime.now(UTC)))
    except RasaError as exc:
        raise fail(f"the dialog service's conversations could not be read: {exc}") from exc
    path = out or Path(f"person-{phone_hash(e164)[1:]}.zip")
    path.write_bytes(archive)
    typer.echo(f"{path} ({len(archive)} bytes)")


@privacy_app.command("forget")
def forget(
    phone: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Erase PHONE's data for good; prints what was erased or anonymised as JSON."""
    config, db, e164 = _open(phone)
    if not yes and not typer.confirm(f"Erase everything held about {e164}? This cannot be undone"):
        raise fail("nothing erased", 1)
    try:
        report = asyncio.run(forget_person(db, config, e164, CLI_ACTOR, datetime.now(UTC)))
    except RasaError as exc:
        raise fail(
            f"forget stopped before the database (run it again): the Rasa conversations could not be erased: {exc}"
        ) from exc
    except PersonInCall as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
