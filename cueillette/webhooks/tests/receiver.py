"""A webhook receiver on loopback for tests: verifies signatures, counts deliveries, and fails
or stalls on demand (``fail_next``, ``stall_next``)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cueillette.webhooks import signing


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    stall_next: int = 0
    stall_seconds: float = 2.0
    status: int = 200
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cueillette?src=test"

    @property
    def ok(self) -> list[Received]:
        return [r for r in self.received if r.verified]

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                verified = bool(outer.secret) and signing.verify(
                    outer.secret, self.headers.get("Cueillette-Signature", ""), body
                )
                outer.received.append(Received(dict(self.headers.items()), body, verified))
                if outer.stall_next > 0:
                    outer.stall_next -= 1
                    time.sleep(outer.stall_seconds)  # the sender has given up by now
                    return
                if outer.fail_next > 0:
                    outer.fail_next -= 1
                    code = 500
                else:
                    code = outer.status if verified else 401
                try:
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
