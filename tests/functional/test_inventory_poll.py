"""poll_inventory against a live (simulated) cluster: every change becomes exactly the writes and events it should,
an unchanged cluster costs nothing, and a poll that dies half-way loses nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.store.inventory_store import InventoryStore
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services.inventory_poll import poll_backend
from devtools.kubesim import start_kubesim
from tests.functional.inventory_fixtures import Site, site_environment


@pytest.fixture()
def site(moto_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from site_environment(tmp_path)


def drain_events(site: Site) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    url = site.components.queue_url(resources.EVENTS)
    events: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return events
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def node_event(events: list[dict[str, Any]], node_name: str) -> list[dict[str, Any]]:
    # cast: an event naming the node carries its state (json.dumps(None) is "null", which names no node).
    return [e for e in events if e["objectType"] == "ResourceInfo"
            and node_name in json.dumps(e.get("post") or e.get("prior"))
            and "parentId" not in cast(dict[str, Any], e.get("post") or e.get("prior"))]


def test_first_poll_creates_everything_then_an_unchanged_cluster_costs_nothing(site: Site) -> None:
    [first] = inventory_handlers.poll_inventory(site.components)
    events = drain_events(site)
    assert first["status"] == "changed" and first["created"] == first["objects"] == first["written"]
    # The sites and locations derived from the new pools are announced too, after the backend's own objects.
    derived = [e for e in events if e["objectType"] in ("OCloudSiteInfo", "LocationInfo")]
    assert {e["objectType"] for e in derived} == {"OCloudSiteInfo", "LocationInfo"}
    assert len(events) - len(derived) == first["published"] > 0
    assert {e["eventType"] for e in events} == {"created"}
    assert all("prior" not in e and e["post"] for e in events)
    [second] = inventory_handlers.poll_inventory(site.components)
    assert (second["status"], second["written"], second["published"]) == ("unchanged", 0, 0)
    assert drain_events(site) == []


def test_a_relabelled_node_is_one_modification_with_prior_and_post_state(site: Site) -> None:
    inventory_handlers.poll_inventory(site.components)
    drain_events(site)
    node = site.kubesim.add_node(name="edge-extra-1")
    name = node["metadata"]["name"]
    [created] = inventory_handlers.poll_inventory(site.components)
    assert created["created"] >= 1 and node_event(drain_events(site), name)
    from kubernetes import client
    from kubernetes import config as kube_config

    api = client.CoreV1Api(kube_config.new_client_from_config(str(site.kubesim.kubeconfig_path)))
    api.patch_node(name, {"metadata": {"labels": {"site.operator/rack": "r42"}}})
    [modified] = inventory_handlers.poll_inventory(site.components)
    events = node_event(drain_events(site), name)
    assert modified["modified"] >= 1 and modified["created"] == modified["deleted"] == 0
    assert [e["eventType"] for e in events] == ["modified"]
    assert "r42" not in json.dumps(events[0]["prior"]) and "r42" in json.dumps(events[0]["post"])
    site.kubesim.remove_node(name)
    [deleted] = inventory_handlers.poll_inventory(site.components)
    gone = node_event(drain_events(site), name)
    assert deleted["deleted"] >= 1 and [e["eventType"] for e in gone] == ["deleted"]
    assert "post" not in gone[0] and gone[0]["prior"]


def test_a_poll_that_dies_after_publishing_loses_nothing(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory_handlers.poll_inventory(site.components)
    drain_events(site)
    site.kubesim.add_node(name="edge-extra-2")

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("lambda timed out")

    monkeypatch.setattr(InventoryStore, "commit_snapshot", crash)
    [failed] = inventory_handlers.poll_inventory(site.components)
    assert failed["status"] == "failed"
    first_try = {e["eventId"] for e in drain_events(site)}
    monkeypatch.undo()
    [recovered] = inventory_handlers.poll_inventory(site.components)
    second_try = {e["eventId"] for e in drain_events(site)}
    assert recovered["status"] == "changed" and first_try
    assert recovered["published"] == len(first_try)  # the same changes, published again
    # SQS FIFO drops a redelivery within 5 minutes (same deduplication id), so the second poll's events may be gone
    # from the queue: what matters is that the snapshot now has the node and nothing new was invented.
    assert second_try <= first_try
    [after] = inventory_handlers.poll_inventory(site.components)
    assert after["status"] == "unchanged"


def test_an_unreachable_cluster_shows_on_its_deployment_manager_once(site: Site, tmp_path: Path) -> None:
    parts = site.components
    store, publisher, context = parts.inventory_store, parts.events_publisher, parts.inventory_context
    lonely = start_kubesim()
    lonely_config = lonely.write_kubeconfig(tmp_path / "lonely")
    from chalicelib.adapters.ims.kubernetes import KubernetesInventoryAdapter
    from chalicelib.settings import AdapterConfig

    adapter = KubernetesInventoryAdapter(AdapterConfig(id="lonely", type="kubernetes",
                                                       options={"kubeconfig": str(lonely_config),
                                                                "requestTimeoutSeconds": 2}))
    assert poll_backend(adapter, context, store, publisher).status == "changed"
    drain_events(site)
    lonely.stop()
    down = poll_backend(adapter, context, store, publisher)
    events = drain_events(site)
    assert down.status == "unreachable" and down.modified == 1
    assert [e["objectType"] for e in events] == ["DeploymentManagerInfo"]
    assert events[0]["post"]["extensions"]["backendStatus"]["reachable"] is False
    still_down = poll_backend(adapter, context, store, publisher)
    assert still_down.status == "unreachable" and still_down.published == 0 and drain_events(site) == []
