"""A real HTTP receiver for delivery tests: a threaded http.server on a free port.

Each path has a script of statuses to answer in turn (then 200), an optional delay,
and every request is kept (headers, the raw body, the connection it came on) for the test
to check. ``keep_alive=True`` answers HTTP/1.1 and keeps connections open, as most servers
do; by default it answers HTTP/1.0 and closes each one.
"""

import hashlib
import hmac
import threading
import time
from collections import Counter, defaultdict
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
    connection: tuple[str, int]  # the sender's address and port: one per connection


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    delay_seconds: float = 0.0
    in_progress: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Event IDs being answered right now, and those that arrived while already being
    # answered (the same delivery attempted twice at once).
    handling: Counter[str] = field(default_factory=Counter)
    overlapping: list[str] = field(default_factory=list)
    delay_by_path: dict[str, float] = field(default_factory=dict)
    started: list[tuple[str, float]] = field(default_factory=list)  # (path, time)

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


def start_receiver(*, keep_alive: bool = False) -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            event_id = self.headers.get("X-Webhook-ID") or ""
            with receiver.lock:
                receiver.in_progress += 1
                receiver.most_at_once = max(receiver.most_at_once, receiver.in_progress)
                if receiver.handling[event_id]:
                    receiver.overlapping.append(event_id)
                receiver.handling[event_id] += 1
                receiver.started.append((self.path, time.monotonic()))
                script = receiver.scripts.get(self.path)
                status = script.pop(0) if script else 200
            try:
                delay = receiver.delay_by_path.get(self.path, receiver.delay_seconds)
                if delay:
                    time.sleep(delay)
                with receiver.lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                            status,
                            (str(self.client_address[0]), int(self.client_address[1])),
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up (a timeout test): nothing to answer
            finally:
                with receiver.lock:
                    receiver.in_progress -= 1
                    receiver.handling[event_id] -= 1

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver
