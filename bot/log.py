"""Logging, configured once per process: loguru (pipecat's logger) to stderr at the configured level, with the
standard `logging` records of `telephony/` and the libraries (uvicorn, SQLAlchemy, httpx) routed into it."""

import logging
import sys

from loguru import logger

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


def configure_logging(level: str = "INFO") -> None:
    """Send every log line (ours, pipecat's, telephony's and the libraries') to stderr in one format."""
    logger.remove()
    logger.add(sys.stderr, level=level.upper(), format="{time:HH:mm:ss.SSS} {level: <7} {name}: {message}")
    logging.basicConfig(handlers=[_ToLoguru()], level=level.upper(), force=True)
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
