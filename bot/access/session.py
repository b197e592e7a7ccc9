"""Dashboard sessions: who is logged in, kept in a signed (HMAC-SHA256), HttpOnly cookie with an expiry.

A session names its principal — an API key by id, or a user (of the People page, else of the configuration) — and
is checked afresh on every request: a revoked key or a removed or disabled user ends the session at once, and the
scope is always the current one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from sqlalchemy import select

from bot.config import Settings
from bot.storage.models import ApiKey, DashboardAccount

COOKIE = "voicebot_session"
SCOPES = ("read", "write", "admin")  # ascending; the API's `Scope` ranks them the same way
# Cookie-authenticated requests that change something must carry this header: a cross-site form cannot set it,
# and a cross-site script setting it needs a CORS pre-flight the platform never grants.
CSRF_HEADER = "X-Voicebot-Dashboard"


@dataclass(frozen=True)
class Principal:
    """Who a session belongs to: `kind` "key" (subject = API key id) or "user" (subject = user name)."""

    kind: str
    subject: str
    scope: str
    label: str


class SessionCodec:
    """Signs and reads session cookies."""

    def __init__(self, secret: bytes, hours: float) -> None:
        self._secret, self.max_age = secret, int(hours * 3600)

    def _sign(self, body: bytes) -> str:
        return (
            base64.urlsafe_b64encode(hmac.new(self._secret, body, hashlib.sha256).digest())
            .decode()
            .rstrip("=")
        )

    def encode(self, kind: str, subject: str) -> str:
        body = base64.urlsafe_b64encode(
            json.dumps({"k": kind, "s": subject, "e": int(time.time()) + self.max_age}).encode()
        )
        return f"{body.decode()}.{self._sign(body)}"

    def decode(self, cookie: str) -> tuple[str, str] | None:
        """(kind, subject) of a genuine, unexpired cookie; None otherwise."""
        body, _, signature = cookie.partition(".")
        if not hmac.compare_digest(self._sign(body.encode()).encode(), signature.encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body))
            kind, subject, expires = str(data["k"]), str(data["s"]), int(data["e"])
        except (ValueError, KeyError, TypeError):
            return None
        return (kind, subject) if expires > time.time() else None


def load_secret(settings: Settings) -> bytes:
    """`dashboard.secret`, else the random secret kept in `<data_dir>/dashboard-secret` (made on first use)."""
    if settings.dashboard.secret:
        return settings.dashboard.secret.encode()
    path = settings.paths.data_dir / "dashboard-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32))
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    for _ in range(50):  # another process may be writing it this very moment
        secret = path.read_text().strip()
        if secret:
            return secret.encode()
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it to have a new dashboard secret made")


def key_scope(row: ApiKey) -> str:
    """The highest scope of an API key."""
    return max(row.scopes.split(","), key=SCOPES.index)


def principal(request: Request) -> Principal | None:
    """The logged-in principal of the request's session cookie, still valid now; None without one."""
    codec: SessionCodec | None = getattr(request.app.state, "sessions", None)
    cookie = request.cookies.get(COOKIE)
    if codec is None or not cookie:
        return None
    found = codec.decode(cookie)
    if found is None:
        return None
    kind, subject = found
    if kind == "user":
        with request.app.state.db.session() as session:
            account = session.scalar(select(DashboardAccount).where(DashboardAccount.name == subject))
        if account is not None:
            return None if account.disabled else Principal(kind, subject, account.scope, subject)
        user = request.app.state.settings.dashboard.users.get(subject)
        return None if user is None else Principal(kind, subject, user.scope, subject)
    if kind == "key" and subject.isascii() and subject.isdigit():
        with request.app.state.db.session() as session:
            row = session.get(ApiKey, int(subject))
        if row is not None and not row.revoked:
            return Principal(kind, subject, key_scope(row), f"{row.name} ({row.prefix}…)")
    return None
