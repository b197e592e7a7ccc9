"""The Hand-offs page: service levels per queue with filters, in Russian and English (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.handoff.ending import FailureCause
from tests.metrics import builders as b


def cells(page: str, queue: str) -> list[str]:
    row = re.search(rf'<tr data-queue="{queue}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, page
    return [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row[1], re.S)
    ]


def test_the_page_shows_each_queue_and_all_of_them(dashboard):
    with dashboard.db.session() as session:
        joined = b.call(session, "j1", b.at(2, 10), talk=60)
        b.handoff(session, joined, "completed", 3.0, queue="sales", target="2001",
                  finished_at=joined.started_at + timedelta(seconds=15))  # fmt: skip
        gone = b.call(session, "g1", b.at(3, 10), talk=20)
        b.handoff(
            session, gone, "failed", queue="sales", failure="the call ended before the transfer had a result",
            cause=FailureCause.CALL_ENDED,
        )  # fmt: skip
    dashboard.login()
    page = dashboard.client.get("/dashboard/handoffs", headers={"accept-language": "en"})
    assert page.status_code == 200 and "Hand-offs: service level" in page.text
    assert cells(page.text, "") == ["All queues", "2", "1", "50.0 %", "50.0 % (1)", "15.0 / 15.0", "3.0 / 3.0",
                                    "1", "0", "0", "2001: 1"]  # fmt: skip
    assert cells(page.text, "sales")[0] == "sales"
    ru = dashboard.client.get("/dashboard/handoffs", params={"date_from": "2026-03-03", "within": "10"},
                              headers={"accept-language": "ru"})  # fmt: skip
    assert "Уровень обслуживания" in ru.text and "не позже 10 с" in ru.text
    assert cells(ru.text, "")[:3] == ["Все очереди", "1", "0"]  # only the 3 March hand-off
    backwards = dashboard.client.get("/dashboard/handoffs", params={"date_from": "2026-03-03", "date_to": "2026-03-02"},
                                     headers={"accept-language": "en"})  # fmt: skip
    assert "before the &#39;from&#39; day" in backwards.text and cells(backwards.text, "")[1] == "2"
    assert dashboard.client.get("/dashboard/handoffs", params={"within": "0"}).status_code == 422
