"""Secrets at rest: webhook signing secrets are stored as Fernet tokens (SQLite and PostgreSQL), plain rows are
encrypted by the migration, a rotated ring still decrypts old tokens and `reencrypt` moves them to the new key; the
SIP password may be written encrypted in voicebot.yml; API keys are stored as hashes only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from bot.api.auth import Scope, create_key
from bot.audit import AuditAction, entries
from bot.config import ConfigError, load_settings
from bot.core.secrets import PREFIX, SecretKeyError, decrypt, encrypt
from bot.crm.subscriptions import add_secret, create
from bot.privacy.rotation import check_readable, reencrypt_stored
from bot.storage.db import MIGRATIONS, Database
from bot.storage.models import ApiKey, WebhookSubscription

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def _raw_secrets(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return [
            str(value) for (value,) in connection.execute(text("SELECT secrets FROM webhook_subscriptions"))
        ]


def test_webhook_secrets_are_encrypted_and_survive_a_key_rotation(db: Database, monkeypatch) -> None:
    monkeypatch.setenv("VOICEBOT_SECRET_KEYS", OLD)
    with db.session() as session:
        row = create(session, "http://127.0.0.1:9/hook", ["*"], NOW)
        first = row.secrets[0]
        add_secret(session, row.id)
    [stored] = _raw_secrets(db)
    assert PREFIX in stored and "whsec_" not in stored and first not in stored

    monkeypatch.setenv(
        "VOICEBOT_SECRET_KEYS", f"{NEW},{OLD}"
    )  # rotation: the new key first, the old one kept
    with db.session() as session:
        assert session.scalar(select(WebhookSubscription)).secrets[0] == first  # old tokens still decrypt
        assert reencrypt_stored(session, "cli", NOW) == 1
    monkeypatch.setenv("VOICEBOT_SECRET_KEYS", NEW)  # the old key dropped: the re-encrypted rows still read
    with db.session() as session:
        secrets = session.scalar(select(WebhookSubscription)).secrets
        assert secrets[0] == first and len(secrets) == 2
        assert [e.action for e in entries(session)] == [AuditAction.SECRETS_REENCRYPT]
    monkeypatch.setenv("VOICEBOT_SECRET_KEYS", Fernet.generate_key().decode())  # a wrong key: a clear error
    with pytest.raises(SecretKeyError, match="cannot be decrypted with any key"), db.session() as session:
        session.scalar(select(WebhookSubscription))
    with pytest.raises(SecretKeyError, match="give this worker the keys"), db.session() as session:
        check_readable(session)  # what voicebot serve checks at start-up


def test_the_migration_encrypts_plain_secrets(empty_database_url: str, monkeypatch) -> None:
    monkeypatch.setenv("VOICEBOT_SECRET_KEYS", OLD)
    db = Database(empty_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
        connection.execute(
            text(
                "INSERT INTO webhook_subscriptions (url, event_types, secrets, description, active, created_at) "
                """VALUES ('http://h/', '["*"]', '["whsec_AAAA"]', '', true, '2026-12-01 00:00:00')"""
            )
        )
    db.migrate()
    [stored] = _raw_secrets(db)
    assert "whsec_AAAA" not in stored and PREFIX in stored
    with db.session() as session:
        assert session.scalar(select(WebhookSubscription)).secrets == ["whsec_AAAA"]
    db.dispose()


def test_the_sip_password_may_be_written_encrypted(tmp_path: Path) -> None:
    environ = {"VOICEBOT_SECRET_KEYS": f"{NEW},{OLD}"}
    token = encrypt("s3cret-sip", {"VOICEBOT_SECRET_KEYS": OLD})
    config = tmp_path / "voicebot.yml"
    config.write_text(f"telephony: {{registrar: 127.0.0.1, password: '{token}'}}\n")
    assert load_settings(config, environ).telephony.password == "s3cret-sip"
    with pytest.raises(ConfigError, match=r"telephony\.password: a stored secret cannot be decrypted"):
        load_settings(config, {"VOICEBOT_SECRET_KEYS": Fernet.generate_key().decode()})
    config.write_text("telephony: {registrar: 127.0.0.1, password: plain}\n")  # plain still works
    assert load_settings(config, environ).telephony.password == "plain"
    assert decrypt("plain", environ) == "plain"


def test_a_key_file_is_created_once_and_readable_only_by_its_owner(tmp_path: Path) -> None:
    environ = {"VOICEBOT_SECRET_KEYS_FILE": str(tmp_path / "keys" / "secret-keys")}
    token = encrypt("x", environ)
    path = tmp_path / "keys" / "secret-keys"
    assert path.stat().st_mode & 0o777 == 0o600 and decrypt(token, environ) == "x"
    assert decrypt(encrypt("y", environ), environ) == "y" and len(path.read_text().split()) == 1


def test_api_keys_are_stored_as_hashes_only(db: Database) -> None:
    with db.session() as session:
        _, key = create_key(session, "crm", [Scope.READ], NOW)
    with db.engine.connect() as connection:
        row = connection.execute(select(ApiKey.__table__)).one()
    assert key not in str(tuple(row)) and key[10:] not in str(tuple(row)) and len(row.key_hash) == 64
