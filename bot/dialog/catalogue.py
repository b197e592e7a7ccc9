"""The scripts of a deployment: every `dialogs/*.yml` loaded, merged with `_common.yml` and checked."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML, YAMLError

from bot.dialog.checks import check_script, queue_errors
from bot.dialog.loader import COMMON_FILE, ScriptError, ScriptErrors, load_common, load_script
from bot.dialog.model import Script


@dataclass
class Catalogue:
    """Valid scripts by id, and the errors of the ones that are not."""

    scripts: dict[str, Script] = field(default_factory=dict)
    errors: list[ScriptError] = field(default_factory=list)

    def get(self, script_id: str) -> Script:
        if script_id not in self.scripts:
            bad = [e for e in self.errors if e.file.stem == script_id]
            if bad:
                raise ScriptErrors(bad)
            known = ", ".join(sorted(self.scripts)) or "none"
            raise KeyError(f"no script '{script_id}' (scripts: {known})")
        return self.scripts[script_id]


def trained_intents(training_data_dir: Path) -> set[str]:
    """Intent names defined in the Rasa NLU files under `training_data/`."""
    intents: set[str] = set()
    for path in sorted(training_data_dir.rglob("*.yml")):
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        except YAMLError:
            continue  # `voicebot train` reports broken training files; here they just add no intents
        intents.update(item["intent"] for item in data.get("nlu", []) if "intent" in item)
    return intents


def load_catalogue(
    dialogs_dir: Path,
    training_data_dir: Path,
    paths: list[Path] | None = None,
    queues: Collection[str] | None = None,
) -> Catalogue:
    """Load and check the scripts in `dialogs_dir` (or just `paths`), collecting every error found.

    Given the configured agent `queues`, every queue a script transfers to must be one of them."""
    catalogue = Catalogue()
    intents = trained_intents(training_data_dir)
    common_path = dialogs_dir / COMMON_FILE
    common_source = None
    if common_path.exists():
        try:
            _, common_source = load_common(common_path)  # validated on its own, merged into each script
        except ScriptErrors as exc:
            catalogue.errors.extend(exc.errors)
    files = paths or sorted(p for p in dialogs_dir.glob("*.yml") if not p.name.startswith("_"))
    for path in files:
        try:
            script, source = load_script(path, common_source)
        except ScriptErrors as exc:
            catalogue.errors.extend(exc.errors)
            continue
        intents_here = intents | {script.faq_intent(entry) for entry in script.faq}
        problems = check_script(script, source, intents_here)
        if queues is not None:
            problems += queue_errors(script, source, queues)
        if script.id != path.stem:
            problems.insert(
                0, source.error(("id",), f"id '{script.id}' must match the file name '{path.stem}'")
            )
        if problems:
            catalogue.errors.extend(problems)
        else:
            catalogue.scripts[script.id] = script
    return catalogue
