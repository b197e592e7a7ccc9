"""Putting a saved script version live in the running dialog service.

The turn engine takes the new text at once (the next turn of a chat or a call of the live script uses it). When
the save changed what the NLU model is trained on (a step's example phrases, FAQ questions), the model is retrained
in the background and then loaded into the running Rasa (`PUT /model`); until then the previous model classifies
turns. `LiveUpdates.status` tells the page which of these it is in, with the training's progress.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from loguru import logger

from bot.config import Settings
from bot.dialog.catalogue import Catalogue
from bot.dialog.model import Script
from bot.rasa.client import RasaClient
from bot.rasa.compiler import compile_project
from bot.rasa.errors import RasaError
from bot.rasa.training import train

EPOCHS = re.compile(r"Epochs:\s+(\d+)%")


class LiveState(StrEnum):
    LIVE = "live"  # the engine and the model both serve the newest version
    TRAINING = "training"  # the engine has it; the model is training in the background
    LOADING = "loading"  # the new model is being loaded into Rasa
    FAILED = "failed"  # training or loading failed: the previous model still classifies turns


@dataclass
class LiveStatus:
    state: LiveState = LiveState.LIVE
    version: str = ""  # sha256 of the newest text put live
    model: str = ""  # the fingerprint of the model Rasa serves (or is training)
    progress: float = 1.0  # 0..1, the training's epochs
    seconds: float = 0.0  # how long the training has run
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state.value}


class RunningService(Protocol):
    """What a live update needs of the dialog service (`bot.dialog.service.DialogService`)."""

    settings: Settings
    catalogue: Catalogue
    client: RasaClient | None


class LiveUpdates:
    """Saved versions going live in one dialog service, one retraining at a time."""

    def __init__(self, service: RunningService):
        self.service = service
        self.status: dict[str, LiveStatus] = {}
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def publish(self, script: Script, sha256: str) -> LiveStatus:
        """Serve `script` (version `sha256`) from the next turn on; retrain the model if its phrases changed."""
        self.service.catalogue.replace(script, sha256)
        status = self.status.setdefault(script.id, LiveStatus())
        status.version = sha256
        fingerprint = await asyncio.to_thread(self._fingerprint)
        if fingerprint == await self._served_model():
            status.state, status.model, status.progress, status.message = LiveState.LIVE, fingerprint, 1.0, ""
            return status
        status.state, status.model, status.progress, status.seconds = (
            LiveState.TRAINING,
            fingerprint,
            0.0,
            0.0,
        )
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retrain())
        return status

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _fingerprint(self) -> str:
        settings = self.service.settings
        with tempfile.TemporaryDirectory() as tmp:
            project = compile_project(
                self.service.catalogue, settings.paths.training_data_dir, Path(tmp) / "p", settings.rasa
            )
        return project.fingerprint

    async def _served_model(self) -> str:
        client = self.service.client
        if client is None:
            return ""
        status = await client.status()
        return Path(status.get("model_file", "")).name.removesuffix(".tar.gz")

    async def _retrain(self) -> None:
        """Train until the model matches the newest scripts (saves during a training start another round)."""
        settings = self.service.settings
        while True:
            waiting = [s for s in self.status.values() if s.state is LiveState.TRAINING]
            if not waiting:
                return
            started = time.monotonic()
            # compiled beside, not in, the running Rasa's working folder (`project`), which it must keep
            project = settings.rasa_dir / "studio-project"
            job = asyncio.create_task(asyncio.to_thread(train, settings, self.service.catalogue, project))
            log = settings.rasa_dir / "train.log"
            while not job.done():
                progress = _epochs(log)
                for status in waiting:
                    status.progress, status.seconds = progress, time.monotonic() - started
                await asyncio.wait({job}, timeout=0.5)
            try:
                model = job.result()
                for status in waiting:
                    status.state = LiveState.LOADING
                await self._load(model.path)
            except (RasaError, OSError) as exc:
                logger.error(f"script studio: the new model did not go live: {exc}")
                for status in waiting:
                    status.state, status.message = LiveState.FAILED, str(exc)[-500:]
                continue
            for status in waiting:
                if status.model == model.fingerprint:
                    status.state, status.progress, status.message = LiveState.LIVE, 1.0, ""
                else:  # saved again meanwhile: train once more
                    status.state = LiveState.TRAINING
            logger.info(f"script studio: model {model.fingerprint} live ({time.monotonic() - started:.0f} s)")

    async def _load(self, model: Path) -> None:
        client = self.service.client
        if client is None:
            raise RasaError("no dialog service is running")
        await client.load_model(model)
        rasa = getattr(self.service, "rasa", None)
        if rasa is not None:
            rasa.model = model  # a supervised restart loads the new model too


def _epochs(log: Path) -> float:
    """The training's progress from the last `Epochs: NN%` line Rasa wrote to its log."""
    try:
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 4096))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return 0.0
    found = EPOCHS.findall(tail)
    return int(found[-1]) / 100 if found else 0.0
