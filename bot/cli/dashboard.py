"""`voicebot dashboard`: password hashes for the dashboard's users."""

import typer

from bot.access.passwords import hash_password
from bot.cli import app, fail

dashboard = typer.Typer(no_args_is_help=True, help="The web dashboard (/dashboard): user passwords.")
app.add_typer(dashboard, name="dashboard")


@dashboard.command("hash-password")
def hash_password_command() -> None:
    """Ask for a password twice and print its hash for `dashboard.users.<name>.password_hash` in voicebot.yml."""
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        typer.echo(hash_password(password))
    except ValueError as exc:
        raise fail(str(exc), 2) from exc
