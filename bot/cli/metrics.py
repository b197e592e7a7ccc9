"""`voicebot metrics`: the metrics of the API as tables in a shell, or CSV (`--format csv`, `--csv FILE`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from bot.cli import app, fail, open_database, settings
from bot.metrics.campaign import CampaignMetrics, CampaignNotFound, campaign_metrics
from bot.metrics.export import flatten, object_csv, table_csv
from bot.metrics.filters import CallFilter, FilterError, Group
from bot.metrics.handoff_sla import DEFAULT_SLA_SECONDS, HandoffSlaRow, handoff_sla
from bot.metrics.sla import DEFAULT_AGENT_SECONDS, DEFAULT_ROBOT_SECONDS, SlaOut, sla
from bot.metrics.steps import StepRow, steps
from bot.metrics.summary import SummaryRow, summary
from bot.metrics.targets import Targets, load_targets
from telephony import CallDirection

metrics_app = typer.Typer(no_args_is_help=True, help="Call-center metrics from the stored calls.")
app.add_typer(metrics_app, name="metrics")


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"


AsFormat = Annotated[Format, typer.Option("--format", help="table or csv (on standard output)")]
CsvFile = Annotated[Path | None, typer.Option("--csv", help="also write the CSV to this file")]
Tz = Annotated[str, typer.Option("--tz", help="IANA time zone of dates and buckets")]
From = Annotated[str | None, typer.Option("--from", help="first local day, YYYY-MM-DD")]
To = Annotated[str | None, typer.Option("--to", help="last local day, YYYY-MM-DD")]
Campaign = Annotated[int | None, typer.Option("--campaign", help="only this campaign")]


def _day(value: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise fail(f"{option}: expected a date YYYY-MM-DD, got {value!r}", 2) from exc


def _filter(date_from: str | None = None, date_to: str | None = None, **fields) -> CallFilter:
    """The calls the options select (--from/--to as local days); bad values exit with code 2."""
    try:
        return CallFilter(date_from=_day(date_from, "--from"), date_to=_day(date_to, "--to"), **fields)
    except FilterError as exc:
        raise fail(f"--{exc.field.replace('date_', '')}: {exc}", 2) from exc


def _targets(session: Session) -> Targets:
    return load_targets(session, settings().paths.dialogs_dir)


@contextmanager
def _calls(
    campaign_id: int | None, date_from: str | None, date_to: str | None, tz: str, **fields: str | None
) -> Iterator[tuple[Session, CallFilter]]:
    """A session of the migrated database and the calls the options select (`_filter`)."""
    where = _filter(date_from, date_to, campaign_id=campaign_id, tz=tz, **fields)
    with open_database().session() as session:
        yield session, where


def _show(text: str, rows: list[dict], fmt: Format, csv_file: Path | None, title: str) -> None:
    """Print a table (or the CSV) and write the CSV file when asked."""
    if csv_file:
        csv_file.write_text(text, encoding="utf-8")
    if fmt is Format.CSV:
        typer.echo(text, nl=False)
        return
    table = Table(title=title)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)


def _table(
    rows: list[BaseModel], model: type[BaseModel], fmt: Format, csv_file: Path | None, title: str
) -> None:
    _show(table_csv(rows, model), [flatten(r) for r in rows], fmt, csv_file, title)


def _object(item: BaseModel, fmt: Format, csv_file: Path | None, title: str) -> None:
    pairs = [{"metric": k, "value": v} for k, v in flatten(item).items()]
    _show(object_csv(item), pairs, fmt, csv_file, title)


@metrics_app.command("campaign")
def campaign(
    campaign_id: int, tz: Tz = "UTC", format: AsFormat = Format.TABLE, csv_file: CsvFile = None
) -> None:
    """Progress, conversion, attempt results, call metrics, survey and latency of one campaign."""
    _filter(tz=tz)
    with open_database().session() as session:
        try:
            result: CampaignMetrics = campaign_metrics(session, campaign_id, _targets(session), tz)
        except CampaignNotFound as exc:
            raise fail(str(exc)) from exc
    _object(result, format, csv_file, f"campaign {campaign_id}: {result.name}")


@metrics_app.command("summary")
def summary_command(
    campaign_id: Campaign = None,
    script: Annotated[str | None, typer.Option("--script", help="only this script")] = None,
    direction: Annotated[str | None, typer.Option("--direction", help="inbound or outbound")] = None,
    date_from: From = None,
    date_to: To = None,
    group: Annotated[Group, typer.Option("--group", help="none, day or hour")] = Group.NONE,
    tz: Tz = "UTC",
    format: AsFormat = Format.TABLE,
    csv_file: CsvFile = None,
) -> None:
    """Answer, reach, machine, conversion, transfer and do-not-call rates and AHT, in total or per day/hour."""
    if direction is not None and direction not in set(CallDirection):
        raise fail("--direction: inbound or outbound", 2)
    calls = _calls(campaign_id, date_from, date_to, tz, script=script, direction=direction)
    with calls as (session, where):
        rows = summary(session, where, _targets(session), group)
    _table(rows, SummaryRow, format, csv_file, "summary")


@metrics_app.command("steps")
def steps_command(
    script: str,
    campaign_id: Campaign = None,
    date_from: From = None,
    date_to: To = None,
    tz: Tz = "UTC",
    format: AsFormat = Format.TABLE,
    csv_file: CsvFile = None,
) -> None:
    """Per step of SCRIPT: no-match and silence rates and re-prompts, the most troublesome first."""
    with _calls(campaign_id, date_from, date_to, tz) as (session, where):
        rows = steps(session, script, where)
    _table(rows, StepRow, format, csv_file, f"steps of {script}")


@metrics_app.command("sla")
def sla_command(
    answer_within: Annotated[float, typer.Option(min=0.1, help="robot answer target, seconds")] = (
        DEFAULT_ROBOT_SECONDS
    ),
    agent_within: Annotated[float, typer.Option(min=0.1, help="agent answer target, seconds")] = (
        DEFAULT_AGENT_SECONDS
    ),
    campaign_id: Campaign = None,
    date_from: From = None,
    date_to: To = None,
    tz: Tz = "UTC",
    format: AsFormat = Format.TABLE,
    csv_file: CsvFile = None,
) -> None:
    """Inbound calls answered by the robot within N s and hand-offs answered by an agent within M s."""
    with _calls(campaign_id, date_from, date_to, tz) as (session, where):
        result: SlaOut = sla(session, where, answer_within, agent_within)
    _object(result, format, csv_file, "service levels")


@metrics_app.command("handoffs")
def handoffs_command(
    queue: Annotated[str | None, typer.Option("--queue", help="only this queue")] = None,
    within: Annotated[
        float, typer.Option(min=0.1, help="service level threshold, seconds")
    ] = DEFAULT_SLA_SECONDS,
    campaign_id: Campaign = None,
    date_from: From = None,
    date_to: To = None,
    group: Annotated[Group, typer.Option("--group", help="none, day or hour")] = Group.NONE,
    tz: Tz = "UTC",
    format: AsFormat = Format.TABLE,
    csv_file: CsvFile = None,
) -> None:
    """Hand-off service levels per queue: connected, time to agent, within the threshold, abandoned, taken back."""
    with _calls(campaign_id, date_from, date_to, tz) as (session, where):
        rows = handoff_sla(session, where, queue, group, within)
    _table(rows, HandoffSlaRow, format, csv_file, "hand-off service levels")
