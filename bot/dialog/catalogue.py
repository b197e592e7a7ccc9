"""The scripts of a deployment: every `dialogs/*.yml` loaded, merged with `_common.yml` and checked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML, YAMLError

from bot.dialog.checks import check_script, queue_errors
from bot.dialog.loader import COMMON_FILE, ScriptError, ScriptErrors, Source, load_common, load_script
from bot.dialog.model import Script

OlderVersions = Callable[[str, str], str | None]
"""The text of a script's version by (script id, sha256), or None: where pinned versions come from."""


def text_hash(text: str) -> str:
    """A script version's name: the sha256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Catalogue:
    """Valid scripts by id, and the errors of the ones that are not.

    `hashes` names the version of each valid script (the sha256 of its file's text). A campaign pinned to an
    older version gets it from `version()`, which parses the text `older_versions` returns for it."""

    scripts: dict[str, Script] = field(default_factory=dict)
    errors: list[ScriptError] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    dialogs_dir: Path = Path("dialogs")
    common: Source | None = None
    older_versions: OlderVersions | None = None
    _pinned: dict[tuple[str, str], Script] = field(default_factory=dict, repr=False)

    def get(self, script_id: str) -> Script:
        if script_id not in self.scripts:
            bad = [e for e in self.errors if e.file.stem == script_id]
            if bad:
                raise ScriptErrors(bad)
            known = ", ".join(sorted(self.scripts)) or "none"
            raise KeyError(f"no script '{script_id}' (scripts: {known})")
        return self.scripts[script_id]

    def version(self, script_id: str, sha256: str) -> Script:
        """The script as it was at version `sha256` ("" or the current hash: the live script). Parsing is CPU
        work: call it from a thread in async code. KeyError when the version is unknown."""
        if not sha256 or sha256 == self.hashes.get(script_id):
            return self.get(script_id)
        if (script_id, sha256) not in self._pinned:
            text = self.older_versions(script_id, sha256) if self.older_versions else None
            if text is None:
                raise KeyError(f"no version {sha256[:12]} of script '{script_id}'")
            script, _ = load_script(self.dialogs_dir / f"{script_id}.yml", self.common, text)
            self._pinned[(script_id, sha256)] = script
        return self._pinned[(script_id, sha256)]

    def replace(self, script: Script, sha256: str) -> None:
        """Make a newly saved, checked version of a script the live one."""
        self.scripts[script.id] = script
        self.hashes[script.id] = sha256


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
    catalogue = Catalogue(dialogs_dir=dialogs_dir)
    intents = trained_intents(training_data_dir)
    common_path = dialogs_dir / COMMON_FILE
    common_source = None
    if common_path.exists():
        try:
            _, common_source = load_common(common_path)  # validated on its own, merged into each script
        except ScriptErrors as exc:
            catalogue.errors.extend(exc.errors)
    catalogue.common = common_source
    files = paths or sorted(p for p in dialogs_dir.glob("*.yml") if not p.name.startswith("_"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            catalogue.errors.append(ScriptError(path, 1, "the file is not UTF-8 text"))
            continue
        checked = check_text(path, text, common_source, intents, queues)
        if isinstance(checked, Script):
            catalogue.scripts[checked.id] = checked
            catalogue.hashes[checked.id] = text_hash(text)
        else:
            catalogue.errors.extend(checked)
    return catalogue


def check_text(
    path: Path,
    text: str,
    common_source: Source | None,
    intents: set[str],
    queues: Collection[str] | None = None,
) -> Script | list[ScriptError]:
    """Load and check one script's text (for the file `path`): the script, or every error found in it."""
    try:
        script, source = load_script(path, common_source, text)
    except ScriptErrors as exc:
        return exc.errors
    intents_here = intents | {script.faq_intent(entry) for entry in script.faq}
    problems = check_script(script, source, intents_here)
    if queues is not None:
        problems += queue_errors(script, source, queues)
    if script.id != path.stem:
        problems.insert(0, source.error(("id",), f"id '{script.id}' must match the file name '{path.stem}'"))
    return problems or script
