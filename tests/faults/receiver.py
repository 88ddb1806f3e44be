"""A webhook receiver for the fault suite: checks each signature, stores each event once.

Deliveries are at least once (`app/core/webhooks/delivery.py`): a worker killed between
the receiver's 200 and recording it delivers the event again, with the same
``X-Webhook-ID``. The receiver counts every arrival and stores each event ID once, as the
console's receiver does. ``in_flight`` lets the suite kill the worker mid-delivery.
"""

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from tests.faults.cluster import free_port


class WebhookReceiver:
    """``POST /webhooks/cba`` on a free port of 127.0.0.1, in a thread.

    Args:
        secret: What the core signs with (the subscription's secret).
        delay: Seconds each request is held before the answer (so a kill lands mid-delivery).
    """

    def __init__(self, secret: str, delay: float = 0.02) -> None:
        self.secret = secret
        self.delay = delay
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/webhooks/cba"
        self.arrivals: Counter[str] = Counter()  # event ID -> deliveries received
        self.stored: dict[str, dict[str, Any]] = {}  # event ID -> the event, stored once
        self.bad_signatures = 0
        self.in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        # A worker killed mid-delivery resets its connection: expected, not worth a traceback.
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: thousands of deliveries

            def do_POST(self) -> None:  # http.server's naming
                with receiver._lock:
                    receiver.in_flight += 1
                try:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    status = receiver.receive(self.headers, body)
                    time.sleep(receiver.delay)
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def receive(self, headers: Any, body: bytes) -> int:
        event_id = headers.get("X-Webhook-ID") or ""
        timestamp = headers.get("X-Webhook-Timestamp") or ""
        signature = headers.get("X-Webhook-Signature") or ""
        mac = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        if not hmac.compare_digest(signature, f"t={timestamp},v1={mac.hexdigest()}"):
            with self._lock:
                self.bad_signatures += 1
            return 401
        with self._lock:
            self.arrivals[event_id] += 1
            if event_id not in self.stored:  # a redelivery is acknowledged, stored once
                self.stored[event_id] = json.loads(body)
        return 200

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
