"""Request-scoped dependencies: a database session (one transaction per request) and the current time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from bot.config import Settings


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


def _now(request: Request) -> datetime:
    return request.app.state.clock.now()


def _settings(request: Request) -> Settings:
    return request.app.state.settings


DbSession = Annotated[Session, Depends(_session)]
Now = Annotated[datetime, Depends(_now)]
AppSettings = Annotated[Settings, Depends(_settings)]

ID_MAX = 2**31 - 1  # ids are 32-bit INTEGER columns on PostgreSQL
EntityId = Annotated[int, Path(ge=1, le=ID_MAX)]
CampaignFilter = Annotated[int | None, Query(ge=1, le=ID_MAX, description="only this campaign")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=ID_MAX)]
