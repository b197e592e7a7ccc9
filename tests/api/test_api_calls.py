"""The call log, metrics (JSON and CSV) and Prometheus endpoints as a client sees them."""

from __future__ import annotations

import csv
import io
import wave
from pathlib import Path

from bot.api.auth import Scope
from bot.call_results.result import CallResult
from bot.call_results.store import CallStart, CallStore
from tests.api.apiclient import Api
from tests.metrics import builders as b

READ = "/api/v1"


def get(api: Api, path: str, **params):
    return api.client.get(READ + path, params=params, headers=api.headers(Scope.READ))


async def store_call(api: Api, call_id: str, recording: Path | None = None, **end) -> None:
    store = CallStore(api.client.app.state.db, node="n1")
    await store.started(
        CallStart(call_id, "inbound", caller="+79161234567", called="4951112233", script="reminder")
    )
    await store.answered(call_id)
    await store.ended(call_id, CallResult(recording=str(recording or ""), **end))


async def test_call_log_filters_search_detail_and_recording(api: Api, tmp_path: Path) -> None:
    wav = tmp_path / "c1.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(8000), out.writeframes(b"\0\0" * 800)
    transcript = [
        {"at": 0.5, "speaker": "robot", "text": "Здравствуйте!", "step": "greet"},
        {"at": 2.0, "speaker": "caller", "text": "Да, УЖЕ оплатил", "step": "greet", "event": "answered"},
    ]
    turns = [{"index": 1, "kind": "text", "heard": "да", "started": 2.0, "ms": {"first_audio_out": 640.0}}]
    await store_call(
        api, "c1", wav, outcome="already_paid", transcript=transcript, turns=turns, slots={"x": 1}
    )
    await store_call(api, "c2", outcome="refused")

    listed = get(api, "/calls").json()
    assert [c["call_id"] for c in listed] == ["c2", "c1"]
    assert listed[1]["recording"] == "/api/v1/calls/c1/recording" and listed[0]["recording"] is None
    assert [c["call_id"] for c in get(api, "/calls", q="уже оплатил").json()] == ["c1"]
    assert [c["call_id"] for c in get(api, "/calls", outcome="refused").json()] == ["c2"]
    assert get(api, "/calls", direction="outbound").json() == []
    assert get(api, "/calls", q="+79161234567", limit=1, offset=1).json()[0]["call_id"] == "c1"

    detail = get(api, "/calls/c1").json()
    assert (detail["outcome"], detail["slots"], detail["transcript"]) == (
        "already_paid",
        {"x": 1},
        transcript,
    )
    assert detail["turns"][0]["ms"]["first_audio_out"] == 640.0
    assert detail["handoffs"] == [] and detail["attempt"] is None
    recording = get(api, "/calls/c1/recording")
    assert recording.status_code == 200 and recording.headers["content-type"] == "audio/wav"
    assert recording.content == wav.read_bytes()
    assert get(api, "/calls/c2/recording").status_code == 404
    assert get(api, "/calls/nope").status_code == 404
    exported = list(csv.DictReader(io.StringIO(get(api, "/calls", format="csv").text)))
    assert [row["call_id"] for row in exported] == ["c2", "c1"]


def test_metrics_json_and_csv(api: Api) -> None:
    db = api.client.app.state.db
    with db.session() as session:
        campaign = b.campaign(session, "=HYPERLINK(1)", "reminder")
        person = b.contact(session, campaign.id, "+79160000001", "done")
        b.call(session, "m1", b.at(2, 10), contact=person, talk=60, outcome="confirmed")
        b.call(session, "m2", b.at(3, 10), direction="inbound", script="survey", talk=30, slots={"nps": 10})
    days = get(api, "/metrics", group="day").json()
    assert [(d["bucket"][:10], d["calls"], d["reached"]) for d in days] == [
        ("2026-03-02", 1, 1),
        ("2026-03-03", 1, 1),
    ]
    summary = list(csv.DictReader(io.StringIO(get(api, "/metrics", format="csv").text)))
    assert summary[0]["calls"] == "2" and summary[0]["aht_seconds"] == "45.0"
    assert summary[0]["outcomes.confirmed"] == "1" and summary[0]["bucket"] == ""

    metrics = get(api, f"/metrics/campaigns/{campaign.id}").json()
    assert metrics["progress"]["contacts"] == 1 and metrics["calls"]["calls"] == 1
    assert metrics["target_outcomes"] == []  # the test dialogs declare no goal
    assert metrics["progress"]["conversion_rate"] is None and metrics["calls"]["conversion_rate"] is None
    lines = dict(csv.reader(io.StringIO(get(api, f"/metrics/campaigns/{campaign.id}", format="csv").text)))
    assert lines["name"] == "'=HYPERLINK(1)"  # never a spreadsheet formula
    assert lines["progress.contacts"] == "1"
    assert get(api, "/metrics/campaigns/999").status_code == 404

    assert get(api, "/metrics/survey").json()[0]["nps"] == 100.0
    assert get(api, "/metrics/sla").json()["inbound_offered"] == 1
    assert get(api, "/metrics/scripts/reminder/steps").json() == []
    assert get(api, "/metrics/latency", format="csv").text.startswith("bucket,turns,p50_ms,p95_ms")
    bad = get(api, "/metrics", tz="Nowhere/City")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "tz"]
    assert api.client.get(READ + "/metrics").status_code == 401


async def test_prometheus_scrape_after_stored_calls(api: Api) -> None:
    def value(text: str, name: str) -> float:
        found = [
            line.split()[-1]
            for line in text.splitlines()
            if line.startswith(name + " ") or line.startswith(name + "{")
        ]
        return float(found[0]) if found else 0.0

    before = api.client.get("/metrics").text
    store = CallStore(api.client.app.state.db)
    await store.started(CallStart("p1", "outbound", caller="", called="+79160000000"))
    during = api.client.get("/metrics").text
    await store.answered("p1")
    turns = [{"index": 1, "kind": "text", "ms": {"first_audio_out": 450.0}}]
    await store.ended("p1", CallResult(outcome="confirmed", turns=turns))
    after = api.client.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")

    active = 'voicebot_calls_active{direction="outbound"}'
    assert value(during, active) == value(before, active) + 1 == value(after.text, active) + 1
    ended = 'voicebot_calls_ended_total{direction="outbound",outcome="confirmed"}'
    assert value(after.text, ended) == value(before, ended) + 1
    observed = "voicebot_turn_latency_seconds_count"
    assert value(after.text, observed) == value(before, observed) + 1
    le_half = 'voicebot_turn_latency_seconds_bucket{le="0.5"}'
    assert value(after.text, le_half) == value(before, le_half) + 1
    assert "voicebot_webhook_attempts_failed_total 0.0" in after.text
