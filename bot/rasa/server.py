"""Start, health-check and supervise the Rasa server process (restarted if it dies)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
from pathlib import Path

import httpx
from loguru import logger
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.rasa.errors import RasaError
from bot.rasa.training import rasa_environment, require_rasa

RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)

# `rasa run`, started through the Rasa venv's Python so that two hot spots can be fixed first. Rasa checks
# every action-server reply (RemoteAction._validate_action_result) and every `tracker/events` body with
# `jsonschema.validate()`, which (jsonschema 4.17) re-validates the *schema* against the Draft 2020-12
# meta-schema on every call: ~55 ms of CPU per dialog turn and per conversation start here, most of a turn.
# The schemas are Rasa's constants, so the meta-schema check is done once per distinct schema; the instance
# is still validated every time, with the same errors raised as before.
# Second hot spot: the in-memory tracker store re-reads the whole conversation from JSON on every message,
# and each event's class is looked up by walking all Event subclasses (`Event.resolve_by_type`): ~30 µs
# per event, ~25% of Rasa's CPU after 100 turns. The lookup is memoised; unknown names take Rasa's own path.
RASA_MAIN = """
import json, sys
import jsonschema
from jsonschema import exceptions, validators

checked_schemas = set()

def validate(instance, schema, cls=None, *args, **kwargs):
    cls = cls or validators.validator_for(schema)
    key = (cls, json.dumps(schema, sort_keys=True, default=repr))
    if key not in checked_schemas:
        cls.check_schema(schema)
        checked_schemas.add(key)
    error = exceptions.best_match(cls(schema, *args, **kwargs).iter_errors(instance))
    if error is not None:
        raise error

jsonschema.validate = validators.validate = validate

from rasa.shared.core.events import Event

event_classes = {}
resolve_event_type = Event.resolve_by_type

def resolve_by_type(type_name, default=None):
    cls = event_classes.get(type_name)
    if cls is None:
        cls = resolve_event_type(type_name, default)
        if getattr(cls, "type_name", None) == type_name:
            event_classes[type_name] = cls
    return cls

Event.resolve_by_type = staticmethod(resolve_by_type)

from rasa.__main__ import main
sys.argv[0] = "rasa"
sys.exit(main())
"""


def token_path(settings: Settings) -> Path:
    """Where a running Rasa server's API token is kept for other local processes (`voicebot chat`)."""
    return settings.rasa_dir / "api-token"


def endpoints(settings: Settings) -> dict:
    """Rasa's endpoints.yml: the platform's action server, and the tracker store unless it is `memory`."""
    rasa = settings.rasa
    config: dict = {"action_endpoint": {"url": f"http://127.0.0.1:{rasa.action_port}/webhook"}}
    if rasa.tracker_store != "memory":
        config["tracker_store"] = {"type": "SQL", "url": rasa_sql_url(rasa.tracker_store)}
    return config


def rasa_sql_url(url: str) -> str:
    """An SQL URL as Rasa's SQLAlchemy 1.4 takes it: psycopg2 for PostgreSQL (the driver Rasa ships with), and
    absolute SQLite paths (Rasa runs in its project folder)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    elif parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database).absolute()))
    return parsed.render_as_string(hide_password=False)


class RasaServer:
    """One supervised `rasa run --enable-api` process serving a trained model on loopback."""

    def __init__(self, settings: Settings, model: Path):
        self.settings, self.model = settings, model
        self.token = secrets.token_urlsafe(16)
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Start Rasa and wait until its model is loaded; raise RasaError with the log's end if it fails."""
        rasa = self.settings.rasa
        if _port_in_use(rasa.host, rasa.port):
            raise RasaError(
                f"port {rasa.port} on {rasa.host} is already in use (another dialog service?); "
                "stop it or set VOICEBOT_RASA__PORT"
            )
        await self._spawn()
        path = token_path(self.settings)
        path.write_text(self.token)
        path.chmod(0o600)
        self._watcher = asyncio.create_task(self._watch(), name="rasa-supervisor")

    async def stop(self) -> None:
        self._stopping = True
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._terminate()
        token_path(self.settings).unlink(missing_ok=True)

    async def _spawn(self) -> None:
        executable = require_rasa(self.settings)
        rasa, project = self.settings.rasa, self.settings.rasa_dir / "project"
        runtime = self.settings.rasa_dir / "endpoints.yml"  # JSON is YAML; may hold a database password
        runtime.touch(mode=0o600)
        runtime.write_text(json.dumps(endpoints(self.settings), indent=2))
        log = (self.settings.rasa_dir / "rasa.log").open("a")
        python = executable.parent / "python"  # the venv's interpreter, next to its `rasa` script
        command = [str(python), "-c", RASA_MAIN] if python.exists() else [str(executable)]
        self._process = await asyncio.create_subprocess_exec(
            *command, "run", "--enable-api", "--model", str(self.model),
            "--interface", rasa.host, "--port", str(rasa.port), f"--auth-token={self.token}",  # a token may start with "-"
            "--endpoints", str(runtime), "--credentials", str(project / "credentials.yml"),
            cwd=project, stdout=log, stderr=asyncio.subprocess.STDOUT, env=rasa_environment(),
            start_new_session=True,
        )  # fmt: skip
        log.close()
        logger.info(f"Rasa starting (pid {self._process.pid}, model {self.model.name})")
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + self.settings.rasa.startup_timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while asyncio.get_running_loop().time() < deadline:
                if self._process.returncode is not None:
                    raise RasaError(
                        f"Rasa exited with code {self._process.returncode} while starting; {self._log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    response = await http.get(
                        f"{self.settings.rasa.url}/status", params={"token": self.token}
                    )
                    if response.status_code == 200 and response.json().get("model_file"):
                        logger.info(f"Rasa ready on {self.settings.rasa.url}")
                        return
                await asyncio.sleep(0.5)
        await self._terminate()
        raise RasaError(
            f"Rasa did not load its model within {self.settings.rasa.startup_timeout:.0f} s; {self._log_tail()}"
        )

    async def _watch(self) -> None:
        """Restart Rasa whenever it exits, backing off while it keeps failing."""
        while not self._stopping:
            code = await self._process.wait()
            if self._stopping:
                return
            delay = RESTART_BACKOFF[min(self.restarts, len(RESTART_BACKOFF) - 1)]
            self.restarts += 1
            logger.error(f"Rasa exited with code {code}; restart #{self.restarts} in {delay:.0f} s")
            await asyncio.sleep(delay)
            try:
                await self._spawn()
            except RasaError as exc:
                logger.error(str(exc))

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()

    def _log_tail(self) -> str:
        path = self.settings.rasa_dir / "rasa.log"
        lines = path.read_text(errors="replace").splitlines()[-8:] if path.exists() else []
        return f"end of {path}:\n" + "\n".join(lines)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0
