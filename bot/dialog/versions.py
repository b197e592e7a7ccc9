"""The version history of each dialog script, kept in the `script_versions` table.

The files under `dialogs/` stay what the CLI and the dialog service read; saving a script here writes its file and
adds a version (text, author, time, sha256). A save names the version it was edited from: when the script moved on
meanwhile, the save is refused with both texts (`VersionConflict`) and nothing is written. A file changed outside
the studio (an editor, git) is recorded as a version by `author="file"` the next time its history is read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.dialog.catalogue import text_hash
from bot.storage.models import Campaign, ScriptVersion

FILE_AUTHOR = "file"


class UnknownScript(KeyError):
    """No script file of that id."""


@dataclass(frozen=True)
class SavedVersion:
    """A stored version, detached from the database session."""

    number: int
    sha256: str
    author: str
    note: str
    created_at: datetime
    text: str

    @classmethod
    def of(cls, row: ScriptVersion) -> SavedVersion:
        return cls(row.number, row.sha256, row.author, row.note, row.created_at, row.text)


class VersionConflict(Exception):
    """The script was saved by someone else since `base` was loaded: `current` is theirs, `text` is yours."""

    def __init__(self, base: int, current: ScriptVersion | None, text: str):
        super().__init__(f"the script was saved meanwhile (version {current.number if current else '?'})")
        self.base, self.text = base, text
        self.current = SavedVersion.of(current) if current is not None else None


def script_path(dialogs_dir: Path, script_id: str) -> Path:
    """The file of a script; ids are file stems (letters, digits, `_`, `-`), never a path."""
    if (
        not script_id
        or script_id.startswith("_")
        or not script_id.replace("_", "").replace("-", "").isalnum()
    ):
        raise UnknownScript(script_id)
    path = dialogs_dir / f"{script_id}.yml"
    if not path.is_file():
        raise UnknownScript(script_id)
    return path


def newest(session: Session, script_id: str) -> ScriptVersion | None:
    return session.scalar(
        select(ScriptVersion)
        .where(ScriptVersion.script == script_id)
        .order_by(ScriptVersion.number.desc())
        .limit(1)
    )


def current(session: Session, dialogs_dir: Path, script_id: str, now: datetime) -> ScriptVersion:
    """The version the script's file holds now, recorded first if the file changed outside the studio."""
    text = script_path(dialogs_dir, script_id).read_text(encoding="utf-8")
    latest = newest(session, script_id)
    if latest is not None and latest.sha256 == text_hash(text):
        return latest
    return _add(session, script_id, text, FILE_AUTHOR, "", now, latest)


def history(session: Session, script_id: str) -> list[ScriptVersion]:
    """Every version of a script, newest first."""
    query = (
        select(ScriptVersion).where(ScriptVersion.script == script_id).order_by(ScriptVersion.number.desc())
    )
    return list(session.scalars(query))


def get(session: Session, script_id: str, number: int) -> ScriptVersion | None:
    return session.scalar(
        select(ScriptVersion).where(ScriptVersion.script == script_id, ScriptVersion.number == number)
    )


def save(
    session: Session,
    dialogs_dir: Path,
    script_id: str,
    text: str,
    base: int,
    author: str,
    now: datetime,
    note: str = "",
) -> ScriptVersion:
    """Store `text` as the script's next version (edited from version `base`) and write the file.

    VersionConflict when the current version is not `base`. The caller checks the text first (an invalid script
    is never saved) and commits; the file is replaced atomically after the row is flushed."""
    latest = current(session, dialogs_dir, script_id, now)
    if latest.number != base:
        raise VersionConflict(base=base, current=latest, text=text)
    if latest.sha256 == text_hash(text):
        return latest
    version = _add(session, script_id, text, author, note, now, latest)
    _write_atomically(script_path(dialogs_dir, script_id), text)
    return version


def older_versions(session_factory: Callable[[], Session]) -> Callable[[str, str], str | None]:
    """A lookup of a version's text by (script id, sha256), for `Catalogue.older_versions`."""

    def text_of(script_id: str, sha256: str) -> str | None:
        with session_factory() as session:
            return session.scalar(
                select(ScriptVersion.text)
                .where(ScriptVersion.script == script_id, ScriptVersion.sha256 == sha256)
                .limit(1)
            )

    return text_of


def _add(
    session: Session,
    script_id: str,
    text: str,
    author: str,
    note: str,
    now: datetime,
    latest: ScriptVersion | None,
) -> ScriptVersion:
    number = (latest.number if latest else 0) + 1
    version = ScriptVersion(
        script=script_id,
        number=number,
        text=text,
        sha256=text_hash(text),
        author=author[:200],
        note=note[:200],
        created_at=now,
    )
    session.add(version)
    try:
        session.flush()  # two saves from the same base: the second one's number is taken
    except IntegrityError as exc:
        session.rollback()
        taken = newest(session, script_id)
        raise VersionConflict(base=number - 1, current=taken, text=text) from exc
    return version


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pin_campaign(session: Session, campaign: Campaign, dialogs_dir: Path, now: datetime) -> None:
    """Pin a campaign that starts to its script's current version: its calls run that text, whatever is saved
    later. A campaign pinned before (resumed, restarted) keeps its version."""
    if not campaign.script_version:
        campaign.script_version = current(session, dialogs_dir, campaign.script, now).sha256
