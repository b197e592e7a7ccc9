"""Fixtures for webhook tests: a real HTTP receiver on loopback that misbehaves on demand (databases: the `db`
fixture of tests/conftest.py)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int | None  # None: the receiver hung up or stalled


@dataclass
class Receiver:
    """Answers each request with the next scripted behaviour ("ok", "500", "429", "400", "timeout", "drop",
    "trickle", "late": 200 after `stall` seconds),
    then "ok" forever (or `default`); records every request. "timeout" holds the request unanswered until the
    sender hangs up, at most `stall` seconds; "trickle" answers 200 with a body of 20 bytes sent one every
    `stall / 20` seconds (each read is quick, the whole answer is slow)."""

    url: str
    script: list[str] = field(default_factory=list)
    default: str = "ok"
    stall: float = 2.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_behaviour(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else self.default

    def delivered_ids(self) -> set[str]:
        return {r.headers["webhook-id"] for r in self.requests if r.status is not None and r.status < 300}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request (crash test): a real server sees no request
                return
            behaviour = receiver.next_behaviour()
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = (
                None
                if behaviour in ("timeout", "drop")
                else 200
                if behaviour in ("ok", "trickle", "late")
                else int(behaviour)
            )
            with receiver.lock:
                receiver.requests.append(Received(headers, body, status))
            if behaviour == "timeout":
                self.connection.settimeout(receiver.stall)
                with contextlib.suppress(OSError):
                    self.connection.recv(1)  # b"" once the sender gives up
                return
            if behaviour == "late":
                time.sleep(receiver.stall)
            if behaviour == "trickle":
                self.send_response(200)
                self.send_header("content-length", "20")
                self.end_headers()
                with contextlib.suppress(OSError):  # the sender hung up mid-body
                    for _ in range(20):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(receiver.stall / 20)
                return
            if behaviour == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a worker's whole batch connects at once
    daemon_threads = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _handler(Receiver("")))
    rec = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    server.RequestHandlerClass = _handler(rec)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
