"""Logging, configured once per process: loguru (pipecat's logger) to stderr at the configured level."""

import sys

from loguru import logger


def configure_logging(level: str = "INFO") -> None:
    """Send every log line (ours and pipecat's) to stderr in one format."""
    logger.remove()
    logger.add(sys.stderr, level=level.upper(), format="{time:HH:mm:ss.SSS} {level: <7} {name}: {message}")
