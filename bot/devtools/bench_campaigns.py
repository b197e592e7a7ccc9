"""Benchmarks of the campaign engine: contact import speed and dialer scheduling throughput (SQLite by default).

    voicebot bench campaigns [--rows 100000] [--contacts 1000000] [--url sqlite:///...]

Import: a Windows-1251 `;` CSV as Russian Excel writes it, parsed, normalised and stored. Scheduling: every
contact of a debt campaign is due at a moment when all their zones are outside the legal window, so each
scheduling decision is a real one (time zones, rest days, 230-FZ history lookup, deferral written back).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.rules import CampaignRules, Preset
from bot.campaigns.simulated import ScriptedPlacer
from bot.config import DialerSettings
from bot.contacts.importer import ColumnMapping, ImportReport, import_table, open_table, store_contacts
from bot.core.clock import SimulatedClock
from bot.core.phones import PhoneNormalizer
from bot.storage.db import Database

MOBILE_CODES = (903, 905, 909, 915, 916, 925, 926, 929, 977, 985, 999)
ZONES = ("Europe/Moscow", "Asia/Novosibirsk", "Asia/Vladivostok", "Europe/Kaliningrad", "Asia/Yekaterinburg")
NIGHT = datetime(2025, 3, 4, 20, 30, tzinfo=UTC)  # after 22:00 or before 08:00 in every zone above


def _csv(rows: int, rng: random.Random) -> bytes:
    lines = ["ФИО;Телефон;Сумма;Дата платежа"]
    for i in range(rows):
        code = rng.choice(MOBILE_CODES)
        number = rng.randrange(10**6, 10**7)
        lines.append(
            f"Клиент {i};8 ({code}) {number // 10000}-{number // 100 % 100:02d}-{number % 100:02d};{i % 9000};15.03"
        )
    return ("\n".join(lines) + "\n").encode("cp1251")


def bench_import(db: Database, rows: int, repeats: int = 3) -> float:
    """Rows per second for parse + normalise + store into a fresh campaign; the best of `repeats` runs."""
    data = _csv(rows, random.Random(1))
    best = 0.0
    for _ in range(repeats):
        with db.session() as session:
            campaign = service.create(
                session, service.CampaignSpec(name="import", script="s"), {"s"}, NIGHT
            ).id
        start = time.perf_counter()
        with db.session() as session:
            table = open_table(data, ColumnMapping())
            report = import_table(session, campaign, table, PhoneNormalizer("RU"), NIGHT)
        elapsed = time.perf_counter() - start
        best = max(best, rows / elapsed)
        print(
            f"import: {rows} rows ({report.created} new, {report.merged} merged, {len(report.errors)} bad) "
            f"in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s"
        )
    return best


def bench_scheduling(db: Database, contacts: int) -> float:
    """Scheduling decisions per second over `contacts` due contacts of a debt campaign."""
    rules = CampaignRules(preset=Preset.DEBT_230FZ, max_concurrent=10)
    with db.session() as session:
        spec = service.CampaignSpec(name="scheduling", script="s", rules=rules)
        campaign = service.create(session, spec, {"s"}, NIGHT).id
        service.apply(session, campaign, service.Action.START, NIGHT)
    start = time.perf_counter()
    contacts_by_phone = {
        f"+7916{i:07d}": {
            "phone": f"+7916{i:07d}",
            "name": "",
            "timezones": ZONES[i % len(ZONES)],
            "variables": {},
        }
        for i in range(contacts)
    }
    with db.session() as session:
        store_contacts(session, campaign, contacts_by_phone, NIGHT, ImportReport())
    print(f"setup: {contacts} contacts inserted in {time.perf_counter() - start:.1f} s")
    dialer = Dialer(db, ScriptedPlacer(), SimulatedClock(NIGHT), DialerSettings(batch_size=5000))
    start = time.perf_counter()
    asyncio.run(dialer.tick())
    elapsed = time.perf_counter() - start
    print(
        f"scheduling: {dialer.decisions} decisions in {elapsed:.2f} s = {dialer.decisions / elapsed:,.0f} decisions/s"
    )
    return dialer.decisions / elapsed


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks; exit code 1 if a goal (50k rows/s, 10k decisions/s) is missed."""
    parser = argparse.ArgumentParser(prog="voicebot bench campaigns", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="CSV rows to import")
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts to schedule")
    parser.add_argument("--url", default="", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="voicebot-bench-") as tmp:
        db = Database(args.url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.migrate()
        rows_per_second = bench_import(db, args.rows)
        decisions_per_second = bench_scheduling(db, args.contacts)
        db.dispose()
    ok = rows_per_second >= 50_000 and decisions_per_second >= 10_000
    print(
        f"best import {rows_per_second:,.0f} rows/s, scheduling {decisions_per_second:,.0f} decisions/s; "
        f"goals (50,000 rows/s, 10,000 decisions/s): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
