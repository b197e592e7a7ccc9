"""`voicebot simulate SCRIPT --say …`: a phone call without a phone, through the real voice pipeline."""

from __future__ import annotations

import asyncio

import typer

from bot.asgi import ServerStartError
from bot.cli import app, fail, settings
from bot.cli.chat import chosen_script, parse_vars
from bot.dialog.engine import DialogError
from bot.rasa.dialog_service import dialog_client
from bot.rasa.errors import RasaError
from voice.models import ModelError


@app.command("simulate")
def simulate(
    script: str = typer.Argument(..., help="script id, e.g. reminder"),
    lang: str = typer.Option("ru", help="ru or en"),
    say: list[str] = typer.Option(
        [],
        help="the caller's next line, after each robot prompt (repeatable): words (' | ' = 1 s pause), '' for silence, dtmf:1#",
    ),
    var: list[str] = typer.Option([], help="script variable as key=value (repeatable)"),
    hangup_after: float = typer.Option(
        20.0, help="seconds the caller waits after its last line before hanging up"
    ),
    answer: str = typer.Option(
        "", help="what the callee says on picking up, before the robot speaks (e.g. алло)"
    ),
    amd: bool = typer.Option(False, help="answering-machine detection first, as on an outbound call"),
) -> None:
    """Synthesise the caller's lines (espeak-ng) and stream them in real time through VAD → Vosk → Rasa → TTS;
    writes the recording and transcript, prints the outcome and the per-turn latencies."""
    from bot.calls.caller_words import PauseError
    from bot.calls.recording import purge_recordings  # pipecat: imported only by this command
    from bot.calls.simulate import CallerLine, caller_speech, simulate_call

    config = settings()
    catalogue, chosen = chosen_script(config, script)
    try:
        lines = [CallerLine.parse(line) for line in say]
    except PauseError as exc:
        raise fail(str(exc), 2) from exc
    purge_recordings(config.voice.recordings_dir, config.voice.recordings_retention_days)

    async def run():
        async with dialog_client(config, catalogue) as client:
            greeting = await asyncio.to_thread(caller_speech, answer, lang) if answer else b""
            return await simulate_call(
                config,
                client,
                chosen,
                lang,
                parse_vars(var),
                lines,
                hangup_after=hangup_after,
                answer=greeting,
                detect_machine=amd,
            )

    try:
        record, line = asyncio.run(run())
    except (ModelError, DialogError) as exc:
        raise fail(str(exc), 2) from exc
    except (RasaError, ServerStartError) as exc:
        raise fail(str(exc), 3) from exc
    for entry in record.transcript:
        detail = f"  [{entry.intent or entry.event}]" if entry.speaker == "caller" else ""
        typer.echo(f"{entry.at:7.2f}s {entry.speaker:6} {entry.text or '(silence)'}{detail}")
    if record.amd:
        typer.echo(f"answering-machine detection: {record.amd.verdict}: {record.amd.reason}")
    typer.echo(f"outcome: {record.outcome} {record.outcome_data or ''}  (ended by {line.ended_by})")
    for turn in record.turns:
        if turn["ms"]:
            stages = "  ".join(f"{k} {v:.0f}" for k, v in turn["ms"].items())
            typer.echo(f"turn {turn['index']} {turn['kind']:7} ms: {stages}")
    typer.echo(f"recording: {record.recording}")
