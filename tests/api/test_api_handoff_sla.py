"""The hand-off service levels as an API client sees them: JSON per queue, CSV, filters, auth."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.api.auth import Scope
from tests.api.apiclient import Api
from tests.metrics import builders as b


def get(api: Api, path: str, **params):
    return api.client.get("/api/v1" + path, params=params, headers=api.headers(Scope.READ))


def test_handoff_sla_per_queue_json_and_csv(api: Api) -> None:
    with api.client.app.state.db.session() as session:
        joined = b.call(session, "j1", b.at(2, 10), talk=60, script="debt")
        b.handoff(session, joined, "completed", 3.0, queue="sales", target="2001",
                  finished_at=joined.started_at + timedelta(seconds=15))  # fmt: skip
        taken = b.call(session, "t1", b.at(2, 11), talk=20)
        b.handoff(session, taken, "failed", queue="support", failure="busy", callback_at=b.at(2, 12))
    total, sales, support = get(api, "/metrics/handoffs").json()
    assert (total["queue"], total["requested"], total["connected"], total["connect_rate"]) == (
        None,
        2,
        1,
        50.0,
    )
    assert (sales["to_agent_p50"], sales["agent_answer_p50"], sales["service_level"]) == (15.0, 3.0, 100.0)
    assert (support["taken_back"], support["service_level"]) == (1, 0.0)
    assert get(api, "/metrics/handoffs", within=10).json()[1]["within_sla"] == 0
    assert [row["queue"] for row in get(api, "/metrics/handoffs", script="debt").json()] == [None, "sales"]
    assert [row["queue"] for row in get(api, "/metrics/handoffs", queue="support").json()] == [
        None,
        "support",
    ]
    rows = list(csv.DictReader(io.StringIO(get(api, "/metrics/handoffs", format="csv").text)))
    assert rows[1]["queue"] == "sales" and rows[1]["accepted_by.2001"] == "1"
    assert get(api, "/metrics/handoffs", within=0).status_code == 422
    assert api.client.get("/api/v1/metrics/handoffs").status_code == 401
