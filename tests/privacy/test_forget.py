"""`forget` leaves no trace of the number in any table (the SQLite file itself, or a PostgreSQL dump), in the
recordings folder or in the log, keeps the metrics' counts equal, keeps the opt-out as a hash, and writes one audit
entry; `export` hands over everything first (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from loguru import logger
from sqlalchemy import select

from bot.api.auth import Scope, create_key
from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from bot.config import PathsSettings, Settings
from bot.contacts import dnc
from bot.contacts.upload_check import IssueKind, check_numbers, listed_numbers
from bot.core.phones import PhoneNormalizer
from bot.log import redact_record
from bot.storage.db import Database
from bot.storage.models import Contact
from bot.web import create_app
from tests.privacy.people import BYSTANDER, PERSON, database_bytes, metrics_of, person_traces, write_history
from voice.config import VoiceSettings


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The service's log as `voicebot serve` writes it (identifiers masked), into a file for the test to grep."""
    path = tmp_path / "voicebot.log"
    logger.configure(patcher=redact_record)
    sink = logger.add(path, level="DEBUG")
    yield path
    logger.remove(sink)
    logger.configure(patcher=None)


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=tmp_path),
        voice=VoiceSettings(recordings_dir=tmp_path / "recordings"),
    )
    app = create_app(settings, db=db)
    with db.session() as session:
        key = create_key(session, "dpo", [Scope.ADMIN], datetime.now(UTC))[1]
    with TestClient(app) as test_client:
        yield test_client, {"X-API-Key": key}


async def test_forget_leaves_no_trace_of_the_number_and_keeps_the_counts(
    client, db, tmp_path, log_file
) -> None:
    test_client, admin = client
    recordings = tmp_path / "recordings"
    history = await write_history(db, recordings)
    assert person_traces(database_bytes(db)) and person_traces(
        b"".join(p.read_bytes() for p in recordings.iterdir())
    )
    before = metrics_of(test_client, admin, history)

    # export first: everything about the person, nothing about the bystander
    exported = test_client.post("/api/v1/privacy/export", json={"phone": "8 (916) 123-45-67"}, headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    person = json.loads(archive.read("person.json"))
    counts = {kind: len(person[kind]) for kind in ("contacts", "attempts", "calls", "handoffs", "callbacks")}
    assert counts == {"contacts": 1, "attempts": 1, "calls": 2, "handoffs": 1, "callbacks": 1}
    assert len(person["do_not_call"]) == 1 and person["events"]
    assert sorted(
        name.removeprefix("recordings/") for name in archive.namelist() if name != "person.json"
    ) == [f"{call_id}{suffix}" for call_id in sorted(history.person_calls) for suffix in (".json", ".wav")]
    assert BYSTANDER[2:] not in archive.read("person.json").decode()

    forgotten = test_client.post("/api/v1/privacy/forget", json={"phone": PERSON[1:]}, headers=admin)
    assert forgotten.status_code == 200, forgotten.text
    report = forgotten.json()
    assert report["rows"]["calls"] == 2 and report["files_deleted"] == 4 and report["person"].startswith("#")

    # no trace: database, recordings folder, log
    assert person_traces(database_bytes(db)) == []
    assert sorted(path.stem for path in recordings.iterdir()) == sorted(history.bystander_calls * 2)
    assert person_traces(b"".join(path.read_bytes() for path in recordings.iterdir())) == []
    assert log_file.read_text() and person_traces(log_file.read_text()) == []
    # the bystander is untouched
    assert BYSTANDER[1:] in database_bytes(db).decode("utf-8", "replace")
    # counts stay right
    assert metrics_of(test_client, admin, history) == before
    # the opt-out still holds, as a hash
    with db.session() as session:
        assert dnc.is_blocked(session, PERSON, history.campaign_id)
        contact = Contact(
            campaign_id=history.campaign_id, phone=PERSON, name="", variables={}, state="pending"
        )
        session.add(contact)
        session.flush()
        assert dnc.block_listed(session, history.campaign_id) == {PERSON}
        listed = listed_numbers(session, None)  # the dashboard's do-not-call upload sees it listed already
    preview = check_numbers([["8 916 123 45 67"]], 0, PhoneNormalizer("RU"), listed)
    assert [(issue.kind, issue.value) for issue in preview.issues] == [(IssueKind.ALREADY_LISTED, PERSON)]
    # one audit entry, naming the person by the hash only
    log = test_client.get("/api/v1/audit", headers=admin).json()
    assert [(e["action"], e["target"]) for e in log[:2]] == [
        ("privacy.forget", report["person"]),
        ("privacy.export", report["person"]),
    ]
    assert log[0]["actor"].startswith("key:") and log[0]["detail"]["rows"]["calls"] == 2


def test_privacy_requests_need_an_admin_and_a_phone(client) -> None:
    test_client, admin = client
    assert test_client.post("/api/v1/privacy/forget", json={"phone": PERSON}).status_code == 401
    bad = test_client.post("/api/v1/privacy/forget", json={"phone": "not a number"}, headers=admin)
    assert bad.status_code == 422 and "phone" in bad.text
    with TestClient(test_client.app) as other:
        with test_client.app.state.db.session() as session:
            reader = create_key(session, "crm", [Scope.WRITE], datetime.now(UTC))[1]
        denied = other.post("/api/v1/privacy/export", json={"phone": PERSON}, headers={"X-API-Key": reader})
        assert denied.status_code == 403


async def test_forgetting_someone_unknown_changes_nothing_but_the_audit_log(client, db, tmp_path) -> None:
    test_client, admin = client
    await write_history(db, tmp_path / "recordings")
    report = test_client.post("/api/v1/privacy/forget", json={"phone": "+79990001122"}, headers=admin).json()
    assert set(report["rows"].values()) == {0} and report["files_deleted"] == 0
    with db.session() as session:
        assert sorted(session.scalars(select(Contact.phone))) == sorted([PERSON, BYSTANDER])


async def test_a_person_with_a_call_up_is_not_forgotten_until_it_ends(client, db, tmp_path) -> None:
    test_client, admin = client
    await write_history(db, tmp_path / "recordings")
    store = CallStore(db)
    await store.started(CallStart("live-1", "inbound", PERSON, "74951112233", "inbound", "ru"))
    await store.answered("live-1")
    busy = test_client.post("/api/v1/privacy/forget", json={"phone": PERSON}, headers=admin)
    assert busy.status_code == 409 and "once the call has ended" in busy.json()["detail"]
    with db.session() as session:
        assert PERSON in session.scalars(select(Contact.phone)).all()
    await store.ended("live-1", CallResult(outcome="completed"))
    assert (
        test_client.post("/api/v1/privacy/forget", json={"phone": PERSON}, headers=admin).status_code == 200
    )
