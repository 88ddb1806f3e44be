"""Connect to the address that was checked, and name a failure in a word.

The delivery client is an ``httpcore`` connection pool whose network backend never
resolves a name: an attempt pins ``(host, port) → address`` for its own task (a context
variable), and the backend opens the TCP connection to that address, or to nothing when
no address was pinned. Everything above the socket still sees the host name: the
``Host`` header, TLS's SNI and the certificate check are the subscription's name, and the
pool keeps connections per name, each one made to an address that was checked.

No proxy from the environment is used either: a proxy would resolve the name itself.
"""

import errno
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore

from app.core.webhooks.targets import Address, TargetRefused


@dataclass(frozen=True)
class _Pin:
    host: str
    port: int
    address: Address


_PINNED: ContextVar[_Pin | None] = ContextVar("webhook_pinned_address", default=None)


@contextmanager
def pinned(host: str, port: int, address: Address) -> Iterator[None]:
    """Within this block (this task), a connection to ``host:port`` goes to ``address``."""
    token = _PINNED.set(_Pin(host.lower(), port, address))
    try:
        yield
    finally:
        _PINNED.reset(token)


class PinnedNetwork(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to the pinned address of the current task."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        pin = _PINNED.get()
        if pin is None or (pin.host, pin.port) != (host.lower(), port):
            # Never resolve here: only an address that was checked is ever connected to.
            raise httpcore.ConnectError(f"no checked address for {host}:{port}")
        return await self._inner.connect_tcp(
            str(pin.address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are delivered over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def delivery_pool(
    max_connections: int, network: httpcore.AsyncNetworkBackend | None = None
) -> httpcore.AsyncConnectionPool:
    """The worker's connection pool: pinned connections, verified TLS, keep-alive."""
    import certifi

    return httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(cafile=certifi.where()),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        network_backend=PinnedNetwork(network),
    )


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
    if isinstance(exc, TimeoutError | httpcore.TimeoutException):
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
    if isinstance(exc, httpcore.RemoteProtocolError | httpcore.LocalProtocolError):
        return INVALID_RESPONSE
    if isinstance(exc, httpcore.ReadError | httpcore.WriteError):
        return CONNECTION_CLOSED
    return CONNECTION_FAILED


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
