"""`voicebot chaos`: the fault scenarios and one table of what each fault did (a developer tool)."""

from typing import Annotated

import typer

from bot.cli import app
from bot.devtools import chaos


@app.command("chaos")
def chaos_command(
    keyword: Annotated[
        str, typer.Option("-k", help="only the scenarios pytest's -k expression selects")
    ] = "",
) -> None:
    """Run the fault scenarios (from a source checkout; hosts apart needs root) and print one table: fault, calls
    up, contacts, lost, dialled twice, events lost, calls left live, seconds to recover. Exit 1 if any failed."""
    done = chaos.run(extra=("-k", keyword) if keyword else ())
    typer.echo(chaos.table(done.rows))
    typer.echo(f"pytest: {done.pytest_summary}")
    if done.returncode != 0:
        raise typer.Exit(1)
