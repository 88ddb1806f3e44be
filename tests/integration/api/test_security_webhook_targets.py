"""Security review, finding 6: webhook targets cannot reach this machine or its network.

An admin must not be able to point the delivery worker at loopback, private, link-local,
unique-local, multicast or unspecified addresses, however the address is spelled, nor
through a name that resolves (or later re-resolves) to one; the delivery connects to the
address that was checked; and the delivery log says what went wrong in a word, never
with the raw exception (which made it a port scanner).

These tests build a core app with the deployment's *default* allow-list (the console's own
receiver, here a real receiver on loopback) instead of the suite's test allow-list. Every
target is on this machine: nothing is ever sent anywhere else.
"""

import asyncio
import dataclasses
import ipaddress
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.core.webhooks.delivery import Claimed, WebhookDispatcher
from app.core.webhooks.models import WebhookDelivery, WebhookSubscription
from app.db import Database
from app.settings import ImproperlyConfigured, load_settings
from tests.integration.api.ledger_helpers import deposit, expect, open_account
from tests.integration.api.webhook_receiver import Receiver, start_receiver, verify_signature
from tests.support import TokenCache, headers

CONSOLE_PATH = "/webhooks/cba"
PINNED_NAME = "pinned.invalid"  # never resolvable: only the test's resolver answers for it


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = start_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def default_settings(receiver, database_ready):  # type: ignore[no-untyped-def]
    """The settings a deployment gets by default (not production), with the console's
    receiver at ``receiver``, plus one explicit allow-list entry: a name only the pinning
    test's resolver knows."""
    port = receiver.server.server_address[1]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONSOLE_WEBHOOK_URL", f"{receiver.base_url}{CONSOLE_PATH}")
        env.setenv("WEBHOOK_ALLOWED_TARGETS", f"http://{PINNED_NAME}:{port}")
        env.delenv("BRANCHDESK_PRODUCTION", raising=False)
        env.delenv("WEBHOOK_REQUIRE_HTTPS", raising=False)
        return load_settings()


@pytest.fixture(scope="module")
async def default_api(default_settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    from app.core.app import create_app

    app = create_app(default_settings)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40001))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver/api/v1/cba"
    ) as client:
        yield client
    await app.state.services.close()


@pytest.fixture(scope="module")
async def admin(default_api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    body = await TokenCache(default_api).login("admin@demo.bank")
    return headers(body["access_token"])


@pytest.fixture(scope="module", autouse=True)
async def only_this_modules_webhooks(core_app):  # type: ignore[no-untyped-def]
    """Pause every subscription made before this module, so the dispatchers here attempt
    only this module's deliveries (restored afterwards)."""
    db: Database = core_app.state.services.db
    active = sa.and_(
        col(WebhookSubscription.is_active).is_(True), col(WebhookSubscription.deleted_at).is_(None)
    )
    async with db.writer(), db.session() as session:
        paused = list(
            (await session.execute(sa.select(col(WebhookSubscription.id)).where(active))).scalars()
        )
        await session.execute(
            sa.update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_(paused))
            .values(is_active=False)
        )
        await session.commit()
    yield
    async with db.writer(), db.session() as session:
        await session.execute(
            sa.update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_(paused))
            .values(is_active=True)
        )
        await session.commit()


async def gone(client: httpx.AsyncClient, path: str, admin: dict[str, str]) -> None:
    deleted = await client.delete(path, headers=admin)
    assert deleted.status_code == 204, deleted.text


def hook(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": f"target-{uuid.uuid4().hex[:8]}",
        "url": url,
        "events": ["transaction.completed"],
        "is_active": True,
        **fields,
    }


async def count_webhooks(db: Database) -> int:
    async with db.session() as session:
        return int(
            (
                await session.execute(sa.select(sa.func.count()).select_from(WebhookSubscription))
            ).scalar_one()
        )


def fast(settings: Any, **overrides: Any) -> Any:
    values = {
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "timeout_seconds": 3.0,
        "max_attempts": 1,
        **overrides,
    }
    return dataclasses.replace(settings.webhooks, **values)


async def deliveries(db: Database, hook_id: str) -> list[WebhookDelivery]:
    async with db.session() as session:
        return list(
            (
                await session.execute(
                    sa.select(WebhookDelivery).where(
                        col(WebhookDelivery.subscription_id) == uuid.UUID(hook_id)
                    )
                )
            ).scalars()
        )


async def until_attempted(
    dispatcher: WebhookDispatcher, db: Database, hook_id: str, attempts: int = 1
) -> WebhookDelivery:
    deadline = time.monotonic() + 20
    while True:
        found = await deliveries(db, hook_id)
        if found and found[0].attempt_count >= attempts:
            return found[0]
        assert time.monotonic() < deadline, "no attempt was recorded"
        await dispatcher.run_once(wait=True)
        await asyncio.sleep(0.02)


# -- registration -------------------------------------------------------------------------

INTERNAL_SPELLINGS = [
    "http://127.0.0.1:{port}/elsewhere",  # the receiver's own port, but not its allowed URL
    "http://127.1:{port}/x",
    "http://2130706433:{port}/x",
    "http://0x7f000001:{port}/x",
    "http://0177.0.0.1:{port}/x",
    "http://127.0.0.1.:{port}/x",
    "http://0:{port}/x",
    "http://[::ffff:127.0.0.1]:{port}/x",
    "http://[::ffff:7f00:1]:{port}/x",
    "http://[64:ff9b::7f00:1]:{port}/x",  # NAT64
    "http://[64:ff9b:1::a00:1]:{port}/x",  # local-use NAT64
    "http://[2002:7f00:1::]:{port}/x",  # 6to4
    "http://[::127.0.0.1]:{port}/x",  # IPv4-compatible
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/x",  # Teredo
    "http://[::1]:{port}/x",
    "http://[::]:{port}/x",
    "http://0.0.0.0:{port}/x",
    "http://localhost:{port}/x",
    "http://localhost.:{port}/x",
    "http://LOCALHOST:{port}/x",
    "http://api.localhost:{port}/x",
    "http://10.0.0.1/x",
    "http://172.16.5.4/x",
    "http://192.168.1.1/x",
    "http://100.64.0.1/x",  # carrier-grade NAT
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://[fe80::1]/x",
    "http://[fd00::1]/x",
    "http://[fec0::1]/x",  # site-local
    "http://224.0.0.1/x",
    "http://[ff02::1]/x",
    "http://[ff0e::1]/x",
    "http://240.0.0.1/x",
    "http://255.255.255.255/x",
]


@pytest.mark.parametrize("spelling", INTERNAL_SPELLINGS)
async def test_every_internal_spelling_is_refused_at_registration(
    default_api, admin, receiver, core_app, spelling
):
    url = spelling.format(port=receiver.server.server_address[1])
    db = core_app.state.services.db
    before = await count_webhooks(db)
    refused = await default_api.post("/webhooks", json=hook(url), headers=admin)
    if refused.status_code == 201:  # never leave a worker anything to send there
        await default_api.delete(f"/webhooks/{refused.json()['id']}", headers=admin)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in body["details"]] == ["url"]
    assert await count_webhooks(db) == before  # nothing was made

    # Nor can an existing subscription be moved there.
    allowed = f"{receiver.base_url}{CONSOLE_PATH}"
    made = expect(await default_api.post("/webhooks", json=hook(allowed), headers=admin), 201)
    try:
        moved = await default_api.patch(f"/webhooks/{made['id']}", json={"url": url}, headers=admin)
        assert (moved.status_code, moved.json()["code"]) == (422, "VALIDATION_ERROR")
        kept = await default_api.get(f"/webhooks/{made['id']}", headers=admin)
        assert kept.json()["url"] == allowed
    finally:
        await gone(default_api, f"/webhooks/{made['id']}", admin)


async def test_a_name_that_resolves_to_an_internal_address_is_refused(default_api, admin):
    name = socket.gethostname()  # resolved from /etc/hosts: no query leaves the machine
    answers = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    assert answers and not any(ipaddress.ip_address(a).is_global for a in answers), answers
    refused = await default_api.post(
        "/webhooks", json=hook(f"http://{name}:8080/in"), headers=admin
    )
    if refused.status_code == 201:
        await default_api.delete(f"/webhooks/{refused.json()['id']}", headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (422, "VALIDATION_ERROR")
    (detail,) = refused.json()["details"]
    assert detail["field"] == "url"
    assert not any(a in refused.text for a in answers)  # the answer is not echoed back


async def test_the_allow_list_admits_exactly_the_console_receiver(default_api, admin, receiver):
    exact = f"{receiver.base_url}{CONSOLE_PATH}"
    made = expect(await default_api.post("/webhooks", json=hook(exact), headers=admin), 201)
    await gone(default_api, f"/webhooks/{made['id']}", admin)
    for near in (
        f"{receiver.base_url}{CONSOLE_PATH}/../x",
        f"{receiver.base_url}/webhooks",
        f"{receiver.base_url}{CONSOLE_PATH}?then=elsewhere",
        exact.replace("http://", "https://"),
    ):
        refused = await default_api.post("/webhooks", json=hook(near), headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (422, "VALIDATION_ERROR"), near


def test_the_old_switch_refuses_to_start_and_bad_entries_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("BRANCHDESK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    with pytest.raises(ImproperlyConfigured, match="WEBHOOK_ALLOWED_TARGETS"):
        load_settings()
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES")
    for bad in ("127.0.0.1", "ftp://x:1", "http://10.0.0.0/8", "http://u:p@h:1", "http://h:x"):
        monkeypatch.setenv("WEBHOOK_ALLOWED_TARGETS", bad)
        with pytest.raises(ImproperlyConfigured, match="WEBHOOK_ALLOWED_TARGETS"):
            load_settings()


# -- delivery -----------------------------------------------------------------------------


async def test_an_internal_target_that_got_in_is_refused_at_delivery_without_connecting(
    api, tokens, core_app, default_settings, receiver
):
    """A subscription to a loopback port made under a looser policy (here: the suite's own
    test allow-list) is refused by a worker with the default one, and nothing is sent."""
    from tests.integration.api.ledger_helpers import h

    made = expect(
        await api.post(
            "/webhooks", json=hook(f"{receiver.base_url}/scan"), headers=await h(tokens, "admin")
        ),
        201,
    )
    db = core_app.state.services.db
    dispatcher = WebhookDispatcher(db, fast(default_settings))
    admin = await h(tokens, "admin")
    try:
        account = await open_account(api, tokens)
        expect(await deposit(api, tokens, account["id"], "1.00"), 201)
        delivery = await until_attempted(dispatcher, db, made["id"])
        listed = await api.get(f"/webhooks/{made['id']}/deliveries", headers=admin)
    finally:
        await dispatcher.aclose()
        # Gone afterwards: later events must not queue up for a worker to refuse.
        await gone(api, f"/webhooks/{made['id']}", admin)
    assert receiver.to("/scan") == []
    assert (delivery.status, delivery.last_status_code) == ("FAILED", None)
    assert delivery.last_error == "refused: internal address"
    (shown,) = listed.json()["deliveries"]
    assert shown["attempts"][0]["error"] == "refused: internal address"
    assert "127.0.0.1" not in listed.text.replace(receiver.base_url, "")


class FlippingResolver:
    """Answers ``first`` for the pinned name once, then ``later`` (a rebinding DNS server);
    IP literals answer themselves; any other name does not resolve (no query is sent)."""

    def __init__(self, first: str, later: str) -> None:
        self.first, self.later = first, later
        self.asked: list[str] = []

    async def __call__(
        self, host: str, port: int
    ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.asked.append(host)
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host != PINNED_NAME:
            raise socket.gaierror(socket.EAI_NONAME, "not known")
        answer = self.first if self.asked.count(host) == 1 else self.later
        return [ipaddress.ip_address(answer)]


async def test_a_delivery_connects_to_the_address_it_checked(
    api, tokens, default_api, admin, core_app, default_settings, receiver
):
    """The name is resolved once per attempt and the connection goes to that answer: a
    second answer (127.0.0.3, where nothing listens) is never used for the first attempt.
    The second attempt resolves afresh, gets 127.0.0.3, and the log says only
    "connection refused"."""
    port = receiver.server.server_address[1]
    made = expect(
        await default_api.post(
            "/webhooks", json=hook(f"http://{PINNED_NAME}:{port}/pinned"), headers=admin
        ),
        201,
    )
    db = core_app.state.services.db
    resolver = FlippingResolver(first="127.0.0.1", later="127.0.0.3")
    dispatcher = WebhookDispatcher(db, fast(default_settings, max_attempts=2), resolver=resolver)
    try:
        account = await open_account(api, tokens)
        expect(await deposit(api, tokens, account["id"], "2.00"), 201)
        deadline = time.monotonic() + 20
        while not receiver.to("/pinned"):
            assert time.monotonic() < deadline, "the pinned delivery never arrived"
            await dispatcher.run_once(wait=True)
        (received,) = receiver.to("/pinned")
        assert received.headers["host"] == f"{PINNED_NAME}:{port}"
        assert verify_signature(made["secret"], received.headers, received.body)
        assert resolver.asked.count(PINNED_NAME) == 1

        # Once more: the retry resolves again and is refused by the port, not sent elsewhere.
        (delivery,) = await deliveries(db, made["id"])
        retried = await default_api.post(
            f"/webhooks/{made['id']}/deliveries/{delivery.id}/retry", json={}, headers=admin
        )
        assert retried.status_code == 200, retried.text
        delivery = await until_attempted(dispatcher, db, made["id"], attempts=2)
    finally:
        await dispatcher.aclose()
        # Gone afterwards: no other worker ever looks the made-up name up.
        await gone(default_api, f"/webhooks/{made['id']}", admin)
    assert resolver.asked.count(PINNED_NAME) == 2
    assert len(receiver.to("/pinned")) == 1
    assert delivery.last_error == "connection refused"
    assert delivery.last_status_code is None


async def test_a_slow_receiver_is_logged_as_a_timeout(
    default_api, admin, api, tokens, core_app, default_settings, receiver
):
    made = expect(
        await default_api.post(
            "/webhooks", json=hook(f"{receiver.base_url}{CONSOLE_PATH}"), headers=admin
        ),
        201,
    )
    db = core_app.state.services.db
    dispatcher = WebhookDispatcher(db, fast(default_settings, timeout_seconds=0.3))
    receiver.delay_seconds = 1.0
    try:
        account = await open_account(api, tokens)
        expect(await deposit(api, tokens, account["id"], "3.00"), 201)
        delivery = await until_attempted(dispatcher, db, made["id"])
    finally:
        receiver.delay_seconds = 0.0
        await dispatcher.aclose()
        await gone(default_api, f"/webhooks/{made['id']}", admin)
    assert delivery.last_error == "timeout"


async def test_the_console_receiver_on_the_allow_list_gets_signed_deliveries(
    default_api, admin, api, tokens, core_app, default_settings, receiver
):
    made = expect(
        await default_api.post(
            "/webhooks", json=hook(f"{receiver.base_url}{CONSOLE_PATH}"), headers=admin
        ),
        201,
    )
    db = core_app.state.services.db
    dispatcher = WebhookDispatcher(db, fast(default_settings))
    seen = len(receiver.to(CONSOLE_PATH))
    try:
        account = await open_account(api, tokens)
        expect(await deposit(api, tokens, account["id"], "4.00"), 201)
        delivery = await until_attempted(dispatcher, db, made["id"])
    finally:
        await dispatcher.aclose()
        await gone(default_api, f"/webhooks/{made['id']}", admin)
    assert (delivery.status, delivery.last_error) == ("DELIVERED", None)
    received = receiver.to(CONSOLE_PATH)[seen:]
    assert received and all(verify_signature(made["secret"], r.headers, r.body) for r in received)


# -- narrow unit tests of the pinning (no network at all) ---------------------------------


class RecordingNetwork:
    """Stands in for the sockets: records where a connection would go, answers 204."""

    def __init__(self) -> None:
        self.connected: list[tuple[str, int]] = []

    async def __call__(
        self,
        address: str,
        port: int,
        tls: Any,
        server_hostname: str | None,
        timeout: float,  # noqa: ASYNC109
    ) -> tuple[asyncio.StreamReader, Any]:
        self.connected.append((address, port))
        reader = asyncio.StreamReader()
        reader.feed_data(b"HTTP/1.1 204 No Content\r\n\r\n")
        return reader, SentNowhere()


class SentNowhere:
    """A stream's writing end that keeps what is written."""

    def __init__(self) -> None:
        self.sent = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent += data

    async def drain(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def claimed(url: str) -> Claimed:
    return Claimed(
        delivery_id=uuid.uuid4(),
        claim_token=uuid.uuid4(),
        number=1,
        event_id="evt_unit",
        body=b"{}",
        url=url,
        secret="whsec_unit-test-secret",
    )


class StaticResolver:
    def __init__(self, *answers: str) -> None:
        self.answers = [ipaddress.ip_address(a) for a in answers]

    async def __call__(
        self, host: str, port: int
    ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return self.answers


@pytest.mark.parametrize(
    "answers", [("127.0.0.1",), ("8.8.8.8", "10.0.0.8"), ("::ffff:192.168.0.1",)]
)
async def test_a_name_rebound_to_an_internal_address_is_refused_before_connecting(
    settings, answers
):
    network = RecordingNetwork()
    dispatcher = WebhookDispatcher(
        None,  # type: ignore[arg-type]  (attempt() needs no database)
        fast(settings),
        resolver=StaticResolver(*answers),
        opener=network,
    )
    try:
        outcome = await dispatcher.attempt(claimed("http://hooks.example.com/in"))
    finally:
        await dispatcher.aclose()
    assert (outcome.status_code, outcome.error) == (None, "refused: internal address")
    assert network.connected == []


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept(settings):
    network = RecordingNetwork()
    dispatcher = WebhookDispatcher(
        None,  # type: ignore[arg-type]
        fast(settings),
        resolver=StaticResolver("8.8.4.4"),
        opener=network,
    )
    try:
        outcome = await dispatcher.attempt(claimed("http://hooks.example.com:8080/in"))
    finally:
        await dispatcher.aclose()
    assert (outcome.status_code, outcome.error) == (204, None)
    assert network.connected == [("8.8.4.4", 8080)]


def self_signed_tls_server(tmp_path: Any) -> tuple[Any, int]:
    """A TLS listener on loopback with a certificate nobody trusts (for ``localhost``)."""
    import datetime
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1024)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


async def test_an_untrusted_certificate_is_logged_as_tls(settings, tmp_path):
    """Pinning keeps certificate verification: a loopback TLS receiver (admitted by an
    allow-list entry) with a self-signed certificate is refused, and the log says "TLS"."""
    from app.core.webhooks.targets import parse_allowed_target

    listener, port = self_signed_tls_server(tmp_path)
    webhooks = fast(settings, allowed_targets=(parse_allowed_target(f"https://127.0.0.1:{port}"),))
    dispatcher = WebhookDispatcher(None, webhooks)  # type: ignore[arg-type]
    try:
        outcome = await dispatcher.attempt(claimed(f"https://127.0.0.1:{port}/in"))
    finally:
        await dispatcher.aclose()
        listener.close()
    assert (outcome.status_code, outcome.error) == (None, "TLS")
