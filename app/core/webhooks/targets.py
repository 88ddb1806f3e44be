"""Where a webhook may be delivered: public addresses only, save an explicit allow-list.

A subscription URL is checked when it is registered and again before every attempt. Its
host is parsed the way a resolver would read it (``127.1``, ``2130706433``, ``0x7f000001``
and ``0177.0.0.1`` all mean 127.0.0.1 to ``inet_aton``), IPv6 forms that carry an IPv4
address inside (mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by that IPv4
address, and a name is resolved (off the event loop) and refused when *any* of its
addresses is internal. The attempt then connects to the address that was checked
(:mod:`app.core.webhooks.pinning`), so a name that re-resolves in between (DNS rebinding)
gains nothing.

The only way to reach an internal address is an entry of ``WEBHOOK_ALLOWED_TARGETS`` (and
the console's own receiver, ``CONSOLE_WEBHOOK_URL``, which is always one).
"""

import asyncio
import functools
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[Address]]]

DEFAULT_PORTS = {"http": 80, "https": 443}
RESOLVE_SECONDS = 5.0
INTERNAL = "refused: internal address"

_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known NAT64 prefix (RFC 6052)
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
# What inet_aton reads as a number: digits, hex (0x..) and octal (0..) parts, 1 to 4 of them.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")


class TargetRefused(Exception):
    """The target may not be reached; ``reason`` is for the admin, never an address of ours."""

    def __init__(self, reason: str, category: str = INTERNAL) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category


def internal_kind(address: Address) -> str | None:
    """Why ``address`` is not a public internet address (a word for the admin), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and internal_kind(embedded) is not None:
            return internal_kind(embedded)
        if address.teredo is not None:
            return "tunnelled (Teredo)"
        if address in _IPV4_COMPATIBLE or address in _NAT64_LOCAL:
            return "reserved"
        if address in _UNIQUE_LOCAL:
            return "unique-local"
        if address.is_site_local:
            return "site-local"
    for kind, test in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if test:
            return kind
    return None if address.is_global else "non-public"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


@functools.lru_cache(maxsize=4096)  # a pure function of the text, asked on every attempt
def literal_address(host: str) -> Address | None:
    """The address a host names by itself, in any spelling a resolver accepts, or None."""
    bare = host[:-1] if host.endswith(".") else host
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(bare.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def is_localhost_name(host: str) -> bool:
    """``localhost`` and every ``*.localhost`` (RFC 6761): this machine, whatever DNS says."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


# -- the URL as the delivery will use it --------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A subscription URL split the way the HTTP client splits it (IDNA, lower case)."""

    url: str
    scheme: str
    host: str  # IPv6 without brackets
    port: int
    path: str
    query: str
    raw_path: bytes  # path and query, as the request line sends them

    @classmethod
    def parse(cls, url: str) -> "Target":
        try:
            parsed = httpx.URL(url)
            host = parsed.raw_host.decode("ascii")
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise TargetRefused("not a URL the delivery can use", "invalid URL") from exc
        scheme = parsed.scheme
        if scheme not in DEFAULT_PORTS or not host:
            raise TargetRefused("must be an http or https URL with a host", "invalid URL")
        if "%" in host:
            raise TargetRefused("zone IDs are not allowed in addresses", "invalid URL")
        return cls(
            url=url,
            scheme=scheme,
            host=host.lower(),
            port=parsed.port or DEFAULT_PORTS[scheme],
            path=parsed.path or "/",
            query=parsed.query.decode("ascii", "replace"),
            raw_path=parsed.raw_path,
        )


# -- the allow-list -----------------------------------------------------------------------


@dataclass(frozen=True)
class AllowedTarget:
    """One ``WEBHOOK_ALLOWED_TARGETS`` entry: an exact origin (any path), an exact URL
    (that path only, no query), or ``scheme://host:*`` (that host on any port, for test
    rigs whose receivers take whatever port is free)."""

    scheme: str
    host: str
    port: int | None  # None: any port
    path: str | None  # None: any path

    def admits(self, target: Target) -> bool:
        if (target.scheme, target.port if self.port is not None else None) != (
            self.scheme,
            self.port,
        ):
            return False
        if not _same_host(self.host, target.host):
            return False
        return self.path is None or (target.path == self.path and not target.query)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "*" if self.port is None else str(self.port)
        return f"{self.scheme}://{host}:{port}{self.path or ''}"


def _same_host(entry: str, host: str) -> bool:
    entry_address, address = _address_in(entry), _address_in(host)
    if entry_address is not None and address is not None:
        return entry_address == address
    return entry == host


@functools.lru_cache(maxsize=4096)  # asked for the allow-list on every attempt
def _address_in(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_allowed_target(raw: str) -> AllowedTarget:
    """``http://console.internal:8080``, ``http://10.0.0.5:8080/webhooks/cba`` or
    ``http://127.0.0.1:*``; raises ValueError saying what is wrong."""
    any_port = re.fullmatch(r"(https?://[^/?#]+):\*", raw)
    parts = urlsplit(any_port.group(1) + ":1" if any_port else raw)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{raw!r} has a port that is not a number") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{raw!r} is not scheme://host:port (http or https)")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"{raw!r} may name a scheme, host, port and path only")
    if port is None and not any_port:
        raise ValueError(f"{raw!r} needs an explicit port (or :* for any port)")
    if "/" in parts.hostname:
        raise ValueError(f"{raw!r}: networks are not accepted, name exact hosts")
    target = Target.parse(raw.replace(":*", ":1", 1) if any_port else raw)
    path = parts.path if parts.path not in ("", "/") else None
    if any_port and path is not None:
        raise ValueError(f"{raw!r}: a path is only allowed with an exact port")
    return AllowedTarget(
        scheme=target.scheme,
        host=target.host,
        port=None if any_port else target.port,
        path=path,
    )


def parse_allowed_targets(raw: str | None, console_url: str) -> tuple[AllowedTarget, ...]:
    """The deployment's allow-list: the console's receiver URL, then the listed entries."""
    entries = [e.strip() for e in (raw or "").split(",") if e.strip()]
    console = Target.parse(console_url)
    return (
        AllowedTarget(console.scheme, console.host, console.port, console.path),
        *(parse_allowed_target(entry) for entry in entries),
    )


def is_allowed(target: Target, allowed: tuple[AllowedTarget, ...]) -> bool:
    return any(entry.admits(target) for entry in allowed)


# -- resolving and checking -----------------------------------------------------------------


async def system_resolver(host: str, port: int) -> list[Address]:
    """The host's addresses from the system resolver, in a thread (never on the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


async def resolve(target: Target, resolver: Resolver) -> list[Address]:
    """Every address of the target's host; TargetRefused("DNS") when there is none."""
    literal = literal_address(target.host)
    if literal is not None:
        return [literal]
    try:
        async with asyncio.timeout(RESOLVE_SECONDS):
            addresses = await resolver(target.host, target.port)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise TargetRefused("the host name does not resolve", "DNS") from exc
    if not addresses:
        raise TargetRefused("the host name does not resolve", "DNS")
    return addresses


def refuse_internal_host(host: str) -> None:
    """What the host says by itself: a localhost name, an odd spelling, an internal literal."""
    if is_localhost_name(host):
        raise TargetRefused(f"{host} is this machine (a localhost name)")
    literal = literal_address(host)
    if literal is None:
        return
    kind = internal_kind(literal)
    if kind is not None:
        raise TargetRefused(f"{host} is a {kind} address")
    if str(literal) != host:
        raise TargetRefused("write the address in its usual form (four decimal numbers)")


async def checked_address(
    target: Target, allowed: tuple[AllowedTarget, ...], resolver: Resolver
) -> Address:
    """The one address to connect to: resolved once, every answer checked (unless the
    target is on the allow-list); raises TargetRefused."""
    listed = is_allowed(target, allowed)
    if not listed:
        refuse_internal_host(target.host)
    addresses = await resolve(target, resolver)
    if not listed:
        for address in addresses:
            kind = internal_kind(address)
            if kind is not None:
                raise TargetRefused(f"{target.host} resolves to a {kind} address")
    return addresses[0]
