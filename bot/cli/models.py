"""`voicebot models list|pull|verify|path`: the speech models of the catalogue (`voice/catalogue.yml`)."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from bot.cli import app, fail, settings
from voice.models import ModelError, installed, load_catalogue, model_path, pull, verify

models_app = typer.Typer(no_args_is_help=True, help="Speech recognition models and TTS voices.")
app.add_typer(models_app, name="models")


@models_app.command("list")
def list_models() -> None:
    """The catalogue, with what is installed in the models directory."""
    voice = settings().voice
    for model_id, entry in load_catalogue(voice.catalogue).items():
        size = sum(f.approx_mb or 0 for f in entry.files)
        state = "installed" if installed(voice.models_dir, model_id) else "-"
        checks = {"sha256" if f.sha256 else "md5" if f.md5 else "none" for f in entry.files}
        checksum = "+".join(sorted(checks))
        typer.echo(
            f"{model_id:18} {entry.kind:3} {entry.lang:2} {size:6.0f} MB  {checksum:6}  {state:9}  {entry.description}"
        )


@models_app.command("pull")
def pull_model(
    model_id: str = typer.Argument(..., help="catalogue id, e.g. vosk-small-ru"),
    sha256: list[str] = typer.Option([], help="FILE=HEX: the publisher's checksum for a file (repeatable)"),
    trust: bool = typer.Option(False, help="accept files without a known checksum and record their sha256"),
) -> None:
    """Download (resumable), check and unpack a model into the models directory."""
    voice = settings().voice
    checksums = {}
    for pair in sha256:
        name, sep, digest = pair.partition("=")
        if not sep:
            raise fail(f"--sha256 takes FILE=HEX, got {pair!r}", 2)
        checksums[name] = digest
    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn()
    ) as bar:

        def progress(name: str):
            task = bar.add_task(name, total=None)
            return lambda done, total: bar.update(task, completed=done, total=total)

        try:
            path = pull(voice, model_id, checksums=checksums, trust=trust, progress=progress)
        except ModelError as exc:
            raise fail(str(exc)) from exc
    typer.echo(f"{model_id} installed in {path}")
    if trust:
        typer.echo("checksums were trusted on first use; they are recorded in manifest.json")


@models_app.command("verify")
def verify_model(model_id: str = typer.Argument(..., help="catalogue id")) -> None:
    """Re-check an installed model's files against the checksums recorded when it was installed."""
    problems = verify(settings().voice.models_dir, model_id)
    if problems:
        raise fail("; ".join(problems))
    typer.echo(f"{model_id}: ok")


@models_app.command("path")
def path_of(model_id: str = typer.Argument(..., help="catalogue id")) -> None:
    """Print an installed model's directory (exit 1 with the pull command if it is missing)."""
    try:
        typer.echo(model_path(settings().voice.models_dir, model_id))
    except ModelError as exc:
        raise fail(str(exc)) from exc
