"""What the benchmark sets' readers share (`bench/dialogs`, `bench/pauses`): every file of a set read and checked,
every problem of every file collected before the set is refused, and places shown as `file:line`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from bot.dialog.loader import ScriptError, ScriptErrors, Source, read_source

Found = TypeVar("Found", covariant=True)


class FileReader(Protocol[Found]):
    """Checks one file of a set: `read()` answers what it found, `errors` what is wrong (file:line)."""

    errors: list[ScriptError]

    def read(self) -> Found: ...


def read_set(
    root: Path,
    files: list[Path],
    nothing: str,
    reader: Callable[[Source], FileReader[Found]],
    yaml_error: Callable[[ScriptError], ScriptError] = lambda error: error,
) -> list[Found]:
    """What `reader` found in each of `files` (under `root`), in order. ScriptErrors lists every problem of every
    file (the YAML reader's own through `yaml_error`), or says `nothing` at `root` when there are no files."""
    if not files:
        raise ScriptErrors([ScriptError(root, 1, nothing)])
    found: list[Found] = []
    errors: list[ScriptError] = []
    for path in files:
        try:
            source = read_source(path)
        except ScriptErrors as exc:
            errors += [yaml_error(error) for error in exc.errors]
            continue
        file_reader = reader(source)
        found.append(file_reader.read())
        errors += file_reader.errors
    if errors:
        raise ScriptErrors(errors)
    return found


def where(file: Path, line: int) -> str:
    """`bench/dialogs/ru/debt.yml:12` (relative to the working directory when under it)."""
    shown = file.relative_to(Path.cwd()) if file.is_relative_to(Path.cwd()) else file
    return f"{shown}:{line}"
