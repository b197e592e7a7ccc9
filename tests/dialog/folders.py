"""A dialogs folder for script-checking tests: the shipped common handlers beside training data that knows every
public intent (one example each), so a test's own script is checked as the catalogue checks shipped ones."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.outcomes import Intent

ROOT = Path(__file__).resolve().parents[2]


def dialogs_folder(tmp_path: Path) -> Path:
    """`tmp_path/dialogs` with `_common.yml`, and `tmp_path/training_data/nlu.yml`; returns the dialogs folder."""
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    shutil.copy(ROOT / "dialogs" / "_common.yml", dialogs)
    training = tmp_path / "training_data"
    training.mkdir()
    nlu = "".join(f"- intent: {intent}\n  examples: |\n    - {intent}\n" for intent in Intent)
    (training / "nlu.yml").write_text(f'version: "3.1"\nnlu:\n{nlu}', encoding="utf-8")
    return dialogs


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line containing `fragment`."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if fragment in line]
    assert len(lines) == 1, f"{fragment!r} is on lines {lines}"
    return lines[0]
