"""`voicebot bench nlu`: intent accuracy and confusions on held-out phrases, and turn latency.

The held-out sets (`bench/nlu_heldout/{ru,en}.yml`) are never used for training. Latency is measured twice:
NLU alone (`/model/parse`) and a whole dialog turn (REST message → NLU → rule → action server → turn engine →
reply), which is what a caller waits for between end of speech and the robot's decision.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML

from bot.core.stats import nearest_rank_or_nan
from bot.dialog.catalogue import Catalogue
from bot.dialog.engine import new_state
from bot.rasa.client import RasaClient
from bot.rasa.conversation import Conversation

HELDOUT_DIR = Path("bench") / "nlu_heldout"
LATENCY_TURNS = 200
NOT_UNDERSTOOD = {"out_of_scope", "nlu_fallback"}
REMINDER_VARIABLES = {"name": "Анна", "company": "Банк", "amount": "1000", "due_date": "2026-12-01"}


def read_heldout(path: Path) -> list[tuple[str, str]]:
    """(text, expected intent) pairs from a Rasa NLU file."""
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    pairs = []
    for item in data["nlu"]:
        for line in item["examples"].splitlines():
            if line.strip().startswith("- "):
                pairs.append((line.strip()[2:], item["intent"]))
    return pairs


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values):.1f} ms, p95 {nearest_rank_or_nan(values, 95):.1f} ms (n={len(values)})"


async def run(client: RasaClient, catalogue: Catalogue, root: Path) -> tuple[str, dict[str, float]]:
    """The report text and the accuracy per language."""
    out: list[str] = []
    accuracy: dict[str, float] = {}
    parse_ms: list[float] = []
    for lang in ("ru", "en"):
        pairs = read_heldout(root / HELDOUT_DIR / f"{lang}.yml")
        confusions: Counter[tuple[str, str]] = Counter()
        per_intent: Counter[str] = Counter()
        correct = understood = 0
        for text, expected in pairs:
            started = time.perf_counter()
            result = await client.parse(text)
            parse_ms.append((time.perf_counter() - started) * 1000)
            got = (result.get("intent") or {}).get("name")
            per_intent[expected] += 1
            if got == expected:
                correct += 1
            else:
                confusions[(expected, got)] += 1
            understood += got == expected or {got, expected} == NOT_UNDERSTOOD
        accuracy[lang] = correct / len(pairs)
        out.append(
            f"{lang}: intent accuracy {correct}/{len(pairs)} = {accuracy[lang]:.1%} on held-out phrases; "
            f"{understood / len(pairs):.1%} counting out_of_scope → nlu_fallback as right (both are a no-match)"
        )
        for (expected, got), count in confusions.most_common():
            out.append(f"    {expected:>16} → {got:<20} {count}/{per_intent[expected]}")
    out.append(f"NLU parse latency: {_ms(parse_ms)}")

    script = catalogue.get("reminder")
    turn_ms: list[float] = []
    while len(turn_ms) < LATENCY_TURNS:
        conversation = Conversation(client, new_state(script, "ru", REMINDER_VARIABLES))
        await conversation.start()
        for line in ("алло", "кто это", "повторите пожалуйста"):  # turns that keep the call going
            started = time.perf_counter()
            await conversation.say(line)
            turn_ms.append((time.perf_counter() - started) * 1000)
        await conversation.hangup()
    out.append(f"dialog turn latency (platform + Rasa + action server): {_ms(turn_ms)}")
    return "\n".join(out), accuracy
