"""The caller lookup against a real CRM on loopback: variables by GET or POST with the token header; an unknown
caller, a malformed answer, a CRM too slow or not there at all give no variables and the call goes on."""

from __future__ import annotations

import asyncio
import shutil
import socket

import pytest
from loguru import logger

from bot.calls.lookup import CallerLookup
from bot.calls.phone_calls import PhoneCalls
from bot.config import CallsSettings, load_settings
from bot.dialog.catalogue import load_catalogue
from bot.inbound_routing import InboundPlan, InboundRoute
from bot.rasa.client import RasaClient
from tests.calls.crm_stub import Crm, running_crm

ANNA = "+79161234567"


def lookup_for(crm: Crm, **settings) -> CallerLookup:
    return CallerLookup(CallsSettings(lookup_url=crm.url, **settings))


@pytest.fixture
def logged():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    yield lines
    logger.remove(sink)


async def test_a_known_caller_by_get_with_the_token_header():
    with running_crm(Crm({ANNA: {"name": "Анна", "customer_id": "C-17", "vip": True, "orders": 3}})) as crm:
        lookup = lookup_for(crm, lookup_token="Bearer s3cret", lookup_token_header="X-Api-Token")
        try:
            found = await lookup.variables(ANNA, "74951112233")
        finally:
            await lookup.close()
    assert found == {"name": "Анна", "customer_id": "C-17", "vip": "yes", "orders": "3"}
    request = crm.requests[0]
    assert request["method"] == "GET"
    assert request["query"] == {"caller": [ANNA], "called": ["74951112233"]}
    assert request["headers"]["X-Api-Token"] == "Bearer s3cret"


async def test_a_known_caller_by_post_and_values_that_are_not_scalars_are_dropped():
    with running_crm(
        Crm({ANNA: {"name": "Анна", "address": {"city": "Москва"}, "tags": ["a"], "x": None}})
    ) as crm:
        lookup = lookup_for(crm, lookup_method="POST")
        try:
            found = await lookup.variables(ANNA, "100")
        finally:
            await lookup.close()
    assert found == {"name": "Анна"}
    assert crm.requests[0]["method"] == "POST" and "X-Api-Token" not in crm.requests[0]["headers"]


@pytest.mark.parametrize(
    ("answer", "log"),
    [
        (None, "unknown to the CRM"),
        (b"<html>oops</html>", "not JSON"),
        (b'["Anna"]', "expected a JSON object, got list"),
    ],
)
async def test_unknown_callers_and_malformed_answers_give_no_variables(logged, answer, log):
    with running_crm(Crm({ANNA: answer} if answer else {})) as crm:
        lookup = lookup_for(crm)
        try:
            assert await lookup.variables(ANNA, "100") == {}
        finally:
            await lookup.close()
    assert any(log in line for line in logged), logged


async def test_a_slow_crm_times_out_without_blocking_the_event_loop(logged):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    with running_crm(Crm({ANNA: {"name": "Анна"}}, delay=2.0)) as crm:
        lookup = lookup_for(crm, lookup_timeout=0.3)
        ticking = asyncio.create_task(ticker())
        try:
            assert await lookup.variables(ANNA, "100") == {}
        finally:
            ticking.cancel()
            await lookup.close()
    assert ticks > 0  # other calls' audio kept flowing while the lookup waited
    assert any("ReadTimeout" in line for line in logged), logged


async def test_a_crm_that_is_down_gives_no_variables(logged):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lookup = CallerLookup(CallsSettings(lookup_url=f"http://127.0.0.1:{port}/lookup"))
    try:
        assert await lookup.variables(ANNA, "100") == {}
    finally:
        await lookup.close()
    assert any("ConnectError" in line for line in logged), logged


TYPED_SCRIPT = """
id: visit
title: {ru: Визит, en: Visit}
languages: [ru]
operator_queue: operators
identity: {ru: "Это помощник компании {company}."}
variables:
  company: text
  last_visit: {type: date, optional: true}
start: hello
steps:
  hello:
    say: {ru: "Здравствуйте! Вы были у нас {last_visit}."}
    do: [hangup]
"""


async def test_the_routes_variables_win_and_crm_values_the_script_cannot_parse_are_dropped(tmp_path):
    base = load_settings(environ={})
    dialogs = tmp_path / "dialogs"
    dialogs.mkdir()
    shutil.copy(base.paths.dialogs_dir / "_common.yml", dialogs)
    (dialogs / "visit.yml").write_text(TYPED_SCRIPT, encoding="utf-8")
    shutil.copy(base.paths.dialogs_dir / "inbound.yml", dialogs)
    catalogue = load_catalogue(dialogs, base.paths.training_data_dir)
    answers = {
        ANNA: {"name": "Анна", "company": "CRM Inc"},
        "+79160000001": {"last_visit": "2025-03-01"},
        "+79160000002": {"last_visit": "давно"},
    }
    with running_crm(Crm(answers)) as crm:
        settings = base.model_copy(update={"calls": CallsSettings(lookup_url=crm.url)})
        client = RasaClient("http://127.0.0.1:9", "unused")
        calls = PhoneCalls(settings, catalogue, client)
        route = InboundRoute(did="1", script="inbound", variables={"company": "Ромашка"})
        visit = InboundRoute(did="2", script="visit", language="ru", variables={"company": "Ромашка"})
        try:
            known = await calls.inbound_state(InboundPlan(route, route.script, route.variables), ANNA, "1")
            unknown = await calls.inbound_state(
                InboundPlan(route, route.script, route.variables), "+7999", "1"
            )
            parsed = await calls.inbound_state(
                InboundPlan(visit, visit.script, visit.variables), "+79160000001", "2"
            )
            dropped = await calls.inbound_state(
                InboundPlan(visit, visit.script, visit.variables), "+79160000002", "2"
            )
        finally:
            await calls.lookup.close()
            await client.close()
    assert known.values == {"company": "Ромашка", "name": "Анна"}
    assert unknown.values == {"company": "Ромашка"}
    assert parsed.values == {"company": "Ромашка", "last_visit": "2025-03-01"}
    assert dropped.values == {"company": "Ромашка"}
