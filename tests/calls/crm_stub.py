"""A CRM on loopback for the caller lookup: a real HTTP server in a thread that answers from a table of callers."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Crm:
    """`callers` maps a number to the JSON answered (a dict, or raw bytes); unknown numbers get 404."""

    callers: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@contextlib.contextmanager
def running_crm(crm: Crm) -> Iterator[Crm]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(parse_qs(urlsplit(self.path).query))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer({k: [v] for k, v in json.loads(body).items()})

        def _answer(self, query: dict[str, list[str]]) -> None:
            caller = query.get("caller", [""])[0]
            crm.requests.append({"method": self.command, "query": query, "headers": dict(self.headers)})
            time.sleep(crm.delay)
            answer = crm.callers.get(caller)
            if answer is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the platform gave up waiting
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    crm.url = f"http://127.0.0.1:{server.server_address[1]}/lookup"
    try:
        yield crm
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
