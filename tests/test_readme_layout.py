"""README's layout table names every folder a newcomer meets: each top-level folder of the repository, each package
and top-level module of `bot/`, and each folder of `bench/`."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_LISTED = {"var", "node_modules", "build", "dist"}  # made by tools or by running the product


def _layout_paths() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1].split("\n\n", 2)[1]
    return {
        path.rstrip("/")
        for row in table.splitlines()
        for path in re.findall(r"`([^`\s]+)`", row.split("|")[1])
    }


def _tracked_dirs(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_dir()
        and not p.name.startswith((".", "_"))
        and p.name not in NOT_LISTED
        and not p.name.endswith(".egg-info")
    )


def test_the_layout_table_names_every_folder_and_bot_module():
    listed = _layout_paths()
    expected = {p.name for p in _tracked_dirs(ROOT)}
    expected |= {f"bot/{p.name}" for p in _tracked_dirs(ROOT / "bot")}
    expected |= {f"bot/{p.name}" for p in (ROOT / "bot").glob("*.py") if p.name != "__init__.py"}
    expected |= {f"bench/{p.name}" for p in _tracked_dirs(ROOT / "bench")}
    named = listed | {path.split("/", 1)[0] for path in listed}  # `bot/calls/` names `bot` too
    missing = sorted(expected - named)
    assert not missing, f"README's layout table does not name: {missing}"
