"""Send to the address that was checked, keep the connection, name a failure in a word.

The delivery client is deliberately small: an HTTP/1.1 ``POST`` over an asyncio stream,
one write for the request, the answer's status read and its body (up to 64 KiB) read and
dropped so the connection can carry the next attempt. It never resolves a name: each
attempt passes the address :func:`app.core.webhooks.targets.checked_address` just checked,
and a connection is opened to that address, or a kept one reused only if it was opened to
that same address for the same scheme, host and port. Everything above the socket still
sees the host name: the ``Host`` header, TLS's SNI and the certificate check are the
subscription's name. No proxy, no redirects (a ``3xx`` is an answer like any other).

A kept connection is used again within ``KEEPALIVE_SECONDS`` of its last answer (shorter
than the 5 s most servers keep an idle connection), and never when the server has closed
it or sent anything unasked. If a kept connection fails before any byte of the answer
arrived (the server closed it as the request went out), the request is sent once more on
a new connection: every request carries the event's ``X-Webhook-ID``, so a receiver that
did see the first one recognises the second.
"""

import asyncio
import errno
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from app.core.webhooks.targets import Address, Target, TargetRefused

KEEPALIVE_SECONDS = 3.0
MAX_ANSWER_BYTES = 64 * 1024  # read (and dropped) to keep the connection; longer: closed
MAX_HEAD_BYTES = 64 * 1024  # status line and headers of an answer
BODY_SECONDS = 1.0  # the most an answer's body may take to be read and the connection kept


class Writer(Protocol):
    """What the client needs of a stream's writing end (``asyncio.StreamWriter``)."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def close(self) -> None: ...

    def is_closing(self) -> bool: ...


# Opens a TCP (and, with a context, TLS) connection: (address, port, TLS context or None,
# the name the certificate must carry or None, timeout in seconds).
Opener = Callable[
    [str, int, ssl.SSLContext | None, str | None, float],
    Awaitable[tuple[asyncio.StreamReader, Writer]],
]


async def open_stream(
    address: str,
    port: int,
    tls: ssl.SSLContext | None,
    server_hostname: str | None,
    timeout: float,  # noqa: ASYNC109  (the TLS handshake's own limit)
) -> tuple[asyncio.StreamReader, Writer]:
    """A connection to ``address`` (an IP address: nothing is resolved)."""
    return await asyncio.open_connection(
        address,
        port,
        ssl=tls,
        server_hostname=server_hostname,
        ssl_handshake_timeout=timeout if tls is not None else None,
        limit=MAX_HEAD_BYTES,
    )


class InvalidResponse(Exception):
    """The answer was not HTTP/1.x as a server sends it."""


class ConnectionClosed(Exception):
    """The connection ended before the answer was complete."""

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # some of the answer had arrived


@dataclass(eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: Writer
    idle_since: float = 0.0

    def reusable(self, now: float) -> bool:
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.writer.is_closing()
            and not self.reader.at_eof()
            # Bytes the server sent unasked (StreamReader keeps them in its buffer): the
            # next answer could not be told apart from them.
            and not getattr(self.reader, "_buffer", b"")
        )

    def close(self) -> None:
        self.writer.close()


Key = tuple[str, str, int, str]  # scheme, host, port, the address connected to


class DeliveryClient:
    """Kept-alive connections per (scheme, host, port, checked address); see the module."""

    def __init__(self, opener: Opener | None = None) -> None:
        import certifi

        self._open = opener or open_stream
        self._tls = ssl.create_default_context(cafile=certifi.where())
        self._idle: dict[Key, list[_Connection]] = {}

    async def post(
        self,
        target: Target,
        address: Address,
        headers: list[tuple[str, str]],
        body: bytes,
        timeout: float,  # noqa: ASYNC109  (connect and TLS; the caller bounds the whole)
    ) -> int:
        """Send the request to ``address`` and return the answer's status."""
        key: Key = (target.scheme, target.host, target.port, str(address))
        request = _request(target, headers, body)
        connection = self._take(key)
        if connection is not None:
            try:
                return await self._exchange(key, connection, request)
            except (ConnectionClosed, OSError) as exc:
                if isinstance(exc, ConnectionClosed) and exc.answered:
                    raise
                # The server closed the kept connection as we used it: once more, anew.
        connection = await self._connect(target, address, timeout)
        return await self._exchange(key, connection, request)

    def _take(self, key: Key) -> _Connection | None:
        kept = self._idle.get(key)
        now = time.monotonic()
        while kept:
            connection = kept.pop()
            if connection.reusable(now):
                return connection
            connection.close()
        return None

    async def _connect(self, target: Target, address: Address, timeout: float) -> _Connection:  # noqa: ASYNC109
        tls = self._tls if target.scheme == "https" else None
        reader, writer = await self._open(
            str(address), target.port, tls, target.host if tls else None, timeout
        )
        return _Connection(reader, writer)

    async def _exchange(self, key: Key, connection: _Connection, request: bytes) -> int:
        try:
            try:
                connection.writer.write(request)
                await connection.writer.drain()
            except OSError as exc:
                raise ConnectionClosed("the request could not be sent", answered=False) from exc
            status, keep = await _read_answer(connection.reader)
        except BaseException:
            connection.close()  # a half-read answer (or a timeout) ends the connection
            raise
        if keep:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(key, []).append(connection)
        else:
            connection.close()
        return status

    def sweep(self) -> None:
        """Close the kept connections that will not be used again."""
        now = time.monotonic()
        for key in list(self._idle):
            kept = []
            for connection in self._idle[key]:
                if connection.reusable(now):
                    kept.append(connection)
                else:
                    connection.close()
            if kept:
                self._idle[key] = kept
            else:
                del self._idle[key]

    async def aclose(self) -> None:
        for kept in self._idle.values():
            for connection in kept:
                connection.close()
        self._idle.clear()


def _request(target: Target, headers: list[tuple[str, str]], body: bytes) -> bytes:
    host = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != {"http": 80, "https": 443}[target.scheme]:
        host += f":{target.port}"
    lines = [f"POST {target.raw_path.decode('ascii')} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    if any(c in line for line in lines for c in "\r\n\0"):
        raise TargetRefused("the request would not be valid HTTP", "invalid URL")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of the answer on ``reader`` and whether the connection may be kept.

    The status is the answer: once the head is in, the body is read (up to
    ``MAX_ANSWER_BYTES``, within ``BODY_SECONDS``) and dropped only to keep the connection;
    a body that is long, unframed, slow or cut short closes the connection instead.
    """
    answered = False
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            answered = True
            version, status, fields = _parse_head(head)
            if status >= 200:
                break
            if status == 101:
                raise InvalidResponse("a protocol switch nobody asked for")
            # 1xx: an interim answer (103 Early Hints, 100 Continue); the real one follows.
    except asyncio.IncompleteReadError as exc:
        raise ConnectionClosed(
            "the connection ended before the answer", answered=answered or bool(exc.partial)
        ) from exc
    except asyncio.LimitOverrunError as exc:
        raise InvalidResponse("an answer's head longer than 64 KiB") from exc
    except (ConnectionResetError, BrokenPipeError) as exc:
        raise ConnectionClosed("the connection was reset", answered=answered) from exc
    keep = version == b"HTTP/1.1" and b"close" not in _tokens(fields.get(b"connection"))
    if status in (204, 304):
        return status, keep
    codings = _tokens(fields.get(b"transfer-encoding"))
    length = fields.get(b"content-length")
    if codings:
        if codings[-1] != b"chunked" or not keep:
            return status, False
        drop: Awaitable[bool] = _drop_chunked(reader)
    elif length is None or not keep:
        return status, False  # the body ends with the connection
    elif not length.isdigit() or len(length) > 12:
        raise InvalidResponse("a bad Content-Length")
    elif int(length) > MAX_ANSWER_BYTES:
        return status, False
    else:
        drop = _drop_exactly(reader, int(length))
    try:
        async with asyncio.timeout(BODY_SECONDS):
            return status, await drop
    except (TimeoutError, InvalidResponse, asyncio.IncompleteReadError, ConnectionError):
        return status, False
    except asyncio.LimitOverrunError:
        return status, False


def _parse_head(head: bytes) -> tuple[bytes, int, dict[bytes, bytes]]:
    status_line, *lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise InvalidResponse("not an HTTP/1.x status line")
    fields: dict[bytes, bytes] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise InvalidResponse("a malformed header")
        name = name.lower()
        value = value.strip()
        if name in fields and name == b"content-length" and fields[name] != value:
            raise InvalidResponse("two different Content-Lengths")
        fields[name] = fields[name] + b"," + value if name in fields else value
    return version, int(code), fields


def _tokens(value: bytes | None) -> list[bytes]:
    return [t.strip().lower() for t in value.split(b",") if t.strip()] if value else []


async def _drop_chunked(reader: asyncio.StreamReader) -> bool:
    """Read a chunked body to its end; False when it is too long to read (not kept)."""
    total = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise InvalidResponse("a bad chunk size") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailers
            return True
        total += size
        if total > MAX_ANSWER_BYTES:
            return False
        await reader.readexactly(size + 2)


async def _drop_exactly(reader: asyncio.StreamReader, size: int) -> bool:
    await reader.readexactly(size)
    return True


# -- what the delivery log says -------------------------------------------------------------

CONNECTION_REFUSED = "connection refused"
CONNECTION_FAILED = "connection failed"
CONNECTION_CLOSED = "connection closed"
TIMEOUT = "timeout"
TLS = "TLS"
INVALID_RESPONSE = "invalid response"


def failure_category(exc: BaseException) -> str:
    """A failed attempt in a word or two: never the exception's text, which would tell an
    admin what answers where inside our network."""
    if isinstance(exc, TargetRefused):
        return exc.category
    if isinstance(exc, TimeoutError):
        return TIMEOUT
    chain = list(_chain(exc))
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
        return TLS
    if any(
        isinstance(e, ConnectionRefusedError)
        or (isinstance(e, OSError) and e.errno == errno.ECONNREFUSED)
        for e in chain
    ):
        return CONNECTION_REFUSED
    if isinstance(exc, InvalidResponse):
        return INVALID_RESPONSE
    if isinstance(exc, ConnectionClosed):
        return CONNECTION_CLOSED
    return CONNECTION_FAILED


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
