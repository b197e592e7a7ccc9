"""A test's database taken to a given Alembic revision, up or down (`Database.migrate` goes to the newest)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.storage.db import MIGRATIONS, Database


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrate_to(db: Database, revision: str, down: bool = False) -> None:
    """Upgrade (or, `down`, downgrade) `db` to `revision`."""
    config = alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
