"""A throwaway PostgreSQL cluster on loopback (Debian's binaries), which a test may stop and start again."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """`initdb` in a temporary folder and `pg_ctl` around it; `url` is the cluster's base URL (no database)."""

    def __init__(self) -> None:
        initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not initdbs:
            pytest.skip("PostgreSQL server binaries absent: apt-get install postgresql")
        pytest.importorskip("psycopg", reason="psycopg[binary] not installed")
        self.bindir = Path(initdbs[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="voicebot-pg-"))  # not under pytest's 0700 root
        self.data = self.root / "data"
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self._pg("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _pg(self, tool: str, *args: object, check: bool = True) -> None:
        subprocess.run([*self.as_postgres, self.bindir / tool, *args], check=check, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._pg("pg_ctl", "-D", self.data, "-o", options, "-l", self.root / "log", "-w", "start")

    def stop(self) -> None:
        """Stop at once (as a crash or a fail-over would): connections are cut."""
        self._pg("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
