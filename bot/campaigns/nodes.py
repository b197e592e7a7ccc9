"""Which dialer nodes are alive: each node holds a lease for as long as its process runs.

PostgreSQL: a session advisory lock on a connection of its own (the server drops it when the process or its
connection dies). SQLite: an exclusive `flock` on a file next to the database (the kernel drops it when the
process dies). A node whose lease nobody holds is dead, and its attempts still in flight are stale.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import tempfile
import time
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import IO

from loguru import logger
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from bot.storage.db import UNREACHABLE, Database, advisory_key, connect_args

ACQUIRE_WAIT = 5.0  # seconds to wait for a lease another node is probing


def node_name(configured: str = "") -> str:
    """This process's node name: the configured one, or `host:pid` (unique among live processes of a host)."""
    return configured or f"{socket.gethostname()[:50]}:{os.getpid()}"


class NodeNameInUse(RuntimeError):
    """Another live process already runs a dialer under this node name."""


class NodeLease:
    """This node's lease, and a probe that finds dead nodes."""

    def __init__(self, db: Database, node: str) -> None:
        self.node = node
        self._db = db
        self._pg: Connection | None = None
        self._file: IO[bytes] | None = None
        self._finalizer: weakref.finalize | None = None
        database = db.url.database if db.is_sqlite else None
        if database in (None, "", ":memory:"):  # PostgreSQL, or a database only this process can see
            self._dir = Path(tempfile.gettempdir()) / f"voicebot-nodes-{os.getpid()}"
        else:
            self._dir = Path(f"{database}.nodes")

    @property
    def held(self) -> bool:
        return self._pg is not None or self._file is not None

    def acquire(self) -> None:
        """Take this node's lease (idempotent); `NodeNameInUse` if a live process holds it."""
        deadline = time.monotonic() + ACQUIRE_WAIT
        while not self.held:
            if self._db.is_sqlite:
                self._file = self._lock_file(self.node)
                resource = self._file
            else:
                self._pg = self._lock_pg()
                resource = self._pg
            if resource is not None:
                self._finalizer = weakref.finalize(self, resource.close)
            elif time.monotonic() < deadline:
                time.sleep(0.1)
            else:
                raise NodeNameInUse(
                    f"dialer node name {self.node!r} is in use by another running process: give each process "
                    "its own dialer.node (or leave it empty for host:pid)"
                )

    def renew(self) -> None:
        """Take the lease again if the database lost it (PostgreSQL restarted: its connection and lock are gone);
        else as `acquire`. Raises `UNREACHABLE` errors while the database is down."""
        if self._pg is not None:
            try:
                self._pg.scalar(text("SELECT 1"))
            except UNREACHABLE:
                with suppress(*UNREACHABLE):
                    self._pg.close()
                self._pg = None
                logger.warning(
                    f"dialer node {self.node}: the database lost this node's lease; taking it again"
                )
        self.acquire()

    @contextmanager
    def dead(self, nodes: list[str]) -> Iterator[list[str]]:
        """The nodes of `nodes` no live process holds (this one excluded), locked until the block ends so none
        of them can start meanwhile and claim under its old name."""
        assert self.held, "acquire this node's lease first"
        found: list[str] = []
        with ExitStack() as stack:
            for node in nodes:
                if node == self.node:
                    continue
                if self._db.is_sqlite:
                    handle = self._lock_file(node)
                    if handle is not None:
                        stack.callback(handle.close)
                        found.append(node)
                    continue
                key = {"k": advisory_key(f"dialer-node:{node}")}
                if self._pg.scalar(text("SELECT pg_try_advisory_lock(:k)"), key):
                    stack.callback(self._pg.execute, text("SELECT pg_advisory_unlock(:k)"), key)
                    found.append(node)
            yield found

    def release(self) -> None:
        if (
            self._pg is not None
        ):  # the server drops the lock with the connection, but only once its backend ends
            with suppress(*UNREACHABLE):
                self._pg.execute(text("SELECT pg_advisory_unlock_all()"))
        if self._finalizer is not None:
            self._finalizer()
        self._pg = self._file = self._finalizer = None

    def _lock_pg(self) -> Connection | None:
        """A connection of its own holding this node's advisory lock, or None if another session holds it."""
        # closing the connection drops the lock; so does the server once the connection is silent for ~11 s
        engine = create_engine(self._db.url, poolclass=NullPool, connect_args=connect_args(self._db.url))
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        key = {"k": advisory_key(f"dialer-node:{self.node}")}
        if connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), key):
            return connection
        connection.close()
        return None

    def _lock_file(self, node: str) -> IO[bytes] | None:
        """The node's lock file, exclusively locked; None when another open file holds the lock."""
        self._dir.mkdir(parents=True, exist_ok=True)
        handle = (self._dir / f"{hashlib.sha256(node.encode()).hexdigest()[:24]}.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle
