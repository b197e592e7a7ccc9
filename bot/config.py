"""Platform configuration: one YAML file plus `VOICEBOT_SECTION__KEY` environment overrides, validated once.

The file is `voicebot.yml` in the working directory, or the path in `VOICEBOT_CONFIG`. Every setting has an
embedded default, so the platform runs with no file at all (SQLite, local models, Rasa on loopback).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML, YAMLError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.consent import ComplianceSettings
from bot.core.secrets import SecretKeyError, decrypt_config
from bot.inbound_routing import ANY_NUMBER, InboundRoute
from telephony.config import TelephonySettings
from voice.config import VoiceSettings

ENV_PREFIX = "VOICEBOT_"
ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """The configuration file or an override is invalid; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PathsSettings(_Section):
    """Folders; relative paths are taken from the working directory."""

    data_dir: Path = ROOT / "var"
    dialogs_dir: Path = ROOT / "dialogs"
    training_data_dir: Path = ROOT / "training_data"

    @field_validator("data_dir", "dialogs_dir", "training_data_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()


class RasaSettings(_Section):
    """The Rasa 3.6 server the platform starts and supervises, and the action server Rasa calls back."""

    executable: Path = ROOT / ".venv-rasa" / "bin" / "rasa"

    @field_validator("executable")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.absolute()

    host: str = "127.0.0.1"
    port: int = 5005
    action_port: int = 5055
    startup_timeout: float = Field(240.0, gt=0, description="seconds to wait for a model to load")
    request_timeout: float = Field(10.0, gt=0)
    fallback_threshold: float = Field(0.6, gt=0, lt=1, description="NLU confidence below this is no-match")
    tracker_store: str = Field(
        "memory",
        description="where Rasa keeps conversations: memory (lost when Rasa restarts) or an SQL URL, "
        "sqlite:///path or postgresql://user:password@host/db (survives restarts, shared by Rasa replicas)",
    )

    @field_validator("tracker_store")
    @classmethod
    def _sql_or_memory(cls, value: str) -> str:
        if value == "memory":
            return value
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"'memory' or an sqlite:// or postgresql:// URL, not {value!r}")
        return value

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = 8000


class StorageSettings(_Section):
    """The database: empty `url` means a SQLite file (WAL) at `<data_dir>/voicebot.db`; PostgreSQL by URL."""

    url: str = Field("", description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@host/db")
    echo: bool = False


class ContactsSettings(_Section):
    default_region: str = Field("RU", min_length=2, max_length=2, description="region for numbers without +")


class DialerSettings(_Section):
    """The outbound dialer: how often it schedules, how many lines it may use in total."""

    tick_seconds: float = Field(1.0, gt=0, description="pause between scheduling passes")
    max_lines: int = Field(30, ge=1, description="concurrent calls over all campaigns on this node")
    batch_size: int = Field(500, ge=1, description="due contacts read per query")
    node: str = Field(
        "", max_length=64, description="this dialer's name (unique per process); empty: host:pid"
    )


BUSY_MESSAGES = {
    "ru": "Извините, сейчас все линии заняты. Пожалуйста, перезвоните через несколько минут.",
    "en": "Sorry, all our lines are busy right now. Please call again in a few minutes.",
}


class CallsSettings(_Section):
    """Phone calls of the robot: inbound routes by called number (DID), the concurrent-call cap, caller lookup.

    `inbound_script` (with its language and variables) is the route for any number no route in `routes`
    matches; with neither, inbound calls are refused with 480.
    """

    inbound_script: str = ""
    inbound_language: Literal["ru", "en"] = "ru"
    inbound_variables: dict[str, str] = {}
    routes: list[InboundRoute] = []
    max_concurrent: int | None = Field(
        None, ge=1, description="robot calls at once (inbound and outbound); beyond: the busy message"
    )
    busy_message: dict[Literal["ru", "en"], str] = BUSY_MESSAGES
    over_capacity: Literal["message", "refuse"] = Field(
        "message",
        description="beyond max_concurrent: answer with the busy message, or refuse with 486 Busy Here so that "
        "a SIP proxy in front of several workers (Kamailio's dispatcher) tries the next one",
    )
    drain_seconds: float = Field(
        60.0,
        ge=0,
        description="a worker stopping (SIGTERM, Ctrl-C) takes no new calls and lets the calls up go on this long "
        "before it hangs up on them",
    )
    lookup_url: str = Field("", description="CRM caller lookup; empty: none", pattern=r"^(https?://\S+)?$")
    lookup_method: Literal["GET", "POST"] = "GET"
    lookup_timeout: float = Field(1.5, gt=0, le=10, description="seconds; the caller hears ringing meanwhile")
    lookup_token: str = Field("", description="sent in `lookup_token_header` when set")
    lookup_token_header: str = "Authorization"

    @field_validator("routes")
    @classmethod
    def _distinct_numbers(cls, routes: list[InboundRoute]) -> list[InboundRoute]:
        seen: set[str] = set()
        for route in routes:
            if route.pattern in seen:
                raise ValueError(f"two routes for did {route.did!r}")
            seen.add(route.pattern)
        return routes

    @property
    def inbound_routes(self) -> list[InboundRoute]:
        """`routes`, then the catch-all route of `inbound_script` (if any)."""
        if not self.inbound_script:
            return list(self.routes)
        default = InboundRoute(
            did=ANY_NUMBER,
            script=self.inbound_script,
            language=self.inbound_language,
            variables=self.inbound_variables,
        )
        return [*self.routes, default]


class DashboardUser(_Section):
    """A dashboard login: a password hash from `voicebot dashboard hash-password` and the user's API scope."""

    password_hash: str = Field(pattern=r"^scrypt\$", description="scrypt$n$r$p$salt$hash")
    scope: Literal["read", "write", "admin"] = "read"


class DashboardSettings(_Section):
    """The web dashboard at /dashboard: users (besides API keys) and the session cookie."""

    users: dict[str, DashboardUser] = {}
    secret: str = Field(
        "", description="signs session cookies; empty: a random one kept in <data_dir>/dashboard-secret"
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    secure_cookie: bool = Field(False, description="send the cookie over HTTPS only (behind a TLS proxy)")
    max_upload_mb: float = Field(50.0, gt=0, le=1024, description="the largest contact file the page accepts")


class TransferMode(StrEnum):
    """How a queue takes a call: a blind REFER, or a warm transfer (agent called and told first, then bridged)."""

    BLIND = "blind"
    WARM = "warm"


class AgentSettings(_Section):
    """One human agent, declared once under `handoff.agents` and named by the queues they serve."""

    target: str = Field(min_length=1, description="the agent's SIP URI or extension on the registrar")
    label: str = Field("", description="shown in the API and dashboard (default: the agent's name)")


class QueueSettings(_Section):
    """One agent queue: where the robot transfers a call, and how long the transfer may take."""

    target: str = Field(
        min_length=1, description="SIP URI (sip:sales@pbx) or extension/number on the registrar"
    )
    timeout_seconds: float = Field(30.0, gt=0, le=300, description="REFER sent → the target answered")
    takeback: dict[str, str] = Field({}, description="per language: said when the transfer fails")
    mode: TransferMode = Field(
        TransferMode.BLIND, description="blind: REFER to the target; warm: the robot calls an agent first"
    )
    agents: list[str] = Field(
        [], description="names from handoff.agents, tried in order by a warm transfer (default: the target)"
    )
    ring_seconds: float = Field(20.0, gt=0, le=120, description="warm: how long each agent's phone rings")
    accept_key: str | None = Field(
        None,
        pattern=r"^[0-9*#]$",
        description="warm: the agent takes the call by pressing it (default: answering)",
    )
    max_wait_seconds: float = Field(
        120.0,
        ge=0,
        le=3600,
        description="warm: longest wait in the queue for a free agent, then the take-back",
    )
    max_waiting: int = Field(
        10,
        ge=0,
        le=1000,
        description="warm: customers allowed to wait at once; one more is taken back at once",
    )
    handle_seconds: float = Field(
        180.0, gt=0, le=7200, description="expected agent time per call until handle times are measured"
    )


# The queue names the shipped scripts use, each dialling the extension of the same name: map them to your PBX.
SHIPPED_QUEUES = ("collections", "complaints", "operators", "orders", "reception", "sales", "support")


class HandoffSettings(_Section):
    """Hand-off to human agents: the agents, the queues scripts name, and what happens when none answers."""

    agents: dict[str, AgentSettings] = Field({}, description="every agent once, by name; queues list names")
    queues: dict[str, QueueSettings] = {name: QueueSettings(target=name) for name in SHIPPED_QUEUES}
    takeback: dict[str, str] = {
        "ru": "К сожалению, все специалисты сейчас заняты. Мы обязательно перезвоним вам. До свидания!",
        "en": "Unfortunately all our specialists are busy right now. We will call you back. Goodbye!",
    }
    callback_minutes: int = Field(30, ge=1, le=7 * 24 * 60, description="when to call back after a failure")
    probe_seconds: float = Field(
        15.0, ge=0, le=3600, description="SIP OPTIONS to each agent's target this often (0: no probing)"
    )

    @model_validator(mode="after")
    def _agents_declared(self) -> HandoffSettings:
        for queue, name, _ in self.unknown_agents():
            raise ValueError(
                f"queue {queue!r} names agent {name!r}, not in handoff.agents ({self.declared()})"
            )
        return self

    def unknown_agents(self) -> list[tuple[str, str, int]]:
        """(queue, agent name, index in the queue's list) for every name no agent is declared under."""
        return [
            (queue, name, index)
            for queue, settings in self.queues.items()
            for index, name in enumerate(settings.agents)
            if name not in self.agents
        ]

    def declared(self) -> str:
        return ", ".join(sorted(self.agents)) or "no agents declared"

    def agent_targets(self, queue: str) -> list[tuple[str, str]]:
        """(agent name, SIP target) a warm transfer of `queue` dials, in order; the queue's target when it names
        no agents (the name is then the target)."""
        settings = self.queues[queue]
        if not settings.agents:
            return [(settings.target, settings.target)]
        return [(name, self.agents[name].target) for name in settings.agents]


class RetentionSettings(BaseModel):
    """Retention periods, enforced by `voicebot serve` every `every_minutes` (`bot/privacy/retention.py`).
    Recordings have their own period, `voice.recordings_retention_days` (30)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transcripts_days: int = Field(
        90,
        ge=0,
        description="words of ended calls (transcripts, heard text, texts in slots, hand-off context)",
    )
    numbers_days: int = Field(
        365,
        ge=0,
        description="phone numbers and names of ended calls and attempts, and of the contacts of campaigns "
        "completed or stopped that long ago (replaced by anonymous tokens; counts stay)",
    )
    webhook_events_days: int = Field(
        30, ge=0, description="CRM outbox events no longer pending (with their log)"
    )
    callbacks_days: int = Field(30, ge=0, description="callback tasks that were due that long ago")
    tracker_days: int = Field(
        7,
        ge=0,
        description="conversations in an SQL Rasa tracker store (the call's state lives on in its row)",
    )
    audit_days: int = Field(1825, ge=0, description="audit log entries")
    every_minutes: float = Field(60.0, gt=0, le=24 * 60, description="how often the service applies them")


class PrivacySettings(BaseModel):
    """The `privacy` section of `voicebot.yml`: how long each kind of personal data is kept (days; 0 keeps it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    retention: RetentionSettings = RetentionSettings()


class LogSettings(_Section):
    level: str = "INFO"


class Settings(_Section):
    paths: PathsSettings = PathsSettings()
    rasa: RasaSettings = RasaSettings()
    api: ApiSettings = ApiSettings()
    log: LogSettings = LogSettings()
    storage: StorageSettings = StorageSettings()
    contacts: ContactsSettings = ContactsSettings()
    dialer: DialerSettings = DialerSettings()
    voice: VoiceSettings = VoiceSettings()
    telephony: TelephonySettings = TelephonySettings()
    calls: CallsSettings = CallsSettings()
    dashboard: DashboardSettings = DashboardSettings()
    handoff: HandoffSettings = HandoffSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    privacy: PrivacySettings = PrivacySettings()

    @property
    def database_url(self) -> str:
        """The storage URL, defaulting to the SQLite file under the data directory."""
        return self.storage.url or f"sqlite:///{self.paths.data_dir / 'voicebot.db'}"

    @property
    def rasa_dir(self) -> Path:
        """Where the compiled Rasa project and its trained models live."""
        return self.paths.data_dir / "rasa"


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the YAML file (if any), apply environment overrides and validate."""
    environ = dict(os.environ) if environ is None else environ
    path = path or Path(environ.get("VOICEBOT_CONFIG", "voicebot.yml"))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        except YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections (paths, rasa, api, log)")
    for key, value in environ.items():
        if key.startswith(ENV_PREFIX) and "__" in key:
            section, _, name = key[len(ENV_PREFIX) :].lower().partition("__")
            data.setdefault(section, {})[name] = value
    _check_agent_names(data, path)
    try:
        decrypt_config(data, environ)
    except SecretKeyError as exc:
        raise ConfigError(f"telephony.password: {exc}") from exc
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"invalid configuration ({path} and {ENV_PREFIX}* variables): {problems}") from exc


def _check_agent_names(data: dict[str, Any], path: Path) -> None:
    """Every name a queue's `agents:` lists must be declared under `handoff.agents`: a `file:line` error if not."""
    handoff = data.get("handoff")
    if not isinstance(handoff, dict) or not isinstance(handoff.get("queues"), dict):
        return
    agents = handoff.get("agents")
    declared = sorted(agents) if isinstance(agents, dict) else []
    for queue, settings in handoff["queues"].items():
        names = settings.get("agents") if isinstance(settings, dict) else None
        for index, name in enumerate(names if isinstance(names, list) else []):
            if name not in declared:
                where = _position(path, ("handoff", "queues", queue, "agents"), index)
                raise ConfigError(
                    f"{where}: queue {queue!r} names agent {name!r}, which handoff.agents does not declare"
                    f" (expected one of: {', '.join(declared) or 'none declared'})"
                )


def _position(path: Path, keys: tuple[str, ...], index: int) -> str:
    """`file:line` of item `index` of the list at `keys` in the YAML file (just the file if not found there)."""
    try:
        node = YAML().load(path.read_text(encoding="utf-8")) if path.exists() else None
        for key in keys:
            node = node[key]
        line, _ = node.lc.item(index)
    except (YAMLError, KeyError, TypeError, AttributeError, IndexError):
        return str(path)
    return f"{path}:{line + 1}"
