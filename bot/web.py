"""The platform's one web app: the REST API (`bot/api/`) and the dashboard (`bot/dashboard/`) on one FastAPI app,
assembled here above both packages."""

from __future__ import annotations

from fastapi import FastAPI

from bot.api.app import create_api
from bot.config import Settings
from bot.core.clock import Clock
from bot.dashboard import routes as dashboard
from bot.storage.db import Database


def create_app(settings: Settings, db: Database | None = None, clock: Clock | None = None) -> FastAPI:
    """The REST API with the dashboard, over the configured database (migrated on creation)."""
    app = create_api(settings, db, clock)
    dashboard.install(app, settings)
    return app
