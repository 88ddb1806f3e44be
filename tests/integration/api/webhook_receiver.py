"""A real HTTP receiver for delivery tests: a threaded http.server on a free port.

Each path has a script of statuses to answer in turn (then 200), an optional delay,
and every request is kept (headers and the raw body) for the test to check.
"""

import hashlib
import hmac
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    delay_seconds: float = 0.0
    in_progress: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, path: str, *statuses: int) -> None:
        """Answer the next requests to ``path`` with these statuses, then 200."""
        self.scripts[path].extend(statuses)

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


def verify_signature(
    secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300
) -> bool:
    """What a receiver does (api.md): parse t and v1, recompute, compare in constant time."""
    parts = dict(item.split("=", 1) for item in headers["x-webhook-signature"].split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    if headers["x-webhook-timestamp"] != parts["t"]:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.in_progress += 1
                receiver.most_at_once = max(receiver.most_at_once, receiver.in_progress)
                script = receiver.scripts.get(self.path)
                status = script.pop(0) if script else 200
            try:
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                with receiver.lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            finally:
                with receiver.lock:
                    receiver.in_progress -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
