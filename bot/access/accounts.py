"""Dashboard users kept in the database (made in the People page), beside the users of the configuration: who
may log in, with which scope, and the rule that the platform always keeps an admin."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.access.passwords import hash_password
from bot.config import DashboardSettings
from bot.storage.models import ApiKey, DashboardAccount

NAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
MIN_PASSWORD = 8


class AccountError(Exception):
    """A user change that cannot be made; `key` names the message in the dashboard's strings."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def find(session: Session, name: str) -> DashboardAccount | None:
    return session.scalar(select(DashboardAccount).where(DashboardAccount.name == name))


def create(
    session: Session, settings: DashboardSettings, name: str, password: str, scope: str, now: datetime
) -> DashboardAccount:
    """A new enabled user; AccountError for a bad name, a short password or a name already taken."""
    if not NAME.match(name):
        raise AccountError("people.error.name")
    if len(password) < MIN_PASSWORD:
        raise AccountError("people.error.password", count=str(MIN_PASSWORD))
    if name in settings.users or find(session, name) is not None:
        raise AccountError("people.error.taken", name=name)
    row = DashboardAccount(
        name=name, password_hash=hash_password(password), scope=scope, disabled=False, created_at=now
    )
    session.add(row)
    session.flush()
    return row


def admins_besides(session: Session, settings: DashboardSettings, *, account: int = 0, key: int = 0) -> int:
    """How many ways to administer the platform remain without the account or key named (enabled admin users
    in the database or the configuration, admin API keys not revoked)."""
    accounts = session.scalar(
        select(func.count()).where(
            DashboardAccount.scope == "admin", ~DashboardAccount.disabled, DashboardAccount.id != account
        )
    )
    keys = sum(
        "admin" in row.scopes.split(",")
        for row in session.scalars(select(ApiKey).where(~ApiKey.revoked, ApiKey.id != key))
    )
    configured = sum(user.scope == "admin" for user in settings.users.values())
    return int(accounts or 0) + keys + configured
