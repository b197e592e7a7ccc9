"""Property-based API test: schemathesis generates requests from the OpenAPI spec of every operation; no input
may cause a 5xx or a response that contradicts the spec, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from bot.api.auth import Scope, create_key
from bot.config import PathsSettings, Settings, StorageSettings
from bot.web import create_app
from tests.api.apiclient import Api


def app_with_admin_key(tmp_path: Path, database_url: str, key_name: str) -> tuple[FastAPI, str]:
    """The whole app on `database_url` with one (empty) script `reminder`, and a new admin API key for it."""
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    (dialogs / "reminder.yml").write_text("steps: {}\n", encoding="utf-8")
    app = create_app(
        Settings(
            paths=PathsSettings(data_dir=tmp_path / "var", dialogs_dir=dialogs),
            storage=StorageSettings(url=database_url),
        )
    )
    with app.state.db.session() as session:
        key = create_key(session, key_name, [Scope.ADMIN], datetime.now(UTC))[1]
    return app, key


def test_no_generated_request_makes_the_api_fail(tmp_path: Path, empty_database_url: str) -> None:
    app, key = app_with_admin_key(tmp_path, empty_database_url, "fuzz")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"X-API-Key": key}, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
    app.state.db.dispose()


def test_csv_download_of_a_script_named_outside_ascii(api: Api) -> None:
    """Found by the fuzzer: a script id outside latin-1 in a CSV's file name was a 500 (header not encodable)."""
    resp = api.client.get(
        "/api/v1/metrics/scripts/напоминание/steps", params={"format": "csv"}, headers=api.headers(Scope.READ)
    )
    assert resp.status_code == 200, resp.text
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.isascii()
    assert "filename*=UTF-8''steps-%D0%BD%D0%B0%D0%BF" in disposition


def test_text_the_database_cannot_store_is_a_422(tmp_path: Path, empty_database_url: str) -> None:
    """Found by probing what the fuzzer seldom generates: a NUL character in any text was a 500 on PostgreSQL."""
    app, key = app_with_admin_key(tmp_path, empty_database_url, "nul")
    headers = {"X-API-Key": key}
    with TestClient(app, raise_server_exceptions=False) as client:
        campaign = client.post(
            "/api/v1/campaigns", json={"name": "ok", "script": "reminder"}, headers=headers
        )
        answers = [
            client.post("/api/v1/campaigns", json={"name": "a\x00b", "script": "reminder"}, headers=headers),
            client.patch(
                f"/api/v1/campaigns/{campaign.json()['id']}", json={"name": "\x00"}, headers=headers
            ),
            client.post("/api/v1/dnc", json={"phone": "+79161234567", "reason": "r\x00"}, headers=headers),
            client.get("/api/v1/metrics", params={"script": "a\x00"}, headers=headers),
        ]
        pushed = client.post(
            f"/api/v1/campaigns/{campaign.json()['id']}/contacts",
            json={"contacts": [{"phone": "+79161234567", "name": "I\x00van"}]},
            headers=headers,
        )
    app.state.db.dispose()
    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
    if empty_database_url.startswith("postgresql"):
        assert [a.status_code for a in answers] == [422] * 4
        assert "cannot store" in answers[0].json()["detail"][0]["msg"]
    assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "skipped"
