"""`voicebot campaigns`, `voicebot dnc`, `voicebot apikeys`: the campaign operations of the API, from a shell."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table
from ruamel.yaml import YAML
from sqlalchemy import select

from bot.api.auth import Scope, create_key
from bot.call_results.store import CallStore
from bot.campaigns import service
from bot.campaigns.dialer import Dialer
from bot.campaigns.nodes import node_name
from bot.campaigns.rules import CampaignRules, Preset
from bot.campaigns.simulated import ScriptedPlacer
from bot.cli import app, fail, open_database, settings
from bot.consent import BLOCKED_NOTES, BlockReason, Purpose
from bot.contacts import dnc
from bot.contacts.importer import ColumnMapping, CsvFormatError
from bot.core.clock import Clock, ScaledClock, SystemClock
from bot.core.errors import Conflict, InvalidInput, NotFound
from bot.core.phones import PhoneError, PhoneNormalizer
from bot.dialog import versions
from bot.storage.models import ApiKey, Campaign

campaigns_app = typer.Typer(
    no_args_is_help=True, help="Outbound campaigns: create, import contacts, run, export."
)
dnc_app = typer.Typer(no_args_is_help=True, help="The do-not-call list (global or per campaign).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys with scopes read, write, admin.")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(dnc_app, name="dnc")
app.add_typer(keys_app, name="apikeys")
console = Console(stderr=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _summary(session, campaign: Campaign) -> dict:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "script": campaign.script,
        "language": campaign.language,
        "state": campaign.state,
        "priority": campaign.priority,
        "purpose": campaign.purpose,
        "contacts": service.contact_counts(session, campaign.id),
        "rules": campaign.rules,
    }


@campaigns_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="campaign name")],
    script: Annotated[str, typer.Option(help="dialog script: dialogs/<script>.yml")],
    language: Annotated[str, typer.Option(help="ru or en")] = "ru",
    caller_id: Annotated[str, typer.Option(help="number shown to the callee")] = "",
    preset: Annotated[
        Preset, typer.Option(help="general, or debt_230fz for the legal limits")
    ] = Preset.GENERAL,
    var: Annotated[list[str] | None, typer.Option(help="campaign variable key=value (repeatable)")] = None,
    rules_file: Annotated[Path | None, typer.Option(help="YAML/JSON file with campaign rules")] = None,
    priority: int = 0,
    purpose: Annotated[
        Purpose, typer.Option(help="why it calls; its policy says whether consent is required")
    ] = Purpose.SERVICE,
) -> None:
    """Create a draft campaign; prints it as JSON."""
    config = settings()
    try:
        rules = YAML(typ="safe").load(rules_file.read_text(encoding="utf-8")) if rules_file else {}
        variables = dict(item.split("=", 1) for item in var or [])
        spec = service.CampaignSpec(
            name=name,
            script=script,
            language=language,
            caller_id=caller_id,
            variables=variables,
            priority=priority,
            purpose=purpose,
            rules=CampaignRules.model_validate({"preset": preset, **(rules or {})}),
        )
    except (ValidationError, ValueError, OSError) as exc:
        raise fail(str(exc), 2) from exc
    db = open_database(config)
    try:
        with db.session() as session:
            campaign = service.create(
                session, spec, service.available_scripts(config.paths.dialogs_dir), _now()
            )
            typer.echo(json.dumps(_summary(session, campaign), ensure_ascii=False))
    except InvalidInput as exc:
        raise fail(str(exc), 2) from exc


@campaigns_app.command("list")
def list_campaigns() -> None:
    """Campaigns with their state and contact counts."""
    db = open_database()
    table = Table("id", "name", "script", "state", "contacts")
    with db.session() as session:
        for campaign in session.scalars(select(Campaign).order_by(Campaign.id)):
            counts = service.contact_counts(session, campaign.id)
            table.add_row(
                str(campaign.id),
                campaign.name,
                campaign.script,
                campaign.state,
                " ".join(f"{k}={v}" for k, v in sorted(counts.items())),
            )
    Console().print(table)


@campaigns_app.command("show")
def show(campaign_id: int) -> None:
    """One campaign as JSON."""
    db = open_database()
    try:
        with db.session() as session:
            typer.echo(json.dumps(_summary(session, service.get(session, campaign_id)), ensure_ascii=False))
    except NotFound as exc:
        raise fail(str(exc)) from exc


def _state_command(action: service.Action) -> None:
    def command(campaign_id: int) -> None:
        config = settings()
        db = open_database(config)
        try:
            with db.session() as session:
                campaign = service.apply(session, campaign_id, action, _now())
                if action is service.Action.START:
                    versions.pin_campaign(session, campaign, config.paths.dialogs_dir, _now())
                typer.echo(f"campaign {campaign.id}: {campaign.state}")
        except (NotFound, Conflict) as exc:
            raise fail(str(exc)) from exc

    allowed, target = service.TRANSITIONS[action]
    command.__doc__ = f"Move a campaign from {' or '.join(sorted(allowed))} to {target}."
    campaigns_app.command(str(action))(command)


for _action in service.Action:
    _state_command(_action)


@campaigns_app.command("import")
def import_contacts(
    campaign_id: int,
    path: Annotated[Path, typer.Argument(help="CSV file: UTF-8 or Windows-1251, ';' or ','")],
    phone_column: Annotated[str | None, typer.Option(help="header of the phone column")] = None,
    name_column: Annotated[str | None, typer.Option(help="header of the name column")] = None,
    timezone_column: Annotated[str | None, typer.Option(help="header of the time zone column")] = None,
    region_column: Annotated[str | None, typer.Option(help="header of the region column")] = None,
    consent_at_column: Annotated[str | None, typer.Option(help="header of the consent date column")] = None,
    consent_channel_column: Annotated[
        str | None, typer.Option(help="header of the consent channel column")
    ] = None,
    consent_source_column: Annotated[
        str | None, typer.Option(help="header of the consent source column")
    ] = None,
) -> None:
    """Import contacts; bad rows are listed (row number and reason) and skipped, duplicates merged."""
    config = settings()
    if not path.is_file():
        raise fail(f"{path} does not exist", 2)
    db = open_database(config)
    mapping = ColumnMapping(
        phone=phone_column,
        name=name_column,
        timezone=timezone_column,
        region=region_column,
        consent_at=consent_at_column,
        consent_channel=consent_channel_column,
        consent_source=consent_source_column,
    )
    columns = (
        TextColumn("importing"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed} rows"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("import", total=None)
        try:
            report = service.import_contacts(
                db,
                campaign_id,
                path.read_bytes(),
                mapping,
                PhoneNormalizer(config.contacts.default_region),
                _now(),
                lambda done, total: progress.update(task, completed=done, total=total),
                config.compliance,
            )
        except (CsvFormatError, NotFound, Conflict) as exc:
            raise fail(str(exc), 2) from exc
    for error in report.errors:
        typer.secho(f"row {error.row}: {error.reason}", err=True, fg="yellow")
    typer.echo(
        f"{report.rows} rows: {report.created} new contacts, {report.merged} merged, {len(report.errors)} skipped"
        + (f", {report.do_not_call} on the do-not-call list (not to be called)" if report.do_not_call else "")
    )
    for reason, count in report.blocked.items():
        if count and reason != BlockReason.DO_NOT_CALL:
            typer.echo(f"{count} not to be called: {BLOCKED_NOTES[reason]}")


@campaigns_app.command("export")
def export(
    campaign_id: int, out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None
) -> None:
    """Results as CSV, one row per call attempt."""
    db = open_database()
    try:
        with db.session() as session:
            lines = service.export_results(session, campaign_id)
            if out is None:
                sys.stdout.writelines(lines)
            else:
                with out.open("w", encoding="utf-8", newline="") as file:
                    file.writelines(lines)
    except NotFound as exc:
        raise fail(str(exc)) from exc


@campaigns_app.command("run")
def run(
    simulate: Annotated[
        bool, typer.Option(help="answer calls with the simulated network (no telephony)")
    ] = False,
    call_seconds: Annotated[float, typer.Option(help="simulated call length, real seconds")] = 1.0,
    dial_log: Annotated[Path | None, typer.Option(help="simulation: append each dial as a JSON line")] = None,
    exit_when_done: Annotated[bool, typer.Option(help="stop when no campaign is running")] = False,
    time_scale: Annotated[
        float, typer.Option(help="run the clock this many times faster (demos, tests)")
    ] = 1.0,
    time_anchor: Annotated[str | None, typer.Option(help="ISO time the scaled clock starts from")] = None,
) -> None:
    """Run the dialer until interrupted (Ctrl-C or SIGTERM finishes the calls in progress)."""
    config = settings()
    if not simulate:
        raise fail(
            "no telephony layer is wired yet: use --simulate (the voice pipeline will place real calls)", 2
        )
    clock: Clock = SystemClock()
    if time_scale != 1.0:
        anchor = datetime.fromisoformat(time_anchor) if time_anchor else _now()
        clock = ScaledClock(anchor, time_scale)
    db = open_database(config)
    # each simulated call is a `calls` row of this node, as the real placer writes it
    store = CallStore(db, node_name(config.dialer.node), config.contacts.default_region)
    placer = ScriptedPlacer(log_path=dial_log, seconds=call_seconds, store=store)
    dialer = Dialer(db, placer, clock, config.dialer, config.compliance)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await dialer.run(stop, until_idle=exit_when_done)

    asyncio.run(main())


@dnc_app.command("add")
def dnc_add(
    phone: str,
    campaign: Annotated[int | None, typer.Option(help="only this campaign (default: global)")] = None,
    reason: str = "",
) -> None:
    """Add a number; its pending contacts are marked do-not-call."""
    config = settings()
    try:
        e164 = PhoneNormalizer(config.contacts.default_region).normalize(phone).e164
    except PhoneError as exc:
        raise fail(str(exc), 2) from exc
    db = open_database(config)
    with db.session() as session:
        listing = dnc.add(session, e164, _now(), campaign, reason, dnc.Source.CLI)
    status = "added" if listing.added else "already listed"
    typer.echo(f"{e164}: {status}, {len(listing.contact_ids)} pending contacts blocked")


@dnc_app.command("import")
def dnc_import(
    path: Path,
    campaign: Annotated[int | None, typer.Option(help="only this campaign (default: global)")] = None,
    phone_column: Annotated[str | None, typer.Option(help="header of the phone column")] = None,
) -> None:
    """Add every number of a CSV file; bad rows are listed and skipped."""
    config = settings()
    if not path.is_file():
        raise fail(f"{path} does not exist", 2)
    normalizer = PhoneNormalizer(config.contacts.default_region)
    try:
        with open_database(config).session() as session:
            report = dnc.import_csv(session, path.read_bytes(), normalizer, _now(), campaign, phone_column)
    except CsvFormatError as exc:
        raise fail(str(exc), 2) from exc
    for error in report.errors:
        typer.secho(f"row {error.row}: {error.reason}", err=True, fg="yellow")
    typer.echo(
        f"{report.rows} rows: {report.created} added, {report.merged} already listed, {len(report.errors)} skipped"
    )


@dnc_app.command("remove")
def dnc_remove(phone: str, campaign: Annotated[int | None, typer.Option()] = None) -> None:
    config = settings()
    try:
        e164 = PhoneNormalizer(config.contacts.default_region).normalize(phone).e164
    except PhoneError as exc:
        raise fail(str(exc), 2) from exc
    with open_database(config).session() as session:
        if not dnc.remove(session, e164, campaign):
            raise fail(f"{e164} is not listed there")
    typer.echo(f"{e164}: removed")


@dnc_app.command("list")
def dnc_list(campaign: Annotated[int | None, typer.Option()] = None, limit: int = 100) -> None:
    with open_database().session() as session:
        for entry in dnc.entries(session, campaign, limit):
            scope = f"campaign {entry.campaign_id}" if entry.campaign_id else "global"
            said = f"\tsaid {entry.said_at.isoformat()} in call {entry.call_id}" if entry.said_at else ""
            typer.echo(f"{entry.phone}\t{scope}\t{entry.reason}{said}")


@keys_app.command("create")
def key_create(
    name: str, scope: Annotated[list[Scope], typer.Option(help="read, write or admin (repeatable)")]
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    with open_database().session() as session:
        _, key = create_key(session, name, scope, _now())
    typer.echo(key)


@keys_app.command("list")
def key_list() -> None:
    with open_database().session() as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = "revoked" if row.revoked else "active"
            typer.echo(f"{row.id}\t{row.name}\t{row.prefix}…\t{row.scopes}\t{state}")


@keys_app.command("revoke")
def key_revoke(key_id: int) -> None:
    with open_database().session() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise fail(f"API key {key_id} not found")
        row.revoked = True
    typer.echo(f"key {key_id} revoked")
