"""Who is really asking: the client address behind our own reverse proxies.

One rule for the core and the console (each imports this module, never the other app): a
socket peer listed in ``TRUSTED_PROXIES`` speaks for the client in ``X-Forwarded-For``;
anyone else's ``X-Forwarded-For`` is ignored, so a client cannot choose its own address
(and with it its rate-limit bucket or the IP in the audit trail).
"""

from collections.abc import Collection

# An address longer than this is not one (IPv6 with a zone fits comfortably).
MAX_ADDRESS_LENGTH = 64


def forwarded_client(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Collection[str]
) -> str | None:
    """The client's address: the socket ``peer``, or what a trusted proxy forwarded.

    Walks ``X-Forwarded-For`` from the right past our own proxies; the first hop that is
    not one of them is the client (hops further left were written by the client itself
    and prove nothing). When every hop is a proxy of ours, the leftmost is the client.
    """
    if not forwarded_for or peer is None or peer not in trusted_proxies:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop[:MAX_ADDRESS_LENGTH]
    return hops[0][:MAX_ADDRESS_LENGTH] if hops else peer
