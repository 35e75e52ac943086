"""`deliver`'s outbound safety against real HTTP receivers on 127.0.0.1 (docs/security.md, "Outbound requests"):
the SMO bearer token goes only to listed hosts, a trickling receiver ends at the attempt's deadline, and the token
endpoint is reached under the same policy. Uses the stage and receivers of `test_delivery.py`."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
import time
import types
from typing import Any

import boto3
import pytest
from chalice import Chalice

from chalicelib.adapters.webhooks.oauth import ClientCredentialsTokens
from chalicelib.adapters.webhooks.sender import WebhookSender
from chalicelib.bootstrap import Components
from chalicelib.domain.callback_policy import Callback, IPAddress
from chalicelib.handlers import notifications
from chalicelib.settings import settings_from_environment
from devtools.localstack.pump import EventPump
from tests.functional import test_delivery
from tests.functional.test_delivery import Receiver, Reply, Stage, use

stage = test_delivery.stage  # the fixtures of test_delivery.py: a stage of the test's own, a receiving SMO
receiver = test_delivery.receiver


def wired_pump(stage: Stage, **environment: str) -> EventPump:
    """The `deliver` entry point as app.py wires it: its ports built by the composition root from the settings."""
    settings = stage.components.settings.model_copy(update={"delivery": settings_from_environment({
        **os.environ, **environment}).delivery})
    components = Components(settings)
    app = Chalice(app_name="deliver-as-wired")

    @app.on_sqs_message(queue=stage.queue_name, batch_size=10)  # type: ignore[untyped-decorator]
    def deliver(event: Any) -> dict[str, Any]:
        return notifications.deliver_batch(event.to_dict(), event.context, components)

    module = types.ModuleType("deliver_wired_app")
    module.app, module.deliver = app, deliver  # type: ignore[attr-defined]
    return EventPump(module, boto3.session.Session(), interval=60)


def test_the_lambda_entry_builds_its_ports_from_the_settings(stage: Stage, receiver: Receiver) -> None:
    """OAuth2 towards the SMO included: the bearer goes to the listed SMO host and to no other subscriber."""
    receiver.answer("/token", Reply(200, {}, json.dumps({"access_token": "env-token"}).encode()))
    pump = wired_pump(stage, NETWEAVE_SMO_TOKEN_URL=receiver.url("/token"), NETWEAVE_SMO_CLIENT_ID="netweave",
                      NETWEAVE_SMO_CLIENT_SECRET="local-only", NETWEAVE_SMO_TOKEN_HOSTS="smo.example, 127.0.0.1")
    stranger = Receiver(host="127.0.0.2")  # another subscriber: same network, another host name
    try:
        smo, other = stage.subscribe(receiver.url("/smo")), stage.subscribe(stranger.url("/smo"))
        [nid] = stage.enqueue(smo, 1)
        stage.enqueue(other, 1)
        assert pump.drain_once(pump.queues[0], wait_seconds=0) == 2
        [request] = receiver.requests("/smo")
        [elsewhere] = stranger.requests("/smo")
    finally:
        stranger.stop()
    assert request.headers["webhook-id"] == nid and request.headers["authorization"] == "Bearer env-token"
    assert "authorization" not in elsewhere.headers
    assert stage.attempts(smo) == [("delivered", 204)] and stage.attempts(other) == [("delivered", 204)]


def test_without_token_hosts_the_bearer_goes_nowhere_and_a_warning_says_so(
        stage: Stage, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    receiver.answer("/token", Reply(200, {}, json.dumps({"access_token": "env-token"}).encode()))
    pump = wired_pump(stage, NETWEAVE_SMO_TOKEN_URL=receiver.url("/token"), NETWEAVE_SMO_CLIENT_ID="netweave",
                      NETWEAVE_SMO_CLIENT_SECRET="local-only")
    subscription = stage.subscribe(receiver.url("/smo"))
    stage.enqueue(subscription, 1)
    with caplog.at_level(logging.WARNING):
        assert pump.drain_once(pump.queues[0], wait_seconds=0) == 1
    [request] = receiver.requests("/smo")
    assert "authorization" not in request.headers and receiver.requests("/token") == []
    assert "NETWEAVE_SMO_TOKEN_HOSTS is empty" in caplog.text


# ---- a receiver that trickles its answer ----------------------------------------------------------------------

class Trickler:
    """Accepts, reads the request, then answers one byte every `interval` seconds: each read of the client
    succeeds well within a per-read timeout, so only an overall deadline ends the exchange."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 10_000:
                if self.stopped.wait(self.interval):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


def test_a_trickling_callback_ends_at_the_deadline_as_a_retryable_timeout(stage: Stage) -> None:
    trickler = Trickler()
    try:
        subscription = stage.subscribe(f"http://127.0.0.1:{trickler.port}/smo")
        stage.enqueue(subscription, 1)
        started = time.monotonic()
        assert stage.drain() == 1
        elapsed = time.monotonic() - started
    finally:
        trickler.stop()
    assert elapsed < 2 + 1.5, elapsed  # the stage's sender: 2 s per attempt
    [attempt] = stage.log.attempts(subscription.subscription_id)
    assert (attempt.outcome, attempt.status) == ("retry", None)
    assert "timeout" in (attempt.error or "")



def test_a_token_endpoint_resolving_to_the_metadata_service_is_refused_and_retried(stage: Stage,
                                                                                  receiver: Receiver) -> None:
    """The token endpoint is operator configuration, so its host is admitted even when internal, but a metadata
    address never: the attempt fails as retryable, no token request is made, the callback gets nothing."""
    def resolver(callback: Callback) -> list[IPAddress]:
        if callback.host == "idp.example.test":
            return [ipaddress.ip_address("169.254.169.254")]
        return [ipaddress.ip_address("127.0.0.1")]

    tokens = ClientCredentialsTokens("http://idp.example.test/token", "netweave", lambda: "client-s3cret",
                                     policy=stage.components.settings.callbacks.policy(), resolver=resolver)
    use(stage, sender=WebhookSender(stage.components.settings.callbacks.policy(), 2, tokens=tokens,
                                    token_hosts=frozenset({"127.0.0.1"})))
    subscription = stage.subscribe(receiver.url("/smo"))
    stage.enqueue(subscription, 1)
    stage.drain()
    assert receiver.seen == []
    [attempt] = stage.log.attempts(subscription.subscription_id)
    assert attempt.outcome == "retry" and "metadata" in (attempt.error or "")
