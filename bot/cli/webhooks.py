"""`voicebot webhooks`: CRM webhook subscriptions, dead deliveries and their replay, and the delivery worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

from bot.cli import app, fail, open_database, stop_signal
from bot.core.errors import Conflict, InvalidInput, NotFound
from bot.crm import subscriptions as webhooks
from bot.crm.delivery import DeliveryWorker
from bot.crm.outbox import DeliveryState

webhooks_app = typer.Typer(no_args_is_help=True, help="CRM webhooks: subscriptions, dead deliveries, replay.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
def add(
    url: str,
    event: Annotated[list[str], typer.Option(help="an event type (repeat), or * for all")],
    secret: Annotated[str | None, typer.Option(help="whsec_<base64>; generated when omitted")] = None,
    description: str = "",
) -> None:
    """Subscribe a URL; prints the subscription id and its signing secret."""
    try:
        with open_database().session() as session:
            row = webhooks.create(session, url, event, datetime.now(UTC), secret, description)
    except InvalidInput as exc:
        raise fail(str(exc), 2) from exc
    typer.echo(f"subscription {row.id}: {row.url} ({', '.join(row.event_types)})")
    typer.echo(f"secret: {row.secrets[0]}")


@webhooks_app.command("list")
def list_subscriptions(
    secrets: Annotated[bool, typer.Option("--secrets", help="show the signing secrets")] = False,
) -> None:
    with open_database().session() as session:
        for row in webhooks.subscriptions(session):
            state = "active" if row.active else "paused"
            typer.echo(
                f"{row.id}\t{state}\t{row.url}\t{','.join(row.event_types)}\t{len(row.secrets)} secret(s)"
            )
            if secrets:
                for index, secret in enumerate(row.secrets):
                    typer.echo(f"\tsecret {index}: {secret}")


@webhooks_app.command("remove")
def remove(subscription_id: int) -> None:
    """Delete a subscription and its deliveries (the events stay)."""
    try:
        with open_database().session() as session:
            webhooks.remove(session, subscription_id)
    except NotFound as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"subscription {subscription_id}: removed")


@webhooks_app.command("dead")
def dead(limit: int = 100) -> None:
    """Deliveries that gave up: id, event, subscription, attempts, last error."""
    with open_database().session() as session:
        for delivery, event in webhooks.deliveries(session, DeliveryState.DEAD, limit=limit):
            typer.echo(
                f"{delivery.id}\t{event.event_id}\t{event.type}\tsubscription {delivery.subscription_id}\t"
                f"{delivery.attempts} attempts\t{delivery.last_error}"
            )


@webhooks_app.command("replay")
def replay(delivery_ids: list[int]) -> None:
    """Queue dead deliveries again; the worker sends them with a fresh 24 h retry window."""
    try:
        with open_database().session() as session:
            for delivery_id in delivery_ids:
                webhooks.replay_delivery(session, delivery_id, datetime.now(UTC))
    except (NotFound, Conflict) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"queued again: {', '.join(map(str, delivery_ids))}")


@webhooks_app.command("worker")
def worker(
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 10.0,
    poll: Annotated[float, typer.Option(help="seconds between polls when idle")] = 1.0,
    lease: Annotated[
        float, typer.Option(help="seconds a claim lasts before another worker may retry")
    ] = 60.0,
) -> None:
    """Deliver webhooks until SIGINT/SIGTERM (several workers may run against one database)."""
    db = open_database()
    delivery = DeliveryWorker(db, timeout=timeout, lease=lease, poll_interval=poll)

    async def main() -> None:
        stop = asyncio.Event()
        waiter = asyncio.ensure_future(stop_signal())
        waiter.add_done_callback(lambda _: stop.set())
        await delivery.run(stop)

    asyncio.run(main())
