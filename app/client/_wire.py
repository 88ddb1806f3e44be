"""HTTP/1.1 keep-alive to the core on the event loop itself: the client's default transport.

httpx's own transport goes through httpcore, anyio's stream wrappers and h11 on every call,
and polls each pooled socket before reusing it. For a console that makes one or two calls
to one core per page, that was a third of its CPU. This transport speaks the same
HTTP/1.1 with an ``asyncio.Protocol`` per connection and httptools' parser (the one
uvicorn uses): a pooled connection knows it was closed because the loop told it so, and a
call is one write and the reads its answer needs.

What it does not do is left to httpx's transport (``http2=True``, a proxy): HTTP/2,
proxies, ``Expect: 100-continue``, upgrades. Errors are httpx's own exceptions, so the
retrying transport above treats them exactly as before.
"""

import asyncio
import ssl
import time
from collections import deque
from typing import cast

import httptools
import httpx

__all__ = ["KeepAliveTransport"]

# Below uvicorn's default keep-alive timeout (5 s): a connection idle this long is closed
# by us before the server can close it under a request we are writing.
KEEPALIVE_EXPIRY_SECONDS = 4.0


class _Answer:
    """One response as it arrives (httptools' callbacks)."""

    __slots__ = ("body", "complete", "headers", "status")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.status = 0
        self.complete = False


class _Connection(asyncio.Protocol):
    """One keep-alive connection to the core."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self._answer: _Answer | None = None
        self._waiter: asyncio.Future[_Answer] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._lost: BaseException | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None:
            # Bytes nobody asked for: the connection can no longer be trusted.
            self._fail(httpx.RemoteProtocolError("The core sent data without a request"))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"Malformed answer from the core: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(
                httpx.RemoteProtocolError("The core closed the connection before answering")
            )

    # -- httptools callbacks ---------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._answer is not None
        self._answer.headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._answer is not None
        self._answer.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        assert self._answer is not None
        self._answer.body.append(body)

    def on_message_complete(self) -> None:
        answer, waiter = self._answer, self._waiter
        assert answer is not None
        answer.complete = True
        if not self._parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # -- use -------------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, raw: bytes, seconds: float | None) -> _Answer:
        """Send one request and wait for its whole answer."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._answer = _Answer()
        self._waiter = loop.create_future()
        self.transport.write(raw)
        try:
            async with asyncio.timeout(seconds):
                answer = await self._waiter
        except TimeoutError:
            self.close()
            raise httpx.ReadTimeout("The core did not answer in time") from None
        finally:
            self._waiter = None
            self._answer = None
        self.idle_since = time.monotonic()
        return answer


def _timeouts(request: httpx.Request) -> dict[str, float | None]:
    found = request.extensions.get("timeout") or {}
    return {k: found.get(k) for k in ("connect", "read", "write", "pool")}


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    target = request.url.raw_path or b"/"
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    seen_length = False
    for name, value in request.headers.raw:
        if name.lower() == b"content-length":
            seen_length = True
        lines.append(name + b": " + value)
    if body and not seen_length:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """A pool of HTTP/1.1 keep-alive connections per origin.

    Args:
        limits: ``max_connections`` (at once, per transport) and
            ``max_keepalive_connections`` (kept idle) as httpx's pool has them.
        verify: TLS verification for ``https`` (an ``ssl.SSLContext``, or ``True``).
    """

    def __init__(
        self,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._idle: dict[tuple[bytes, bytes, int], deque[_Connection]] = {}
        self._max_idle = limits.max_keepalive_connections or 0
        self._slots = asyncio.Semaphore(limits.max_connections or 1_000_000)
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._open: set[_Connection] = set()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if isinstance(self._verify, ssl.SSLContext):
                self._ssl = self._verify
            else:
                self._ssl = ssl.create_default_context()
                if not self._verify:
                    self._ssl.check_hostname = False
                    self._ssl.verify_mode = ssl.CERT_NONE
        return self._ssl

    async def _connect(
        self, origin: tuple[bytes, bytes, int], seconds: float | None
    ) -> _Connection:
        scheme, host, port = origin
        name = host.decode("ascii")
        loop = asyncio.get_running_loop()
        secure = scheme == b"https"
        try:
            async with asyncio.timeout(seconds):
                _, connection = await loop.create_connection(
                    _Connection,
                    name,
                    port,
                    ssl=self._ssl_context() if secure else None,
                    server_hostname=name if secure else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"No connection to {name}:{port} in time") from None
        except OSError as exc:
            raise httpx.ConnectError(f"No connection to {name}:{port}: {exc}") from exc
        self._open.add(connection)
        return connection

    def _checkout(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < KEEPALIVE_EXPIRY_SECONDS:
                return connection
            self._discard(connection)
        return None

    def _checkin(self, origin: tuple[bytes, bytes, int], connection: _Connection) -> None:
        if connection.closed:
            self._discard(connection)
            return
        idle = self._idle.setdefault(origin, deque())
        if len(idle) >= self._max_idle:
            self._discard(connection)
            return
        idle.append(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in {"http", "https"}:
            raise httpx.UnsupportedProtocol(f"Unsupported scheme {url.scheme!r}")
        origin = (
            url.raw_scheme,
            url.raw_host,
            url.port or (443 if url.scheme == "https" else 80),
        )
        timeouts = _timeouts(request)
        body = await request.aread()
        raw = _request_bytes(request, body)
        try:
            async with asyncio.timeout(timeouts["pool"]):
                await self._slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("No free connection to the core in time") from None
        try:
            # A kept connection the core closed is known closed (the loop told it), and one
            # idle for nearly the server's keep-alive timeout is not reused: a request is
            # never written into a connection the core is closing. Nothing is sent twice
            # here; repeating what is safe to repeat is the retrying transport's decision.
            connection = self._checkout(origin) or await self._connect(origin, timeouts["connect"])
            try:
                answer = await connection.exchange(raw, timeouts["read"])
            except BaseException:
                self._discard(connection)
                raise
            self._checkin(origin, connection)
        finally:
            self._slots.release()
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(b"".join(answer.body)),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )

    async def aclose(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()

    def open_connections(self) -> int:
        """Connections open now (kept idle or in use)."""
        return sum(1 for c in self._open if not c.closed)
