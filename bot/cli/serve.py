"""`voicebot serve`: the platform in one process — dialog service, REST API, SIP phone, dialer, webhook delivery,
data retention.

SIGTERM or Ctrl-C drains the worker: no new calls, the calls up go on for `calls.drain_seconds`, then the rest are
hung up and the process exits."""

import asyncio

from loguru import logger

from bot.api.app import API_PREFIX
from bot.asgi import ServerStartError, serve_app
from bot.call_results.store import CallStore
from bot.calls.phone_calls import PhoneCalls, check_inbound
from bot.calls.recording import purge_recordings_periodically
from bot.campaigns.agent_pacing import AgentPacer, BoardCapacity, script_queue
from bot.campaigns.dialer import Dialer
from bot.campaigns.nodes import NodeNameInUse, node_name
from bot.cli import app, fail, open_database, run_service, settings, stop_signal
from bot.config import Settings
from bot.core.clock import SystemClock
from bot.core.secrets import SecretKeyError
from bot.crm.delivery import DeliveryWorker
from bot.dialog import versions
from bot.dialog.engine import DialogError
from bot.dialog.loader import ScriptErrors
from bot.privacy.retention import enforce_retention_periodically
from bot.privacy.rotation import check_readable
from bot.rasa.dialog_service import DialogService
from bot.rasa.errors import RasaError
from bot.web import create_app
from telephony import RegistrationError
from voice.models import ModelError, asr_model_dir


@app.command("serve")
def serve() -> None:
    """Run the platform until Ctrl-C: dialog service, REST API, SIP phone (inbound calls), dialer, CRM webhooks."""
    config = settings()

    async def run() -> None:
        database = open_database(config)
        with database.session() as session:
            check_readable(session)  # the key ring fits the stored secrets
        async with DialogService(config) as dialogs:
            dialogs.catalogue.older_versions = versions.older_versions(database.session)  # campaigns' pinned
            check_inbound(config, dialogs.catalogue)
            web = create_app(config, db=database)
            web.state.dialogs = dialogs  # the script studio's chat, and saved versions going live
            api = await serve_app(web, config.api.host, config.api.port)
            store = CallStore(database, node_name(config.dialer.node), config.contacts.default_region)
            calls = PhoneCalls(config, dialogs.catalogue, dialogs.client, store=store)
            web.state.phone_calls = calls  # the dashboard's test calls ("call me" in the campaign wizard)
            pacer = AgentPacer(  # campaigns paced by free agents read the hand-off desk's board
                database,
                BoardCapacity(calls.handoffs.board),
                lambda script: script_queue(dialogs.catalogue.scripts, script),
            )
            dialer = Dialer(database, calls, SystemClock(), config.dialer, config.compliance, pacer)
            web.state.dialer = dialer  # its pause reason in /api/v1/dialer and the campaigns page
            # before the phone takes calls: this node's lease (NodeNameInUse here, not in a background task), and
            # what its previous process or dead nodes left (attempts requeued, calls ended worker_lost)
            await asyncio.to_thread(dialer.reconcile)
            async with calls:
                stop = asyncio.Event()
                dialing = asyncio.create_task(dialer.run(stop))
                webhooks = asyncio.create_task(DeliveryWorker(database).run(stop))
                voice = config.voice
                retention = asyncio.create_task(
                    purge_recordings_periodically(voice.recordings_dir, voice.recordings_retention_days, stop)
                )
                data_retention = asyncio.create_task(
                    enforce_retention_periodically(database, config, SystemClock(), stop, store.node)
                )
                base = f"http://{config.api.host}:{config.api.port}{API_PREFIX}"
                phone = config.telephony
                logger.info(
                    f"platform ready: API {base} (docs {base}/docs); SIP {phone.local_host}:{phone.sip_port}"
                    f"{f', registered at {phone.registrar}' if phone.registrar and not phone.trunk_mode else ''}; "
                    f"inbound: {_routes(config)}"
                )
                _warn_missing_models(config)
                await stop_signal()
                drain = config.calls.drain_seconds
                logger.info(f"stopping: no new calls; the calls up may go on for up to {drain:.0f} s")
                stop.set()  # the dialer claims no more contacts
                if cut := await calls.drain(drain):
                    logger.warning(
                        f"{cut} call(s) still up after {drain:.0f} s were hung up (ended_by shutdown)"
                    )
                await asyncio.gather(dialing, webhooks, retention, data_retention)
            await api.stop_serving()

    try:
        run_service(run)
    except (
        ScriptErrors,
        RasaError,
        ServerStartError,
        DialogError,
        RegistrationError,
        NodeNameInUse,
        SecretKeyError,
        OSError,
    ) as exc:
        raise fail(str(exc)) from exc


def _routes(config: Settings) -> str:
    routes = config.calls.inbound_routes
    return ", ".join(f"{r.did} → {r.script}" for r in routes) if routes else "no route (calls refused)"


def _warn_missing_models(config: Settings) -> None:
    """Calls fail without speech models; say so at start-up rather than at the first ring."""
    for lang in ("ru", "en"):
        try:
            asr_model_dir(config.voice, lang)
        except ModelError as exc:
            logger.warning(f"no {lang} speech recognition, calls in {lang} will fail: {exc}")
