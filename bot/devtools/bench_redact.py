"""`voicebot bench redact`: what redaction costs and what it wrongly masks — every caller phrase of the held-out
conversation sets (`bench/dialogs`, `bench/dialogs-unseen`: amounts, dates, times, order numbers, no identifiers)
through `redact`, counting the phrases it changes (each one is over-redaction), and the time per phrase and per
log line."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ruamel.yaml import YAML

from bot.config import ROOT
from bot.core.stats import nearest_rank_or_nan
from bot.privacy.redact import redact

SETS = ("bench/dialogs", "bench/dialogs-unseen")
LOG_LINE = (
    "12:03:04.123 INFO    bot.calls.bridge: call 0f3c2a9b turn 4 text 'двадцать пятого в четырнадцать тридцать "
    "пятнадцать тысяч' {'asr_final': 312, 'dialog_decision': 14, 'first_tts_audio': 120}"
)


def caller_phrases(root: Path = ROOT) -> list[tuple[str, str]]:
    """(language, phrase) of every spoken caller turn in the held-out conversation sets."""
    phrases = []
    for folder in SETS:
        for path in sorted((root / folder).glob("*/*.yml")):
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
            for conversation in data.get("conversations") or []:
                for turn in conversation.get("caller") or []:
                    said = turn if isinstance(turn, str) else next(iter(turn.values()), None)
                    if isinstance(said, str) and not (
                        isinstance(turn, dict) and {"dtmf", "silence"} & set(turn)
                    ):
                        phrases.append((data["lang"], said))
    return phrases


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voicebot bench redact", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="times every phrase is redacted (default 5)")
    rounds = parser.parse_args(args).rounds
    phrases = caller_phrases()
    first, changed = [], []
    for lang, text in phrases:
        started = time.perf_counter()
        masked = redact(text, lang).text
        first.append(1000 * (time.perf_counter() - started))
        if masked != text:
            changed.append((lang, text, masked))
    times = []
    for _ in range(rounds):
        for lang, text in phrases:
            started = time.perf_counter()
            redact(text, lang)
            times.append(1000 * (time.perf_counter() - started))
    per_language = {lang: sum(1 for lg, _ in phrases if lg == lang) for lang in ("ru", "en")}
    print(
        f"caller phrases: {len(phrases)} ({per_language['ru']} ru, {per_language['en']} en) from {', '.join(SETS)}"
    )
    print(f"changed by redaction (over-redaction): {len(changed)}")
    for lang, text, masked in changed:
        print(f"  {lang}: {text!r} -> {masked!r}")
    print(
        f"per phrase, first time seen: p50 {statistics.median(first):.3f} ms, p95 {nearest_rank_or_nan(first, 95):.3f} ms, "
        f"max {max(first):.2f} ms"
    )
    print(
        f"per phrase, seen before (word caches warm): p50 {statistics.median(times):.3f} ms, "
        f"p95 {nearest_rank_or_nan(times, 95):.3f} ms ({rounds} rounds)"
    )
    spent = []
    for i in range(1000):
        started = time.perf_counter()
        redact(f"{LOG_LINE} #{i}", None)
        spent.append(1000 * (time.perf_counter() - started))
    print(f"log line ({len(LOG_LINE)} chars, language unknown): p50 {statistics.median(spent):.3f} ms")
    return 0
