"""`voicebot bench …`: benchmarks that print numbers (speed claims live here, not in tests)."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import typer

from bot.asgi import ServerStartError
from bot.cli import TEST_ASR_MODEL, app, fail, settings
from bot.config import ROOT, Settings
from bot.dialog.catalogue import Catalogue, trained_intents
from bot.dialog.loader import ScriptErrors
from bot.rasa.client import RasaClient
from bot.rasa.dialog_service import dialog_client, load_valid_catalogue
from bot.rasa.errors import RasaError

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks.")
app.add_typer(bench_app, name="bench")


def _print_report(
    config: Settings, catalogue: Catalogue, bench: Callable[[RasaClient], Awaitable[str]]
) -> None:
    """Print the report `bench` makes with a client of the dialog service (the running one, or one started for
    it); exit 3 when the service fails."""

    async def run() -> str:
        async with dialog_client(config, catalogue) as client:
            return await bench(client)

    try:
        typer.echo(asyncio.run(run()))
    except (RasaError, ServerStartError) as exc:
        raise fail(str(exc), 3) from exc


@bench_app.command("nlu")
def nlu() -> None:
    """Held-out intent accuracy per language, confusions, and median NLU and dialog-turn latency."""
    from bot.devtools import bench_nlu

    config = settings()
    try:
        catalogue = load_valid_catalogue(config)
    except ScriptErrors as exc:
        raise fail(str(exc), 2) from exc

    async def bench(client: RasaClient) -> str:
        report, _ = await bench_nlu.run(client, catalogue, ROOT)
        return report

    _print_report(config, catalogue, bench)


@bench_app.command("dialogs")
def dialogs(
    lang: str = typer.Option("", help="only this language (ru or en)"),
    script: str = typer.Option("", help="only this script"),
    show_failures: bool = typer.Option(True, "--show-failures/--quiet", help="list each failed conversation"),
    path: Path = typer.Option(ROOT / "bench" / "dialogs", help="the conversation set"),
) -> None:
    """Whole conversations through the real engine: success per script and language, failures, confusions."""
    from bot.devtools import bench_dialogs, bench_dialogs_set

    config = settings()
    today = bench_dialogs.bench_today()
    try:
        catalogue = load_valid_catalogue(config)
        intents = bench_dialogs_set.known_intents(trained_intents(config.paths.training_data_dir))
        conversations = bench_dialogs_set.load_set(path, catalogue, intents, today)
    except ScriptErrors as exc:
        raise fail(str(exc), 2) from exc
    chosen = [c for c in conversations if c.lang == (lang or c.lang) and c.script == (script or c.script)]
    if not chosen:
        raise fail(f"no conversations for lang={lang or 'any'} script={script or 'any'} in {path}", 2)

    async def bench(client: RasaClient) -> str:
        results = await bench_dialogs.run_set(client, catalogue, chosen)
        return bench_dialogs.report(results, today, show_failures)

    _print_report(config, catalogue, bench)


PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


@bench_app.command("campaigns", context_settings=PASS_THROUGH)
def campaigns(ctx: typer.Context) -> None:
    """Contact import rows/s and dialer scheduling decisions/s (`--help` for options)."""
    from bot.devtools import bench_campaigns

    raise typer.Exit(bench_campaigns.main(ctx.args))


@bench_app.command("upload", context_settings=PASS_THROUGH)
def upload(ctx: typer.Context) -> None:
    """Dashboard contact upload of 100,000 rows: stage times, peak memory, another page's latency meanwhile."""
    from bot.devtools import bench_upload

    raise typer.Exit(bench_upload.main(ctx.args))


@bench_app.command("render", context_settings=PASS_THROUGH)
def render(ctx: typer.Context) -> None:
    """Speech rendering: every shipped prompt said as words, ms per prompt (`--help` for options)."""
    from bot.devtools import bench_render

    raise typer.Exit(bench_render.main(ctx.args))


@bench_app.command("redact", context_settings=PASS_THROUGH)
def redact(ctx: typer.Context) -> None:
    """Redaction: held-out caller phrases it wrongly masks, ms per phrase and per log line (`--help`)."""
    from bot.devtools import bench_redact

    raise typer.Exit(bench_redact.main(ctx.args))


@bench_app.command("sip", context_settings=PASS_THROUGH)
def sip(ctx: typer.Context) -> None:
    """Concurrent SIPp calls through Kamailio to one robot process (`--help` for options)."""
    from bot.devtools import bench_sip

    raise typer.Exit(bench_sip.main(ctx.args))


@bench_app.command("calls", context_settings=PASS_THROUGH)
def calls(ctx: typer.Context) -> None:
    """Concurrent SIPp calls to one robot process with the real speech pipeline, and the same calls echoed:
    latency, CPU, memory and RTP pacing measured on the wire (`--help` for options)."""
    from bot.devtools import bench_calls

    raise typer.Exit(bench_calls.main(ctx.args, tiny_model=TEST_ASR_MODEL))


@bench_app.command("voice")
def voice(
    calls: int = typer.Option(10, min=1, help="concurrent simulated calls"),
    script: str = typer.Option("reminder", help="script id"),
    lang: str = typer.Option("ru", help="ru or en"),
    say: list[str] = typer.Option(["да"], help="the caller's lines (as for `voicebot simulate`)"),
    var: list[str] = typer.Option(
        [], help="script variable key=value; default: the test variables of the script"
    ),
    asr: str = typer.Option("", help="Vosk model directory or catalogue id instead of voice.asr_<lang>"),
) -> None:
    """N simulated calls at once through VAD → Vosk → Rasa → TTS: end of speech → first audio p50/p95, CPU and
    memory per call, event-loop lag."""
    from bot.calls.simulate import CallerLine
    from bot.cli.chat import chosen_script, parse_vars
    from bot.devtools.bench_voice import run_voice_bench  # pipecat: imported only by this command
    from voice.models import ModelError

    config = settings()
    if asr:
        config = config.model_copy(update={"voice": config.voice.model_copy(update={f"asr_{lang}": asr})})
    catalogue, chosen = chosen_script(config, script)
    variables = parse_vars(var) if var else BENCH_VARIABLES.get(script, {})

    async def bench(client: RasaClient) -> str:
        lines = [CallerLine.parse(line) for line in say]
        report = await run_voice_bench(config, client, chosen, lang, variables, lines, calls)
        return report.text()

    try:
        _print_report(config, catalogue, bench)
    except ModelError as exc:
        raise fail(str(exc), 2) from exc


BENCH_VARIABLES = {
    "reminder": {"name": "Анна", "company": "Банк Восток", "amount": "10500", "due_date": "2026-12-01"},
    "survey": {"name": "Анна", "company": "Магазин Уют"},
    "inbound": {"company": "Магазин Уют"},
}


@bench_app.command("pauses")
def pauses(
    lang: str = typer.Option("", help="only this language (ru or en)"),
    path: Path = typer.Option(ROOT / "bench" / "pauses", help="the paused-answer set"),
    concurrency: int = typer.Option(3, min=1, help="simulated calls at a time"),
    limit: int = typer.Option(
        0, min=0, help="only the first N answers and N barge-ins per language (0: all)"
    ),
    asr_ru: str = typer.Option("", help="Vosk model directory or catalogue id instead of voice.asr_ru"),
    asr_en: str = typer.Option("", help="Vosk model directory or catalogue id instead of voice.asr_en"),
) -> None:
    """Caller answers with 0.3–0.8 s pauses inside, through VAD → Vosk → Rasa → TTS: false cut-ins per kind and
    pause length, and barge-in stop time p50/p95. Exit 2 (file:line errors) when the set is invalid."""
    from bot.devtools.bench_pauses import run_pause_bench  # pipecat: imported only by this command
    from bot.devtools.bench_pauses_set import load_pause_set, only

    config = settings()
    overrides = {f"asr_{code}": spec for code, spec in (("ru", asr_ru), ("en", asr_en)) if spec}
    if overrides:
        config = config.model_copy(update={"voice": config.voice.model_copy(update=overrides)})
    try:
        catalogue = load_valid_catalogue(config)
        chosen = only(load_pause_set(path, catalogue), lang, limit)
    except ScriptErrors as exc:
        raise fail(str(exc), 2) from exc
    if not chosen.answers and not chosen.barge_ins:
        raise fail(f"no answers for lang={lang or 'any'} in {path}", 2)

    async def bench(client: RasaClient) -> str:
        report = await run_pause_bench(
            config, client, catalogue, chosen, concurrency=concurrency, progress=typer.echo
        )
        return report.text()

    _print_report(config, catalogue, bench)
