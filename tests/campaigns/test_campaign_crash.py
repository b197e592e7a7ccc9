"""Exactly-once dialling across a crash: the dialer process is SIGKILLed mid-flight and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time as walltime
from collections import Counter
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.campaigns import service
from bot.campaigns.rules import CampaignRules, Hours
from bot.storage.db import Database
from bot.storage.models import Attempt, Contact

CONTACTS = 40
ALL_DAY = Hours(start=time(0), end=time(23, 59, 59))
RUN = "from bot.cli import app; import bot.cli.campaigns; app()"


def dialer_process(
    data_dir: Path, dial_log: Path, anchor: datetime, exit_when_done: bool
) -> subprocess.Popen:
    args = ["campaigns", "run", "--simulate", "--call-seconds", "0.4", "--dial-log", str(dial_log)]
    args += ["--time-scale", "120", "--time-anchor", anchor.isoformat()]  # a retry minute lasts half a second
    if exit_when_done:
        args.append("--exit-when-done")
    env = os.environ | {"VOICEBOT_PATHS__DATA_DIR": str(data_dir), "VOICEBOT_DIALER__TICK_SECONDS": "6"}
    return subprocess.Popen([sys.executable, "-c", RUN, *args], env=env, stderr=subprocess.PIPE, text=True)


def dials(dial_log: Path) -> list[dict]:
    if not dial_log.exists():
        return []
    return [json.loads(line) for line in dial_log.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_sigkill_mid_flight_then_restart_dials_each_attempt_once_and_loses_no_contact(tmp_path: Path) -> None:
    data_dir, dial_log = tmp_path / "var", tmp_path / "dials.jsonl"
    db = Database(f"sqlite:///{data_dir / 'voicebot.db'}")
    db.migrate()
    anchor = datetime.now(UTC)
    rules = CampaignRules(
        working_hours=ALL_DAY,
        rest_day_hours=ALL_DAY,
        max_concurrent=6,
        pacing_cps=0.05,
        retry_minutes={"failed": 1},
    )
    with db.session() as session:
        campaign = service.create(
            session, service.CampaignSpec(name="crash", script="s", rules=rules), {"s"}, anchor
        )
        for i in range(CONTACTS):
            session.add(
                Contact(
                    campaign_id=campaign.id,
                    phone=f"+7916555{i:04d}",
                    timezones="UTC",
                    variables={},
                    state="pending",
                    attempts=0,
                    next_attempt_at=anchor,
                )
            )
        service.apply(session, campaign.id, service.Action.START, anchor)

    first = dialer_process(data_dir, dial_log, anchor, exit_when_done=False)
    deadline = walltime.monotonic() + 30
    while len(dials(dial_log)) < 12 and walltime.monotonic() < deadline:
        walltime.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    with db.session() as session:
        in_flight = set(session.scalars(select(Attempt.id).where(Attempt.state == "in_flight")))
    assert in_flight, "the kill should land while calls are up"
    before_restart = {d["attempt_id"] for d in dials(dial_log)}

    second = dialer_process(data_dir, dial_log, anchor, exit_when_done=True)
    _, stderr = second.communicate(timeout=90)
    assert second.returncode == 0, stderr

    log = dials(dial_log)
    assert not [a for a, n in Counter(d["attempt_id"] for d in log).items() if n > 1], (
        "an attempt dialled twice"
    )
    with db.session() as session:
        attempts = {a.id: a for a in session.scalars(select(Attempt))}
        states = Counter(session.scalars(select(Contact.state)))
    assert {d["attempt_id"] for d in log} <= set(attempts), "a call placed without a claimed attempt"
    assert states == Counter({"done": CONTACTS}), "a contact was forgotten"
    for attempt_id in in_flight:
        interrupted = attempts[attempt_id]
        assert interrupted.state == "interrupted"
        retried = [
            a for a in attempts.values() if a.contact_id == interrupted.contact_id and a.id != attempt_id
        ]
        assert [a.state for a in retried] == ["done"]
        assert retried[0].id not in before_restart
    assert Counter(a.state for a in attempts.values()) == Counter(
        {"done": CONTACTS, "interrupted": len(in_flight)}
    )
    dialled_contacts = Counter(d["contact_id"] for d in log)
    assert len(dialled_contacts) == CONTACTS
    db.dispose()
