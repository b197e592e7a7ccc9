"""`voicebot train`: compile the Rasa project and train one model, reusing it while the inputs are unchanged."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from bot.config import Settings
from bot.dialog.catalogue import Catalogue
from bot.rasa.compiler import compile_project
from bot.rasa.errors import RasaError


@dataclass(frozen=True)
class TrainedModel:
    path: Path
    fingerprint: str
    reused: bool
    seconds: float


def rasa_environment() -> dict[str, str]:
    """Rasa's process environment: no telemetry (no internet here), quiet TensorFlow."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore",
    }


def require_rasa(settings: Settings) -> Path:
    executable = settings.rasa.executable
    if not executable.exists():
        raise RasaError(f"Rasa is not installed at {executable}: run `make setup` (it creates the Rasa venv)")
    return executable


def train(settings: Settings, catalogue: Catalogue, project_dir: Path | None = None) -> TrainedModel:
    """Train (or reuse) the model for the current scripts and training data.

    The project is compiled into `project_dir` (default `<rasa_dir>/project`, the running Rasa server's working
    folder: a retraining while it runs, as the script studio's, compiles elsewhere)."""
    if catalogue.errors:
        raise RasaError(
            f"fix the script errors first (`voicebot dialogs check`): {len(catalogue.errors)} found"
        )
    project = compile_project(
        catalogue,
        settings.paths.training_data_dir,
        project_dir or settings.rasa_dir / "project",
        settings.rasa,
    )
    models = settings.rasa_dir / "models"
    model = models / f"{project.fingerprint}.tar.gz"
    if model.exists():
        return TrainedModel(model, project.fingerprint, reused=True, seconds=0.0)
    executable = require_rasa(settings)
    log_path = settings.rasa_dir / "train.log"
    logger.info(
        f"training Rasa model {project.fingerprint} ({len(project.intents)} intents), log: {log_path}"
    )
    started = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(
            [str(executable), "train", "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
             "--out", str(models), "--fixed-model-name", project.fingerprint],
            cwd=project.path, stdout=log, stderr=subprocess.STDOUT, env=rasa_environment(), check=False,
        )  # fmt: skip
    if result.returncode != 0 or not model.exists():
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise RasaError(f"rasa train failed (exit {result.returncode}); end of {log_path}:\n{tail}")
    return TrainedModel(model, project.fingerprint, reused=False, seconds=time.monotonic() - started)
