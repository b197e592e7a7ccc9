"""Secrets at rest: webhook signing secrets (in the database) and the SIP password (in `voicebot.yml`) are stored as
Fernet tokens (`fernet:…`, AES-128-CBC + HMAC-SHA256, `cryptography`) under a key ring.

Keys, newest first: `VOICEBOT_SECRET_KEYS` (comma-separated), else the file named by `VOICEBOT_SECRET_KEYS_FILE`,
else `~/.config/voicebot/secret-keys` (`$XDG_CONFIG_HOME`; one key a line; created with a fresh key, mode 0600,
when missing: kept apart from the data folder and its backups). Rotation: put a new key first (`voicebot secrets new-key`), keep the old ones
(they still decrypt), run `voicebot secrets reencrypt`, then drop the old keys."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

PREFIX = "fernet:"


class SecretKeyError(Exception):
    """No usable key, or a stored secret no key in the ring decrypts."""


def key_file(environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    if named := environ.get("VOICEBOT_SECRET_KEYS_FILE"):
        return Path(named)
    config_home = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "voicebot" / "secret-keys"


def _key_texts(environ: dict[str, str]) -> tuple[str, ...]:
    if listed := environ.get("VOICEBOT_SECRET_KEYS"):
        return tuple(k.strip() for k in listed.split(",") if k.strip())
    path = key_file(environ)
    if not path.exists():
        _create_key_file(path)
    return tuple(
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    )


def _create_key_file(path: Path) -> None:
    """A new key file with one fresh key, readable by this user only; written under another name and linked into
    place, so a process starting at the same moment never reads it half-written (the first one wins)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(Fernet.generate_key().decode() + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise SecretKeyError(f"a secret key is not a Fernet key (32 url-safe base64 bytes): {exc}") from exc


def key_ring(environ: dict[str, str] | None = None) -> MultiFernet:
    """The keys in force: encrypt with the first, decrypt with any."""
    keys = _key_texts(dict(os.environ) if environ is None else environ)
    if not keys:
        raise SecretKeyError("no secret key: set VOICEBOT_SECRET_KEYS or write one to the key file")
    return _ring(keys)


def encrypt(value: str, environ: dict[str, str] | None = None) -> str:
    return PREFIX + key_ring(environ).encrypt(value.encode()).decode()


def decrypt(value: str, environ: dict[str, str] | None = None) -> str:
    """The plain text of a `fernet:` token; any other text is returned as it is (a value not encrypted yet)."""
    if not value.startswith(PREFIX):
        return value
    try:
        return key_ring(environ).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretKeyError("a stored secret cannot be decrypted with any key in the ring") from exc


def reencrypt(value: str, environ: dict[str, str] | None = None) -> str:
    """The token under the newest key (a plain value gets encrypted)."""
    if not value.startswith(PREFIX):
        return encrypt(value, environ)
    try:
        return PREFIX + key_ring(environ).rotate(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretKeyError("a stored secret cannot be decrypted with any key in the ring") from exc


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored as one Fernet token (a JSON string); rows written before encryption (plain JSON) are
    read as they are until migrated."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else encrypt(json.dumps(value))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            return json.loads(decrypt(value))
        return value


def decrypt_config(data: dict[str, Any], environ: dict[str, str]) -> None:
    """Decrypt, in the raw configuration, the SIP password given as a `fernet:` token (`voicebot secrets encrypt`)."""
    telephony = data.get("telephony")
    if isinstance(telephony, dict) and isinstance(telephony.get("password"), str):
        telephony["password"] = decrypt(telephony["password"], environ)
