"""One logging setup: the standard `logging` lines of telephony/ and the libraries reach loguru's sinks."""

import logging
import sys

import pytest
from loguru import logger

from bot.log import configure_logging


@pytest.fixture
def lines():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG")
    seen: list[str] = []
    logger.add(lambda m: seen.append(m), format="{level} {name}:{line} {message}")
    yield seen
    logger.remove()
    logger.configure(patcher=None)
    logger.add(sys.stderr)  # loguru's default, as before the test
    root.handlers[:], root.level = handlers, level
    for name in ("httpx", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_a_telephony_line_appears_with_its_module_level_and_line(lines):
    logging.getLogger("telephony.sip.transport").warning("bad datagram from %s", "198.51.100.7")
    [line] = [x for x in lines if "bad datagram" in x]
    assert line.startswith("WARNING telephony.sip.transport:")
    assert "bad datagram from 198.51.100.7" in line


def test_an_exception_logged_through_logging_keeps_its_traceback(lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("telephony.call").exception("call failed")
    [line] = [x for x in lines if "call failed" in x]
    assert "ValueError: boom" in line


def test_chatty_libraries_say_only_warnings(lines):
    logging.getLogger("httpx").info("HTTP Request: POST http://rasa/model/parse 200")
    logging.getLogger("httpx").warning("retrying")
    logging.getLogger("telephony.phone").debug("registered")
    assert not [x for x in lines if "HTTP Request" in x]
    assert [x for x in lines if "retrying" in x] and [x for x in lines if "registered" in x]
