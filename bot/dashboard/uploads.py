"""Contact files uploaded in the dashboard, kept on disk between preview, check and import, and the progress of
their imports. One worker holds an upload: behind a load balancer the page's requests must reach the same worker
(sticky sessions) until the import ends."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from bot.contacts.upload_check import CheckReport

KEEP_SECONDS = 24 * 3600  # an upload nobody imported is deleted after a day


class ListKind(StrEnum):
    """What an uploaded file is: a campaign's contacts, or numbers for the do-not-call list."""

    CONTACTS = "contacts"
    DNC = "dnc"


class ImportState(StrEnum):
    UPLOADED = "uploaded"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Upload:
    token: str
    campaign_id: int
    kind: ListKind
    filename: str
    path: Path
    created: float = field(default_factory=time.time)
    report: CheckReport | None = None  # the last check
    state: ImportState = ImportState.UPLOADED
    done: int = 0  # rows imported so far
    total: int = 0
    result: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def read(self) -> bytes:
        return self.path.read_bytes()

    def progress(self, done: int, total: int) -> None:
        """The importer's progress callback (called from its worker thread)."""
        self.done, self.total = done, total


class Uploads:
    """The uploads of this worker, by token; files under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._uploads: dict[str, Upload] = {}

    def add(self, campaign_id: int, kind: ListKind, filename: str) -> Upload:
        """A new upload whose file the caller writes to `upload.path`."""
        self._forget_old()
        self.folder.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(16)
        upload = Upload(token, campaign_id, kind, filename[:200], self.folder / f"{token}.upload")
        self._uploads[token] = upload
        return upload

    def get(self, campaign_id: int, kind: ListKind, token: str) -> Upload | None:
        """The upload of that campaign and kind (None for another's token)."""
        upload = self._uploads.get(token)
        if upload is None or (upload.campaign_id, upload.kind) != (campaign_id, kind):
            return None
        return upload

    def discard(self, upload: Upload) -> None:
        """Delete the file (the upload's state stays for the page to read)."""
        upload.path.unlink(missing_ok=True)

    def _forget_old(self) -> None:
        limit = time.time() - KEEP_SECONDS
        for token, upload in list(self._uploads.items()):
            if upload.created < limit and upload.state is not ImportState.RUNNING:
                self.discard(upload)
                del self._uploads[token]
