"""`GET /api/v1/queues` and the dashboard's Queues page: each queue's agents with state and since when, free and
waiting counts, read from the process's `AgentBoard` (driven here as the robot's calls and the probe drive it)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.api.auth import Scope
from bot.config import AgentSettings, HandoffSettings, QueueSettings
from bot.handoff.agents import AgentBoard

SETTINGS = HandoffSettings(
    agents={"anna": AgentSettings(target="1001", label="Анна"), "boris": AgentSettings(target="1002")},
    queues={
        "sales": QueueSettings(target="1001", mode="warm", agents=["anna", "boris"], max_waiting=3),
        "support": QueueSettings(target="2000"),
    },
)


def live_board(api) -> AgentBoard:
    board = AgentBoard(SETTINGS)
    board.reachable("anna", True)
    board.reachable("boris", False)
    board.busy("anna")
    board.join_line("sales", "call-7")
    api.client.app.state.agent_board = board
    return board


def test_queues_list_agents_states_since_free_and_waiting(api) -> None:
    board = live_board(api)
    response = api.client.get("/api/v1/queues", headers=api.headers(Scope.READ))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["live"] is True
    sales = next(queue for queue in body["queues"] if queue["name"] == "sales")
    assert (sales["mode"], sales["free"], sales["waiting"], sales["max_waiting"]) == ("warm", 0, 1, 3)
    assert [(a["name"], a["label"], a["state"]) for a in sales["agents"]] == [
        ("anna", "Анна", "busy"),
        ("boris", "boris", "unreachable"),
    ]
    assert datetime.fromisoformat(sales["agents"][0]["since"]) == board.agent("anna").since
    support = next(queue for queue in body["queues"] if queue["name"] == "support")
    assert support["agents"] == [] and support["free"] == 0

    board.idle("anna")  # the bridged call ended
    again = api.client.get("/api/v1/queues", headers=api.headers(Scope.READ)).json()
    sales = next(queue for queue in again["queues"] if queue["name"] == "sales")
    assert sales["free"] == 1 and sales["agents"][0]["state"] == "free"


def test_queues_need_a_key_and_say_when_no_phone_runs_here(api) -> None:
    assert api.client.get("/api/v1/queues").status_code == 401
    body = api.client.get("/api/v1/queues", headers=api.headers(Scope.READ)).json()
    assert body["live"] is False  # no phone in this process: the configured queues, states unknown
    assert {queue["name"] for queue in body["queues"]} >= {"sales", "support"}


def test_the_queues_page_lists_the_same_in_russian_and_english(api) -> None:
    live_board(api)
    login = api.client.post(
        "/dashboard/login", data={"api_key": api.keys[Scope.READ]}, follow_redirects=False
    )
    assert login.status_code == 303
    en = api.client.get("/dashboard/queues", headers={"accept-language": "en"})
    assert en.status_code == 200 and "Queues and agents" in en.text and 'id="nav-queues"' in en.text
    row = re.search(r'<tr data-queue="sales">(.*?)</tr>', en.text, re.S)[1]
    assert re.search(r'data-agent="anna" data-state="busy">\s*<b>Анна</b> \(1001\): busy', row)
    assert 'data-agent="boris" data-state="unreachable"' in row
    assert re.search(r'class="free">0 / 2<', row) and re.search(r'class="waiting">1 / 3<', row)
    ru = api.client.get("/dashboard/queues", headers={"accept-language": "ru"})
    assert "Очереди и специалисты" in ru.text and "занят" in ru.text and "недоступен" in ru.text
    assert "с представлением" in ru.text
