"""Persistent state of the platform: SQLAlchemy models, the database handle and Alembic migrations."""

from bot.storage.db import Database
from bot.storage.models import ApiKey, Attempt, Base, Campaign, Contact, DoNotCall

__all__ = ["ApiKey", "Attempt", "Base", "Campaign", "Contact", "Database", "DoNotCall"]
