"""`voicebot secrets`: keys for secrets at rest, encrypting a value for `voicebot.yml`, re-encryption after a key
rotation (`docs/privacy.md`)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from cryptography.fernet import Fernet

from bot.audit import CLI_ACTOR
from bot.cli import app, fail, settings
from bot.core.secrets import SecretKeyError, encrypt, key_file
from bot.privacy.rotation import reencrypt_stored
from bot.storage.db import Database

secrets_app = typer.Typer(no_args_is_help=True, help="Secrets at rest: keys, encryption, re-encryption.")
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("new-key")
def new_key() -> None:
    """Print a new key: put it first in VOICEBOT_SECRET_KEYS or the key file, keep the old ones, then reencrypt."""
    typer.echo(Fernet.generate_key().decode())
    typer.echo(f"# key file: {key_file()}", err=True)


@secrets_app.command("encrypt")
def encrypt_value(value: str = typer.Option(..., prompt=True, hide_input=True)) -> None:
    """Print VALUE encrypted (`fernet:…`), e.g. for `telephony.password` in voicebot.yml."""
    try:
        typer.echo(encrypt(value))
    except SecretKeyError as exc:
        raise fail(str(exc), 2) from exc


@secrets_app.command("reencrypt")
def reencrypt() -> None:
    """Re-encrypt every stored webhook secret under the newest key (after a rotation; plain rows get encrypted)."""
    config = settings()
    db = Database(config.database_url, echo=config.storage.echo)
    try:
        db.migrate()
        with db.session() as session:
            count = reencrypt_stored(session, CLI_ACTOR, datetime.now(UTC))
    except SecretKeyError as exc:
        raise fail(str(exc), 2) from exc
    finally:
        db.dispose()
    typer.echo(f"{count} subscription(s) re-encrypted under the newest key")
