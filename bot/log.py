"""Logging, configured once per process: loguru (pipecat's logger) to stderr at the configured level, with the
standard `logging` records of `telephony/` and the libraries (uvicorn, SQLAlchemy, httpx) routed into it.
Identifiers in a line (cards, passports, SNILS, INN, phones, e-mails: `bot.privacy`) and the sensitive slots of the
calls in progress are masked before any sink sees it, and so are those in a traceback's text; tracebacks show no
variable values."""

import logging
import sys
from typing import Any

from loguru import logger

from bot.privacy.live import LIVE_CALLS
from bot.privacy.redact import redact

_CHATTY = ("httpx", "httpcore", "alembic")  # a line per HTTP request or migration step is not news


class _ToLoguru(logging.Handler):
    """Hand a standard `logging` record to loguru under its own logger name, level and caller."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.patch(lambda r: r.update(name=record.name, function=record.funcName, line=record.lineno)).opt(
            exception=record.exc_info
        ).log(level, record.getMessage())


def redact_record(record: dict[str, Any]) -> None:
    """A loguru patcher: the message with its identifiers masked (the language of a log line is not known)."""
    record["message"] = redact(record["message"], None, secrets=LIVE_CALLS.secrets()).text


def _to_stderr(message: Any) -> None:
    """The stderr sink: a line with a traceback is masked whole (an exception's text may quote what was said)."""
    text = str(message)
    sys.stderr.write(
        redact(text, None, secrets=LIVE_CALLS.secrets()).text if message.record["exception"] else text
    )


def configure_logging(level: str = "INFO") -> None:
    """Send every log line (ours, pipecat's, telephony's and the libraries') to stderr in one format."""
    logger.remove()
    logger.configure(patcher=redact_record)
    logger.add(
        _to_stderr,
        level=level.upper(),
        format="{time:HH:mm:ss.SSS} {level: <7} {name}: {message}",
        diagnose=False,
    )
    logging.basicConfig(handlers=[_ToLoguru()], level=level.upper(), force=True)
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
