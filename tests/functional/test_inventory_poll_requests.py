"""What one inventory poll costs in AWS requests (issue 20, "Inventory poll"), counted at the botocore level against
a real moto server, and what overlapping polls of one backend leave: the later state, every event.

An unchanged poll reads the manifest and nothing else; a poll after a few changes reads the digests and only the
shards that differ, never the whole byBackend index; a first poll writes in batches of 25 and publishes in batches
of 10; a table written before shards existed is indexed once, by the first changed poll."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.store.inventory_store import InventoryStore, Manifest
from chalicelib.domain import shards
from chalicelib.domain.events import ChangeEvent
from chalicelib.domain.inventory import InventoryObject
from chalicelib.domain.snapshot import diff, snapshot_hash
from chalicelib.services import snapshot_commit
from chalicelib.services.inventory_poll import InventorySource, PollReport, poll_backend
from devtools.aws_requests import AwsRequestCounter
from tests.functional.inventory_fixtures import Site, site_environment

NODES = 30


@pytest.fixture()
def site(moto_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from site_environment(tmp_path, nodes=NODES)


@pytest.fixture()
def counter(site: Site) -> AwsRequestCounter:
    clients = site.components.clients
    return AwsRequestCounter().attach(clients.dynamodb, clients.sqs)


def poll(site: Site, adapter: InventorySource | None = None, clock: Any = None) -> PollReport:
    parts = site.components
    source = adapter or parts.ims_registry.get()
    if clock is None:
        return poll_backend(source, parts.inventory_context, parts.inventory_store, parts.events_publisher)
    return poll_backend(source, parts.inventory_context, parts.inventory_store, parts.events_publisher, clock)


def drain(site: Site) -> list[dict[str, Any]]:
    sqs, url = boto3.client("sqs"), site.components.queue_url(resources.EVENTS)
    events: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        events.extend(json.loads(m["Body"]) for m in messages)
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return events


def relabel(site: Site, count: int, value: str) -> list[str]:
    from kubernetes import client
    from kubernetes import config as kube_config

    api = client.CoreV1Api(kube_config.new_client_from_config(str(site.kubesim.kubeconfig_path)))
    names = [node.metadata.name for node in api.list_node(limit=count).items]
    for name in names:
        api.patch_node(name, {"metadata": {"labels": {"test.netweave.io/touched": value}}})
    return names


def test_first_poll_writes_25_items_and_publishes_10_events_per_request(site: Site, counter: AwsRequestCounter) -> None:
    report = poll(site)
    count = shards.shard_count(report.objects)
    assert report.status == "changed" and report.created == report.objects > 250
    assert counter.of("dynamodb", "BatchWriteItem") == math.ceil(report.objects / 25) + math.ceil(count / 25)
    assert counter.of("sqs", "SendMessageBatch") == math.ceil(report.published / 10)
    # manifest, lease, digests, the empty byBackend index, the digests and the manifest (giving the lease back)
    assert counter.of("dynamodb") - counter.of("dynamodb", "BatchWriteItem") == 6
    assert len(drain(site)) == report.published


def test_an_unchanged_poll_reads_the_manifest_only(site: Site, counter: AwsRequestCounter) -> None:
    poll(site)
    counter.reset()
    report = poll(site)
    assert (report.status, report.written, report.published) == ("unchanged", 0, 0)
    assert counter.counts == {("dynamodb", "GetItem"): 1}


def test_a_few_changes_read_only_their_shards_and_write_in_two_batches(site: Site, counter: AwsRequestCounter) -> None:
    poll(site)
    drain(site)
    changed = relabel(site, 5, "one")
    counter.reset()
    report = poll(site)
    assert (report.status, report.modified, report.created, report.deleted) == ("changed", 5, 0, 0)
    events = drain(site)
    assert len(events) == 5 and all(any(name in json.dumps(e["post"]) for e in events) for name in changed)
    assert counter.of("dynamodb", "Query") == 0  # never the byBackend index
    # manifest, lease, digests, the differing shards, the priors, objects, shards, digests, manifest
    assert counter.of("dynamodb") == 9
    assert counter.of("dynamodb", "BatchGetItem") == 2 and counter.of("dynamodb", "BatchWriteItem") == 2
    assert counter.of("sqs", "SendMessageBatch") == 1


def test_a_table_written_before_shards_is_indexed_once_by_its_first_changed_poll(
        site: Site, counter: AwsRequestCounter) -> None:
    parts = site.components
    store, adapter = parts.inventory_store, parts.ims_registry.get()
    objects = adapter.read_inventory(parts.inventory_context)
    store.commit_snapshot(adapter.adapter_id, diff({}, objects), 1, update=None)  # objects and manifest only
    store.put_manifest(Manifest(adapter.adapter_id, snapshot_hash(objects), 1, {"reachable": True}))
    assert poll(site).status == "unchanged" and store.shard_digests(adapter.adapter_id) is None
    relabel(site, 3, "after-upgrade")
    counter.reset()
    upgraded = poll(site)
    assert (upgraded.modified, upgraded.created, upgraded.deleted) == (3, 0, 0)  # not a create for everything
    assert counter.of("dynamodb", "Query") >= 1  # the byBackend index, this once
    assert len(drain(site)) == 3
    relabel(site, 3, "later")
    counter.reset()
    later = poll(site)
    assert later.modified == 3 and counter.of("dynamodb", "Query") == 0


class Interleaved:
    """The site's adapter, running `meanwhile` (once) right after its read, before the poll goes on with it."""

    def __init__(self, site: Site, meanwhile: Any) -> None:
        self.inner = site.components.ims_registry.get()
        self.adapter_id = self.inner.adapter_id
        self.meanwhile = meanwhile

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        objects = self.inner.read_inventory(context)
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile:
            meanwhile()
        return objects


def test_an_older_read_finishing_after_a_newer_poll_writes_nothing(site: Site) -> None:
    poll(site)
    drain(site)
    later: list[PollReport] = []

    def newer_poll() -> None:  # a node joins after the older poll's read, and a newer poll commits it first
        site.kubesim.add_node(name="edge-late-1")
        later.append(poll(site))

    older = poll(site, Interleaved(site, newer_poll))
    assert later[0].status == "changed" and later[0].created >= 1
    assert older.status == "superseded" and older.written == older.published == 0
    assert any("edge-late-1" in json.dumps(e.get("post")) for e in drain(site))
    assert poll(site).status == "unchanged"  # the stored state is the newer one: the node is still there


def test_a_poll_finding_the_lease_held_has_the_holder_poll_again_and_no_event_is_lost(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    poll(site)
    drain(site)
    relabel(site, 2, "first")
    publisher = site.components.events_publisher
    publish = publisher.publish
    deferred: list[PollReport] = []

    def publish_then_meet_another_poll(events: list[ChangeEvent]) -> int:
        sent = publish(events)
        if not deferred:  # while the first poll holds the lease: a node joins and a second poll runs
            site.kubesim.add_node(name="edge-while-leased")
            deferred.append(poll(site))
        return sent

    monkeypatch.setattr(publisher, "publish", publish_then_meet_another_poll)
    holder = poll(site)
    assert deferred[0].status == "deferred" and deferred[0].written == 0
    assert holder.status == "changed" and holder.modified >= 2 and holder.created >= 1  # both rounds
    events = drain(site)
    assert any("edge-while-leased" in json.dumps(e.get("post")) for e in events)
    assert sum(e["eventType"] == "modified" for e in events) == holder.modified
    monkeypatch.undo()
    assert poll(site).status == "unchanged"


def test_a_poll_dying_with_the_lease_is_redone_with_the_same_event_ids_once_it_expires(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    poll(site)
    drain(site)
    relabel(site, 4, "lost")

    def killed(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("lambda timed out")

    monkeypatch.setattr(InventoryStore, "commit_snapshot", killed)
    monkeypatch.setattr(InventoryStore, "release_lease", killed)  # a killed function gives nothing back
    with pytest.raises(RuntimeError):
        poll(site)
    first_try = {e["eventId"] for e in drain(site)}
    monkeypatch.undo()
    assert len(first_try) == 4
    waiting = poll(site)
    assert waiting.status == "deferred" and drain(site) == []
    later = snapshot_commit.LEASE_MS + 1_000
    redone = poll(site, clock=lambda: time.time_ns() // 1_000_000 + later)
    assert redone.status == "changed" and redone.published == 4
    # SQS FIFO drops a redelivery within five minutes (same deduplication id): what reaches the queue is no new id
    assert {e["eventId"] for e in drain(site)} <= first_try
    assert poll(site).status == "unchanged"
