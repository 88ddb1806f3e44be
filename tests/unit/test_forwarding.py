"""The one client-address rule of the core and the console (``app.forwarding``)."""

import pytest

from app.forwarding import forwarded_client


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "1.1.1.1, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "203.0.113.5, ::1, 127.0.0.1", "203.0.113.5"),
        ("127.0.0.1", "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", " , ", "127.0.0.1"),
        ("192.0.2.1", "203.0.113.5", "192.0.2.1"),
        (None, "203.0.113.5", None),
    ],
)
def test_the_forwarding_rule(peer, forwarded, client):
    assert forwarded_client(peer, forwarded, frozenset({"127.0.0.1", "::1"})) == client
