"""A call's rows are kept while the database is down and written when it is back.

`PendingWrites` runs the call-row writes of this process in order. A write the database refuses because it cannot
be reached (restarting, failing over, network cut: SQLAlchemy's `OperationalError`/`InterfaceError`) is kept with
the moment it happened and retried with back-off until it lands; every later write waits behind it, so each call's
rows land in order (started, answered, ended) with their own times. The calls themselves never wait for the
database. Any other error is logged and that write dropped, as before (retrying it would not help).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from loguru import logger

from bot.call_results.store import CallStore
from bot.storage.db import UNREACHABLE

RETRY_BACKOFF = (0.5, 1.0, 2.0, 5.0)  # seconds between tries while the database stays down

Write = Callable[[CallStore, datetime], Awaitable[None]]


@dataclass(frozen=True)
class _Pending:
    what: str
    call_id: str
    at: datetime
    write: Write


class PendingWrites:
    """The call-row writes of one process (see the module docstring)."""

    def __init__(self, store: CallStore) -> None:
        self.store = store
        self._queue: deque[_Pending] = deque()
        self._retrying: asyncio.Task | None = None
        self._landed = asyncio.Event()

    @property
    def pending(self) -> int:
        """Writes waiting for the database."""
        return len(self._queue)

    async def write(self, what: str, call_id: str, write: Write) -> None:
        """Run `write(store, now)`; if the database is unreachable, keep it for later (never raises)."""
        item = _Pending(what, call_id, datetime.now(UTC), write)
        if self._queue:  # the database is down: keep the order
            self._queue.append(item)
            return
        try:
            await write(self.store, item.at)
        except UNREACHABLE as exc:
            logger.warning(
                f"call {call_id}: the database is unreachable; '{what}' kept until it is back ({exc})"
            )
            self._queue.append(item)
            self._landed.clear()
            self._retrying = asyncio.create_task(self._retry(), name="call-rows-retry")
        except Exception:
            logger.exception(f"call {call_id}: recording '{what}' in the database failed")

    async def flush(self, timeout: float) -> int:
        """Wait up to `timeout` s for the kept writes to land; returns how many are still waiting (logged)."""
        if self._queue:
            try:
                await asyncio.wait_for(self._landed.wait(), timeout)
            except TimeoutError:
                calls = sorted({item.call_id for item in self._queue})
                logger.error(f"database still unreachable: rows of {len(calls)} calls not written: {calls}")
        if self._retrying:
            self._retrying.cancel()
        return len(self._queue)

    async def _retry(self) -> None:
        tries = 0
        written = 0
        while self._queue:
            item = self._queue[0]
            try:
                await item.write(self.store, item.at)
            except UNREACHABLE:
                await asyncio.sleep(RETRY_BACKOFF[min(tries, len(RETRY_BACKOFF) - 1)])
                tries += 1
                continue
            except Exception:
                logger.exception(f"call {item.call_id}: recording '{item.what}' in the database failed")
            self._queue.popleft()
            written += 1
        logger.info(f"the database is back: {written} kept call-row writes landed")
        self._landed.set()
