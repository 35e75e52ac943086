"""The relay against kubesim and moto, and the local stack playing the EventBridge rule: a node label change in the
cluster becomes a `poll_inventory_on_change` invocation (no scheduled poll runs here) and a signed notification."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from kubernetes import client, config

import app as app_module
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.handlers import notifications as notification_handlers
from chalicelib.services.subscriptions import new_secret
from devtools.localstack.pump import EventPump
from devtools.smo_receiver import Receiver, serve
from relay.kinds import WATCHED
from relay.kube import KubernetesApi
from relay.publish import Publisher
from relay.relay import Relay
from tests.functional.inventory_fixtures import Site, site_environment
from tests.waiting import wait_until

LOCAL_CALLBACKS = {"NETWEAVE_CALLBACK_ALLOW_HTTP": "true", "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
                   "NETWEAVE_CALLBACK_HTTP_NETWORKS": "127.0.0.0/8"}


@pytest.fixture()
def site(moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    for name, value in LOCAL_CALLBACKS.items():
        monkeypatch.setenv(name, value)
    # stage dev: app.py's queue names (fixed at its import) are this site's; its handlers use this site's parts
    for site in site_environment(tmp_path, adapter_id=f"relay-{uuid.uuid4().hex[:6]}", stage="dev"):
        monkeypatch.setattr(inventory_handlers, "components", functools.partial(getattr, site, "components"))
        monkeypatch.setattr(notification_handlers, "components", functools.partial(getattr, site, "components"))
        yield site


@pytest.fixture()
def invocations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The events `poll_inventory_on_change` was invoked with."""
    seen: list[dict[str, Any]] = []
    original = inventory_handlers.poll_inventory_for_event

    def recording(event: dict[str, Any], parts: Any = None) -> list[dict[str, Any]]:
        seen.append(event)
        return original(event, parts)

    monkeypatch.setattr(inventory_handlers, "poll_inventory_for_event", recording)
    return seen


def pump_without_schedules(stage: str = "dev") -> EventPump:
    pump = EventPump(app_module, boto3.session.Session(), interval=3600)
    pump.schedules = []  # nothing polls on a schedule: only the rule can cause a poll
    pump.play_rules(stage)
    return pump


def test_a_netweave_poll_request_invokes_the_rule_function_and_nothing_else_does(
        moto_url: str, invocations: list[dict[str, Any]]) -> None:
    pump = pump_without_schedules()
    [rule] = pump.rules
    events = boto3.client("events")
    events.put_events(Entries=[
        {"Source": "netweave", "DetailType": "Inventory Changed", "Detail": json.dumps({"adapterId": "elsewhere"})},
        {"Source": "someone.else", "DetailType": "Inventory Changed", "Detail": json.dumps({"adapterId": "x"})},
    ])
    assert pump.drain_rule_once(rule) == 1
    [event] = invocations
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "netweave", "Inventory Changed", {"adapterId": "elsewhere"})
    assert pump.drain_rule_once(rule, wait_seconds=0) == 0  # handled once, deleted


def test_a_node_label_change_reaches_the_smo_through_the_relay(
        site: Site, invocations: list[dict[str, Any]]) -> None:
    inventory_handlers.poll_inventory(site.components)  # the initial load, before anyone subscribes
    pump = pump_without_schedules()
    fan_out = next(s for s in pump.queues if s.name == "fan_out")
    while pump.drain_once(fan_out, wait_seconds=0):
        pass
    secret = new_secret()
    receiver = Receiver(secrets=[secret], echo=False)
    http = serve(receiver)
    site.components.subscription_store.create(Subscription(
        subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY, secret=secret, created_at=utc_now_iso(),
        callback=f"http://127.0.0.1:{http.server_address[1]}/smo"))
    assert site.kubesim.kubeconfig_path is not None
    kubeconfig = str(site.kubesim.kubeconfig_path)
    publisher = Publisher(boto3.client("events"))
    relay = Relay(KubernetesApi(kubeconfig, watch_seconds=30), WATCHED, [site.adapter_id], publisher, window=0.5)
    relay.start()
    pump.start()
    try:
        assert relay.wait_ready(timeout=30), "the relay listed every kind"
        nodes = client.CoreV1Api(config.new_client_from_config(kubeconfig))
        name = nodes.list_node(limit=1).items[0].metadata.name
        nodes.patch_node(name, {"metadata": {"labels": {"relay.netweave.io/test": "changed"}}})
        arrived = wait_until(lambda: [n for n in receiver.notifications() if "relay.netweave.io/test" in
                                      json.dumps(n.body)], 60, what="the change notified to the SMO")
    finally:
        relay.stop()
        pump.stop()
        http.shutdown()
    assert all(n.verified for n in arrived)
    assert {e["detail"]["adapterId"] for e in invocations} == {site.adapter_id}
    assert 1 <= publisher.calls <= relay.changes
