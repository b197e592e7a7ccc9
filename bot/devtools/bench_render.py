"""`voicebot bench render`: the cost of speaking values as words — every prompt of every shipped script, in each
of its languages, rendered by the engine with sample values (the work the action server does per robot turn)."""

from __future__ import annotations

import argparse
import statistics
import time

from bot.config import ROOT
from bot.core.stats import nearest_rank_or_nan
from bot.dialog.catalogue import load_catalogue
from bot.dialog.checks import _texts
from bot.dialog.engine import DialogEngine, new_state
from bot.dialog.prompts import SAMPLES
from voice.spoken import normalise_text, warm_up

AUTHOR_TEXT = {
    "ru": "Оплатите 10 500 рублей до 15.12 в течение 2 недель, с 9:00 до 18:00, телефон +7 912 345-67-89.",
    "en": "Pay $10,500 by December 15 within 2 weeks, 9:00 AM to 6:00 PM, phone +1 212 555 0100.",
}


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voicebot bench render", description=__doc__)
    parser.add_argument("--rounds", type=int, default=50, help="times every prompt is rendered (default 50)")
    rounds = parser.parse_args(args).rounds

    started = time.perf_counter()
    warm_up()
    print(f"dictionaries loaded: {1000 * (time.perf_counter() - started):.0f} ms (once per process)")
    catalogue = load_catalogue(ROOT / "dialogs", ROOT / "training_data")
    jobs = []
    for script in catalogue.scripts.values():
        engine = DialogEngine(script)
        for lang in script.languages:
            variables = {name: SAMPLES.get(v.type, "Анна") for name, v in script.variables.items()}
            state = new_state(script, lang, variables)
            for name, kind in script.slot_types().items():
                state.values.setdefault(name, SAMPLES.get(kind, "Анна"))
            jobs += [
                (engine, state, text)
                for path, text in _texts(script)
                if path[-1] not in ("title", "examples")
            ]

    first = _timed(jobs)
    times = [t for _ in range(rounds) for t in _timed(jobs)]
    print(f"prompts: {len(jobs)} (all shipped scripts and languages), rendered {rounds + 1} times")
    print(f"first pass: {sum(first):.1f} ms in all, max {max(first):.2f} ms a prompt")
    print(
        f"per prompt: p50 {statistics.median(times):.3f} ms, p95 {nearest_rank_or_nan(times, 95):.3f} ms, max {max(times):.2f} ms; "
        f"{1000 * len(times) / sum(times):.0f} prompts/s on one core"
    )
    for lang, text in AUTHOR_TEXT.items():
        spent = []
        for _ in range(rounds):
            started = time.perf_counter()
            normalise_text(text, lang)
            spent.append(1000 * (time.perf_counter() - started))
        print(
            f"normalise_text ({lang}, {len(text)} chars with 6 numbers): p50 {statistics.median(spent):.3f} ms"
        )
    return 0


def _timed(jobs: list) -> list[float]:
    spent = []
    for engine, state, text in jobs:
        started = time.perf_counter()
        engine.render(state, text)
        spent.append(1000 * (time.perf_counter() - started))
    return spent
