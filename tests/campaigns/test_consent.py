"""Consent and purpose: the policy per purpose, consent read from contact files, and the dialer refusing to call
contacts without the consent their campaign's purpose requires (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text, update

from bot.call_results.result import TimedLine
from bot.call_results.store import CallStore
from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.placer import CallReport, TelephonyResult
from bot.campaigns.rules import CampaignRules
from bot.campaigns.simulated import ScriptedPlacer
from bot.config import DialerSettings
from bot.consent import (
    SHIPPED_POLICIES,
    BlockReason,
    ComplianceSettings,
    ConsentChannel,
    Purpose,
    PurposePolicy,
    blocked_reason,
)
from bot.contacts.importer import ColumnMapping, parse_contacts
from bot.core.calendar import Hours
from bot.core.clock import SimulatedClock
from bot.core.phones import PhoneNormalizer
from bot.outcomes import Outcome
from bot.storage.db import MIGRATIONS, Database
from bot.storage.models import Call, Contact, DoNotCall
from tests.campaigns.simtools import SCRIPTS, run_until

MONDAY_10_MSK = datetime(2025, 3, 3, 7, tzinfo=UTC)
EVERY_DAY = CampaignRules(rest_day_hours=Hours(start=time(9), end=time(21)), holidays_country="")
WITH, WITHOUT, LISTED = "+79161110001", "+79161110002", "+79161110003"
GIVEN = datetime(2024, 11, 5, 12, tzinfo=UTC)
RU = PhoneNormalizer("RU")


# -- the policy ---------------------------------------------------------------------------------------------


def test_shipped_policies_follow_the_documented_law() -> None:
    advertising = SHIPPED_POLICIES[Purpose.ADVERTISING]
    assert (advertising.consent_required, advertising.robot_allowed) == (True, False)  # 38-FZ art. 18
    assert SHIPPED_POLICIES[Purpose.CUSTOM].consent_required
    for purpose in (Purpose.SERVICE, Purpose.REMINDER, Purpose.SURVEY, Purpose.DEBT):
        assert SHIPPED_POLICIES[purpose] == PurposePolicy(consent_required=False, robot_allowed=True)
    assert set(SHIPPED_POLICIES) == set(Purpose)


@pytest.mark.parametrize(
    ("policy", "consent", "on_dnc", "reason"),
    [
        (PurposePolicy(consent_required=True), False, False, BlockReason.CONSENT_MISSING),
        (PurposePolicy(consent_required=True), True, False, None),
        (PurposePolicy(consent_required=False), False, False, None),
        (
            PurposePolicy(consent_required=True, robot_allowed=False),
            True,
            False,
            BlockReason.PURPOSE_FORBIDS_ROBOT,
        ),
        (PurposePolicy(consent_required=False), True, True, BlockReason.DO_NOT_CALL),
    ],
)
def test_blocked_reason(
    policy: PurposePolicy, consent: bool, on_dnc: bool, reason: BlockReason | None
) -> None:
    assert blocked_reason(policy, consent, on_dnc) == reason


def test_a_deployers_policy_replaces_only_the_purposes_it_names() -> None:
    compliance = ComplianceSettings.model_validate(
        {"purposes": {"advertising": {"consent_required": True, "robot_allowed": True}}}
    )
    assert compliance.policy("advertising").robot_allowed
    assert compliance.policy("survey") == SHIPPED_POLICIES[Purpose.SURVEY]


# -- consent in contact files -------------------------------------------------------------------------------


def test_consent_columns_are_read_in_russian_and_english() -> None:
    text = (
        "телефон;дата согласия;канал согласия;источник согласия\n"
        "+79161110001;05.11.2024;письменно;анкета 17\n"
        "+79161110002;2024-11-05T15:00+03:00;web;site form\n"
        "+79161110003;;;\n"
    )
    contacts, report = parse_contacts(text.encode(), ColumnMapping(), RU)
    assert report.errors == []
    first, second, third = (contacts[p] for p in ("+79161110001", "+79161110002", "+79161110003"))
    assert (first["consent_given_at"], first["consent_channel"], first["consent_source"]) == (
        datetime(2024, 11, 5, tzinfo=UTC),
        ConsentChannel.WRITTEN,
        "анкета 17",
    )
    assert (second["consent_given_at"], second["consent_channel"]) == (GIVEN, ConsentChannel.WEB)
    assert "дата согласия" not in first["variables"]  # consent columns are no script variables
    assert third["consent_given_at"] is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("+79161110001;05.11.2024;pigeon;", "consent channel 'pigeon': expected one of written, web"),
        ("+79161110001;вчера;sms;", "consent date 'вчера': expected e.g. 2025-03-01"),
        ("+79161110001;;sms;", "consent channel or source given without the consent date"),
        ("+79161110001;05.11.2024;;", "consent channel '': expected one of"),
    ],
)
def test_bad_consent_is_a_row_error(row: str, message: str) -> None:
    text = f"phone;consent_at;consent_channel;consent_source\n{row}\n"
    contacts, report = parse_contacts(text.encode(), ColumnMapping(), RU)
    assert contacts == {}
    [error] = report.errors
    assert error.row == 2 and message in error.reason, error.reason


# -- the dialer ---------------------------------------------------------------------------------------------


def make_campaign(db: Database, purpose: Purpose, now: datetime, consented: dict[str, bool]) -> int:
    """A running campaign of `purpose` whose contacts (phone → consent given) were stored as any import stores
    them, before the dialer first looks."""
    with db.session() as session:
        spec = service.CampaignSpec(name="t", script="reminder", purpose=purpose, rules=EVERY_DAY)
        campaign = service.create(session, spec, SCRIPTS, now)
        for phone, given in consented.items():
            session.add(
                Contact(
                    campaign_id=campaign.id,
                    phone=phone,
                    timezones="Europe/Moscow",
                    variables={},
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    consent_given_at=GIVEN if given else None,
                    consent_channel=ConsentChannel.WEB if given else "",
                )
            )
        service.apply(session, campaign.id, service.Action.START, now)
        return campaign.id


def contacts_of(db: Database, campaign_id: int) -> dict[str, tuple[str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(Contact.phone, Contact.state, Contact.note).where(Contact.campaign_id == campaign_id)
        )
        return {phone: (state, note) for phone, state, note in rows}


def dialled(placer: ScriptedPlacer) -> list[str]:
    return sorted(call.request.phone for call in placer.placed)


async def test_the_dialer_calls_only_contacts_with_the_consent_the_purpose_requires(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    placer = ScriptedPlacer(clock=clock)
    survey = make_campaign(db, Purpose.SURVEY, clock.now(), {WITH: True, WITHOUT: False})
    custom = make_campaign(db, Purpose.CUSTOM, clock.now(), {WITH: True, WITHOUT: False})
    dialer = Dialer(db, placer, clock, DialerSettings())
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    survey_calls = [c.request.phone for c in placer.placed if c.request.campaign_id == survey]
    custom_calls = [c.request.phone for c in placer.placed if c.request.campaign_id == custom]
    assert sorted(survey_calls) == [WITH, WITHOUT]  # a survey needs no consent (shipped policy)
    assert custom_calls == [WITH]
    assert contacts_of(db, custom)[WITHOUT] == (
        "blocked",
        "no consent, which the campaign's purpose requires",
    )


async def test_no_robot_calls_for_advertising_unless_the_deployer_allows_them(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    placer = ScriptedPlacer(clock=clock)
    offer = make_campaign(db, Purpose.ADVERTISING, clock.now(), {WITH: True, WITHOUT: False})
    dialer = Dialer(db, placer, clock, DialerSettings())
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    assert placer.placed == []
    assert {state for state, _ in contacts_of(db, offer).values()} == {"blocked"}

    allowed = ComplianceSettings(purposes={Purpose.ADVERTISING: PurposePolicy(consent_required=True)})
    allowed_offer = make_campaign(db, Purpose.ADVERTISING, clock.now(), {WITH: True, WITHOUT: False})
    dialer = Dialer(db, placer, clock, DialerSettings(), allowed)  # the deployer's policy
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    assert [(c.request.campaign_id, c.request.phone) for c in placer.placed] == [(allowed_offer, WITH)]
    assert contacts_of(db, allowed_offer)[WITHOUT][0] == "blocked"


async def test_consent_withdrawn_after_the_import_is_checked_when_the_call_is_claimed(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    placer = ScriptedPlacer(clock=clock)
    rules = EVERY_DAY.model_copy(update={"pacing_cps": 1 / 600})  # one call per 10 minutes
    custom = make_campaign(db, Purpose.CUSTOM, clock.now(), {WITH: True, WITHOUT: True})
    dialer = Dialer(db, placer, clock, DialerSettings())
    with db.session() as session:
        session.execute(update(service.Campaign).values(rules=rules.model_dump(mode="json")))
    await dialer.tick()
    await dialer.drain()
    [first] = placer.placed
    other = WITHOUT if first.request.phone == WITH else WITH
    with db.session() as session:  # the CRM withdraws the other's consent while it waits its turn
        session.execute(update(Contact).where(Contact.phone == other).values(consent_given_at=None))
    await run_until(dialer, clock, clock.now() + timedelta(hours=1), timedelta(minutes=5))
    assert len(placer.placed) == 1
    assert contacts_of(db, custom)[other][0] == "blocked"


async def test_a_purpose_changed_to_one_without_consent_reopens_blocked_contacts(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    placer = ScriptedPlacer(clock=clock)
    campaign = make_campaign(db, Purpose.CUSTOM, clock.now(), {WITH: True, WITHOUT: False})
    dialer = Dialer(db, placer, clock, DialerSettings())
    await dialer.tick()
    await dialer.drain()
    assert dialled(placer) == [WITH]
    assert contacts_of(db, campaign)[WITHOUT][0] == "blocked"
    with db.session() as session:
        service.apply(session, campaign, service.Action.PAUSE, clock.now())
        patch = service.CampaignPatch(purpose=Purpose.REMINDER)
        service.edit(session, campaign, patch, SCRIPTS, clock.now())
        service.apply(session, campaign, service.Action.RESUME, clock.now())
    await run_until(dialer, clock, clock.now() + timedelta(minutes=30), timedelta(minutes=5))
    assert dialled(placer) == [WITH, WITHOUT]


# -- an opt-out said during a call --------------------------------------------------------------------------


async def test_an_opt_out_is_recorded_with_its_call_and_moment(db: Database) -> None:
    clock = SimulatedClock(MONDAY_10_MSK)
    transcript = [
        TimedLine(at=0.4, speaker="robot", text="Здравствуйте, напоминаем о записи"),
        TimedLine(at=6.5, speaker="caller", text="не звоните мне больше", intent="dont_call"),
        TimedLine(at=7.1, speaker="robot", text="Правильно поняла, больше не звонить?"),
        TimedLine(at=9.0, speaker="caller", text="да", intent="affirm"),
        TimedLine(at=11.0, speaker="caller", text="и не звоните", intent="dont_call"),
    ]
    refuse = CallReport(result=TelephonyResult.ANSWERED, outcome=Outcome.DO_NOT_CALL, transcript=transcript)
    placer = ScriptedPlacer({WITH: [refuse]}, clock=clock, store=CallStore(db))
    campaign = make_campaign(db, Purpose.REMINDER, clock.now(), {WITH: False})
    await run_until(
        Dialer(db, placer, clock, DialerSettings()),
        clock,
        clock.now() + timedelta(minutes=5),
        timedelta(minutes=5),
    )
    with db.session() as session:
        [entry] = session.scalars(select(DoNotCall)).all()
        call = session.scalar(select(Call))
    assert entry.call_id == call.call_id and entry.call_id.startswith("sim-")
    assert entry.said_at == call.answered_at + timedelta(seconds=6.5)
    assert (entry.phone, entry.campaign_id) == (WITH, None)
    assert contacts_of(db, campaign)[WITH][0] == "dnc"


# -- the migration ------------------------------------------------------------------------------------------


def test_existing_campaigns_get_a_purpose_that_keeps_them_dialling(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")  # the schema before purposes
        for name, preset in (("долги", "debt_230fz"), ("предложение", "general")):
            connection.execute(
                text(
                    "INSERT INTO campaigns (name, script, language, caller_id, variables, rules, priority, state, "
                    "created_at, updated_at, contact_mapping) VALUES (:name, 'reminder', 'ru', '', '{}', :rules, 0, "
                    "'running', :now, :now, '{}')"
                ),
                {"name": name, "rules": json.dumps({"preset": preset}), "now": datetime(2025, 1, 1)},
            )
    database.migrate()
    with database.session() as session:
        purposes = dict(session.execute(select(service.Campaign.name, service.Campaign.purpose)).all())
    database.dispose()
    assert purposes == {"долги": "debt", "предложение": "service"}
