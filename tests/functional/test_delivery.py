"""`deliver` end to end: real SQS and DynamoDB (moto), a real HTTP receiver on 127.0.0.1, the local event pump.

Each test provisions a stage of its own, so a message one test leaves behind can never reach another's receiver.
Backoff is configured to zero seconds (a retried message is visible again at once) instead of sleeping.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import secrets
import ssl
import tempfile
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from chalice import Chalice
from standardwebhooks import Webhook

from chalicelib import resources
from chalicelib.adapters.queue.events_queue import SqsDeliveryQueue
from chalicelib.adapters.store.delivery_log import DeliveryLog
from chalicelib.adapters.store.subscription_store import SubscriptionStore
from chalicelib.adapters.webhooks.oauth import ClientCredentialsTokens
from chalicelib.adapters.webhooks.sender import WebhookSender
from chalicelib.bootstrap import Components
from chalicelib.domain.callback_policy import Callback, CallbackPolicy, IPAddress, parse_networks
from chalicelib.domain.subscriptions import (
    DeliveryMessage,
    Subscription,
    SubscriptionKind,
    SubscriptionStatus,
    notification_id,
)
from chalicelib.services import dead_letters
from chalicelib.services.delivery import DeliveryPorts, RetryPolicy, deliver_batch
from chalicelib.settings import Settings, settings_from_environment
from devtools import deliveries as cli
from devtools.localstack.provision import _create_queue, _create_table
from devtools.localstack.pump import EventPump
from tests.functional.conftest import free_port

IMMEDIATE = RetryPolicy(first_delay_seconds=0, min_delay_seconds=0, max_delay_seconds=0)


# ---- a receiving SMO -----------------------------------------------------------------------------------------

@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Receiver:
    """Answers each path from a script (the last reply repeats; unscripted paths answer 204) and records requests."""

    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.host = host
        self.server = ThreadingHTTPServer((host, port), self._handler())
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answer(self, path: str, *replies: Reply | int) -> None:
        self.script[path] = [r if isinstance(r, Reply) else Reply(r) for r in replies]

    def requests(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    replies = receiver.script.get(self.path, [Reply(204)])
                    reply = replies.pop(0) if len(replies) > 1 else replies[0]
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


# ---- a stage of our own, and the pump that plays Lambda ------------------------------------------------------

@dataclass
class Stage:
    sqs: Any
    queue_url: str
    dead_letter_url: str
    queue_name: str
    store: SubscriptionStore
    log: DeliveryLog
    ports: DeliveryPorts
    pump: EventPump
    holder: types.SimpleNamespace  # what the test app's handler reads its ports from
    components: Components

    def subscribe(self, callback: str, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> Subscription:
        created = Subscription(subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY,
                               callback=callback, secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
                               status=status, created_at=dt.datetime.now(dt.UTC).isoformat())
        return self.store.create(created)

    def enqueue(self, subscription: Subscription, *numbers: int) -> list[str]:
        messages = [DeliveryMessage(
            notification_id=notification_id(f"event-{uuid.uuid4()}", subscription.subscription_id),
            subscription_id=subscription.subscription_id, kind=subscription.kind, callback=subscription.callback,
            event_id=f"event-{n}", payload={"notificationEventType": 1, "n": n,
                                            "consumerSubscriptionId": subscription.subscription_id},
            created_at=dt.datetime.now(dt.UTC).isoformat()) for n in numbers]
        SqsDeliveryQueue(self.sqs, self.queue_url).enqueue(messages)
        return [m.notification_id for m in messages]

    def drain(self, rounds: int = 1) -> int:
        """Hand up to `rounds` batches to `deliver` as Lambda would; returns how many messages were handed over."""
        return sum(self.pump.drain_once(self.pump.queues[0], wait_seconds=0) for _ in range(rounds))

    def attempts(self, subscription: Subscription) -> list[tuple[str, int | None]]:
        found = self.log.attempts(subscription.subscription_id, newest_first=False)
        return [(a.outcome, a.status) for a in found]

    def dead(self) -> list[dict[str, Any]]:
        return dead_letters.list_dead(self.sqs, self.dead_letter_url, limit=50, wait_seconds=0)


def stage_settings(**environment: str) -> Settings:
    """Settings of the test's own stage (a message one test leaves behind can never reach another's receiver)."""
    return settings_from_environment({**os.environ, "NETWEAVE_STAGE": f"d{uuid.uuid4().hex[:8]}",
                                      "NETWEAVE_CALLBACK_ALLOW_HTTP": "true",
                                      "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8", **environment})


@pytest.fixture()
def stage(moto_url: str) -> Stage:
    """A stage of the test's own with only what delivery uses: provisioning every table for each test would cost a
    second each."""
    components = Components(stage_settings())
    settings = components.settings
    for table in (resources.SUBSCRIPTIONS, resources.DELIVERY_LOG):
        _create_table(components.clients.dynamodb, settings.table_name(table), table)
    _create_queue(components.clients.sqs, settings, resources.DELIVERIES)
    sqs = components.clients.sqs
    queue_url = components.queue_url(resources.DELIVERIES)
    dead_letter_url = components.queue_url(resources.DELIVERIES, dead_letter=True)
    log = DeliveryLog(components.clients.dynamodb, settings.table_name(resources.DELIVERY_LOG))
    ports = DeliveryPorts(
        store=components.subscription_store, sender=WebhookSender(settings.callbacks.policy(), timeout_seconds=2),
        sqs=sqs, queue_url=queue_url, dead_letter_url=dead_letter_url, log=log, policy=IMMEDIATE)
    holder = types.SimpleNamespace(ports=ports)
    queue_name = settings.queue_name(resources.DELIVERIES)
    app = Chalice(app_name="deliver-under-test")

    @app.on_sqs_message(queue=queue_name, batch_size=10)  # type: ignore[untyped-decorator]
    def deliver(event: Any) -> dict[str, Any]:
        return deliver_batch(event.to_dict(), holder.ports)

    module = types.ModuleType("deliver_test_app")
    module.app, module.deliver = app, deliver  # type: ignore[attr-defined]
    pump = EventPump(module, boto3.session.Session(), interval=60)
    return Stage(sqs, queue_url, dead_letter_url, queue_name, components.subscription_store, log, ports, pump, holder,
                 components)


def use(stage: Stage, **changes: Any) -> None:
    """Swap ports (another sender, another clock) for the rest of the test."""
    stage.ports = stage.holder.ports = replace(stage.ports, **changes)


# ---- the tests -----------------------------------------------------------------------------------------------

def test_a_notification_arrives_signed_the_standard_webhooks_way(stage: Stage, receiver: Receiver) -> None:
    receiver.answer("/smo", 200)
    subscription = stage.subscribe(receiver.url("/smo"))
    [nid] = stage.enqueue(subscription, 1)
    assert stage.drain() == 1
    [request] = receiver.requests("/smo")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == nid
    payload = Webhook(subscription.secret).verify(request.body, request.headers)
    assert payload == {"notificationEventType": 1, "n": 1, "consumerSubscriptionId": subscription.subscription_id}
    assert "authorization" not in request.headers
    assert stage.attempts(subscription) == [("delivered", 200)]
    assert stage.drain() == 0  # deleted from the queue


def test_a_receiver_that_is_down_then_failing_gets_the_notification_with_the_same_id(stage: Stage) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    subscription = stage.subscribe(f"http://127.0.0.1:{port}/smo")
    [nid] = stage.enqueue(subscription, 1)
    assert stage.drain() == 1
    late = Receiver(port)
    try:
        late.answer("/smo", 500, 200)
        stage.drain(2)
        requests = late.requests("/smo")
    finally:
        late.stop()
    assert [r.headers["webhook-id"] for r in requests] == [nid, nid]
    assert all(Webhook(subscription.secret).verify(r.body, r.headers) for r in requests)
    assert stage.attempts(subscription) == [("retry", None), ("retry", 500), ("delivered", 200)]
    attempts = stage.log.attempts(subscription.subscription_id, newest_first=False)
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert "ConnectError" in (attempts[0].error or "")
    assert stage.drain() == 0


def test_410_disables_the_subscription_and_later_notifications_are_dropped(stage: Stage, receiver: Receiver) -> None:
    receiver.answer("/gone", 410)
    subscription = stage.subscribe(receiver.url("/gone"))
    stage.enqueue(subscription, 1)
    stage.drain()
    stored = stage.store.get(subscription.subscription_id)
    assert stored is not None and stored.status is SubscriptionStatus.DISABLED
    assert "410" in (stored.status_reason or "")
    stage.enqueue(subscription, 2)
    stage.drain()
    assert len(receiver.requests("/gone")) == 1
    assert stage.attempts(subscription) == [("disabled", 410), ("dropped", None)]


def test_a_400_is_dead_lettered_with_its_reason_and_replay_delivers_it(stage: Stage, receiver: Receiver) -> None:
    receiver.answer("/strict", 400)
    subscription = stage.subscribe(receiver.url("/strict"))
    [nid] = stage.enqueue(subscription, 1)
    stage.drain()
    assert stage.drain() == 0  # not retried: gone from `deliveries`
    [dead] = stage.dead()
    assert dead["notificationId"] == nid and dead["subscriptionId"] == subscription.subscription_id
    assert (dead["reason"], dead["status"], dead["attempts"]) == ("callback answered 400", "400", "1")
    assert [d["messageId"] for d in stage.dead()] == [dead["messageId"]]  # listing does not consume
    receiver.answer("/strict", 200)
    result = dead_letters.replay(stage.sqs, stage.dead_letter_url, stage.queue_url, [nid], wait_seconds=0)
    assert result == {"replayed": [nid], "notFound": []}
    assert stage.dead() == []
    stage.drain()
    assert [r.headers["webhook-id"] for r in receiver.requests("/strict")] == [nid, nid]
    assert stage.attempts(subscription) == [("dead", 400), ("delivered", 200)]


def test_a_callback_now_resolving_to_the_metadata_service_is_refused_at_delivery(stage: Stage,
                                                                                receiver: Receiver) -> None:
    subscription = stage.subscribe(receiver.url("/smo").replace("127.0.0.1", "smo.example.test"))
    resolutions: list[str] = []

    def resolver(callback: Callback) -> list[IPAddress]:
        resolutions.append(callback.host)
        return [ipaddress.ip_address("169.254.169.254")]

    use(stage, sender=WebhookSender(stage.components.settings.callbacks.policy(), 2, resolver=resolver))
    [nid] = stage.enqueue(subscription, 1)
    stage.drain()
    assert resolutions == ["smo.example.test"]
    assert receiver.seen == []
    [dead] = stage.dead()
    assert dead["notificationId"] == nid and "metadata" in dead["reason"]
    assert stage.attempts(subscription) == [("dead", None)]


def test_one_failing_subscription_holds_back_only_its_own_notifications_in_order(stage: Stage,
                                                                                   receiver: Receiver) -> None:
    receiver.answer("/a", 503, 200)
    receiver.answer("/b", 200)
    a, b = stage.subscribe(receiver.url("/a")), stage.subscribe(receiver.url("/b"))
    a1, = stage.enqueue(a, 1)
    b1, = stage.enqueue(b, 1)
    a2, a3 = stage.enqueue(a, 2, 3)
    b2, = stage.enqueue(b, 2)
    stage.drain()
    assert [r.headers["webhook-id"] for r in receiver.requests("/b")] == [b1, b2]
    assert [r.headers["webhook-id"] for r in receiver.requests("/a")] == [a1]  # a2, a3 not attempted
    stage.drain(2)
    assert [r.headers["webhook-id"] for r in receiver.requests("/a")] == [a1, a1, a2, a3]
    assert [json.loads(r.body)["n"] for r in receiver.requests("/a")] == [1, 1, 2, 3]
    assert stage.drain() == 0


def test_oauth2_token_is_fetched_once_and_sent_as_bearer(stage: Stage, receiver: Receiver) -> None:
    receiver.answer("/token", Reply(200, {"content-type": "application/json"},
                                    json.dumps({"access_token": "tok-1", "expires_in": 3600,
                                                "token_type": "Bearer"}).encode()))
    tokens = ClientCredentialsTokens(receiver.url("/token"), "netweave", lambda: "client-s3cret", scope="o2:notify")
    use(stage, sender=WebhookSender(stage.components.settings.callbacks.policy(), 2, tokens=tokens,
                                    token_hosts=frozenset({"127.0.0.1"})))
    subscription = stage.subscribe(receiver.url("/smo"))
    stage.enqueue(subscription, 1)
    stage.enqueue(subscription, 2)
    stage.drain(2)
    [token_request] = receiver.requests("/token")
    assert token_request.headers["authorization"] == "Basic " + base64.b64encode(b"netweave:client-s3cret").decode()
    assert dict(pair.split("=") for pair in token_request.body.decode().split("&")) == {
        "grant_type": "client_credentials", "scope": "o2%3Anotify"}
    assert [r.headers["authorization"] for r in receiver.requests("/smo")] == ["Bearer tok-1", "Bearer tok-1"]


def test_a_401_renews_the_token_once(stage: Stage, receiver: Receiver) -> None:
    issued = [Reply(200, {}, json.dumps({"access_token": t, "expires_in": 3600}).encode()) for t in ("old", "new")]
    receiver.answer("/token", *issued)
    receiver.answer("/smo", 401, 200)
    tokens = ClientCredentialsTokens(receiver.url("/token"), "netweave", lambda: "client-s3cret")
    use(stage, sender=WebhookSender(stage.components.settings.callbacks.policy(), 2, tokens=tokens,
                                    token_hosts=frozenset({"127.0.0.1"})))
    subscription = stage.subscribe(receiver.url("/smo"))
    stage.enqueue(subscription, 1)
    stage.drain()
    assert [r.headers["authorization"] for r in receiver.requests("/smo")] == ["Bearer old", "Bearer new"]
    assert stage.attempts(subscription) == [("delivered", 200)]


def test_redirects_are_not_followed(stage: Stage, receiver: Receiver) -> None:
    receiver.answer("/moved", Reply(302, {"location": receiver.url("/elsewhere")}))
    subscription = stage.subscribe(receiver.url("/moved"))
    stage.enqueue(subscription, 1)
    stage.drain()
    assert receiver.requests("/elsewhere") == []
    [dead] = stage.dead()
    assert dead["reason"] == "callback answered 302: redirects are not followed"


def test_past_the_retry_horizon_a_failing_notification_is_dead_lettered(stage: Stage, receiver: Receiver) -> None:
    receiver.answer("/down", 503)
    later: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)  # noqa: E731
    use(stage, clock=later)
    subscription = stage.subscribe(receiver.url("/down"))
    stage.enqueue(subscription, 1)
    stage.drain()
    [dead] = stage.dead()
    assert dead["reason"].startswith("retry horizon of 86400 s exceeded") and dead["status"] == "503"
    assert stage.drain() == 0


def test_operator_cli_lists_replays_and_shows_the_log(stage: Stage, receiver: Receiver,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    receiver.answer("/cli", 422, 200)
    subscription = stage.subscribe(receiver.url("/cli"))
    [nid] = stage.enqueue(subscription, 1)
    stage.drain()
    assert cli.main(["--json", "dead"], stage.components) == 0
    assert [d["notificationId"] for d in json.loads(capsys.readouterr().out)] == [nid]
    assert cli.main(["replay", "--all"], stage.components) == 0
    assert capsys.readouterr().out.strip() == "replayed 1"
    stage.drain()
    assert cli.main(["log", subscription.subscription_id], stage.components) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "outcome=delivered" in lines[0] and "outcome=dead" in lines[1] and lines[2] == "(2 shown)"


# ---- the connection goes to the checked address, TLS still verified for the host ------------------------------

def self_signed(host: str) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture()
def tls_receiver() -> Iterator[tuple[Receiver, bytes]]:
    cert, key = self_signed("smo.example.test")
    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = f"{directory}/cert.pem", f"{directory}/key.pem"
        with open(cert_file, "wb") as out:
            out.write(cert)
        with open(key_file, "wb") as out:
            out.write(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server = Receiver(tls=context)
    yield server, cert
    server.stop()


def pinned_sender(cert: bytes, resolutions: list[str]) -> WebhookSender:
    def resolver(callback: Callback) -> list[IPAddress]:
        resolutions.append(callback.host)
        return [ipaddress.ip_address("127.0.0.1")]

    trust = ssl.create_default_context(cadata=cert.decode())
    return WebhookSender(CallbackPolicy(allowed_networks=parse_networks("127.0.0.0/8")), 2, resolver=resolver,
                         tls=trust)


def test_https_goes_to_the_checked_address_with_the_host_name_for_tls(tls_receiver: tuple[Receiver, bytes]) -> None:
    server, cert = tls_receiver
    server.answer("/smo", 200)
    resolutions: list[str] = []
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    result = pinned_sender(cert, resolutions).send(f"https://smo.example.test:{server.port}/smo", "n-1",
                                                   {"a": 1}, secret)
    assert result.status == 200, result
    assert resolutions == ["smo.example.test"]  # resolved once, by us; the connection used that answer
    [request] = server.requests("/smo")
    assert request.headers["host"] == f"smo.example.test:{server.port}"
    assert Webhook(secret).verify(request.body, request.headers) == {"a": 1}


def test_a_certificate_for_another_host_is_not_accepted(tls_receiver: tuple[Receiver, bytes]) -> None:
    server, cert = tls_receiver
    result = pinned_sender(cert, []).send(f"https://other.example.test:{server.port}/smo", "n-1", {},
                                          "whsec_" + base64.b64encode(b"s" * 32).decode())
    assert result.status is None and result.error is not None and "ConnectError" in result.error
    assert server.seen == []
