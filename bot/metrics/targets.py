"""The outcomes that count as a conversion: a campaign's `target_outcomes`, else its script's `goal`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ruamel.yaml import YAML, YAMLError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import Campaign


@dataclass(frozen=True)
class Targets:
    """Conversion outcomes per script (its `goal`) and per campaign (its rules' `target_outcomes`)."""

    goals: Mapping[str, str] = field(default_factory=dict)
    campaigns: Mapping[int, frozenset[str]] = field(default_factory=dict)

    def of(self, script: str, campaign_id: int | None) -> frozenset[str]:
        chosen = self.campaigns.get(campaign_id) if campaign_id is not None else None
        if chosen:
            return chosen
        goal = self.goals.get(script)
        return frozenset((goal,)) if goal else frozenset()


@lru_cache(maxsize=256)
def _goal(path: Path, _mtime_ns: int) -> str | None:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError):
        return None  # a broken script is reported by `voicebot dialogs check`, not here
    goal = data.get("goal") if isinstance(data, dict) else None
    return goal if isinstance(goal, str) else None


def script_goals(dialogs_dir: Path) -> dict[str, str]:
    """`goal` of every script in `dialogs_dir` that declares one (files re-read only when they change)."""
    goals = {}
    for path in sorted(dialogs_dir.glob("*.yml")):
        if path.name.startswith("_"):
            continue
        goal = _goal(path, path.stat().st_mtime_ns)
        if goal:
            goals[path.stem] = goal
    return goals


def load_targets(session: Session, dialogs_dir: Path) -> Targets:
    campaigns = {
        campaign_id: frozenset(rules.get("target_outcomes") or ())
        for campaign_id, rules in session.execute(select(Campaign.id, Campaign.rules))
    }
    return Targets(script_goals(dialogs_dir), {k: v for k, v in campaigns.items() if v})
