"""`voicebot dialogs`: list and check the YAML scripts."""

from pathlib import Path

import typer

from bot.cli import app, fail, settings
from bot.dialog.catalogue import load_catalogue

dialogs = typer.Typer(no_args_is_help=True, help="Dialog scripts: check and list.")
app.add_typer(dialogs, name="dialogs")


@dialogs.command("check")
def check(path: Path | None = typer.Argument(None, help="a script file or a folder of scripts")) -> None:
    """Validate scripts; each error names file, line and what is expected. Exit code 1 on errors."""
    config = settings()
    folder, files = config.paths.dialogs_dir, None
    if path is not None:
        if not path.exists():
            raise fail(f"{path} does not exist", 2)
        folder, files = (path, None) if path.is_dir() else (path.parent, [path])
    catalogue = load_catalogue(folder, config.paths.training_data_dir, files, queues=config.handoff.queues)
    for error in catalogue.errors:
        typer.secho(str(error), err=True, fg="red")
    for script_id in sorted(catalogue.scripts):
        typer.echo(f"ok  {script_id}")
    if catalogue.errors:
        typer.secho(f"{len(catalogue.errors)} error(s)", err=True, fg="red")
        raise typer.Exit(1)
