"""The inventory snapshot in (moto) DynamoDB: objects as every reader reads them, the shard index beside them, and
the poll lease that lets one poll at a time write a backend's snapshot."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.store.inventory_store import InventoryStore, Manifest, Release
from chalicelib.bootstrap import Components
from chalicelib.domain import shards
from chalicelib.domain.events import ChangeType
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.snapshot import Change


@pytest.fixture()
def store(components: Components, moto_url: str) -> InventoryStore:
    return InventoryStore(boto3.client("dynamodb"), components.settings.table_name(resources.INVENTORY))


def resource(object_id: str, description: str, pool: str = "pool-a") -> InventoryObject:
    return InventoryObject(ObjectType.RESOURCE, object_id,
                           {"resourceId": object_id, "resourcePoolId": pool, "description": description}, pool)


def stored_document(store: InventoryStore, object_id: str) -> dict[str, Any]:
    """The stored document of a resource the test wrote."""
    stored = store.get("ResourceInfo", object_id)
    assert stored is not None, object_id
    return stored.document


def put(obj: InventoryObject) -> Change:
    return Change(ChangeType.CREATED, (obj.object_type.value, obj.object_id), obj, None)


def delete(obj: InventoryObject) -> Change:
    return Change(ChangeType.DELETED, (obj.object_type.value, obj.object_id), None, obj.content_hash)


def test_written_objects_are_readable_and_listed_by_backend(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    objects = [resource(f"{backend}-{i}", f"node {i}") for i in range(3)]
    assert store.commit_snapshot(backend, [put(o) for o in objects], observed_at=100, update=None) == 3
    assert stored_document(store, objects[0].object_id)["description"] == "node 0"
    entries = store.stored_entries(backend)
    assert set(entries) == {("ResourceInfo", o.object_id) for o in objects}
    assert all(entry.observed_at == 100 for entry in entries.values())
    store.commit_snapshot(backend, [delete(objects[1])], observed_at=200, update=None)
    assert set(store.stored_entries(backend)) == {("ResourceInfo", objects[i].object_id) for i in (0, 2)}


def test_shards_are_stored_apart_from_the_objects_every_reader_lists(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    objects = [resource(f"{backend}-{i}", f"node {i}") for i in range(40)]
    changes = [put(o) for o in objects]
    count = shards.shard_count(len(objects))
    update = shards.updated(shards.split({}, count), changes, count, previous_count=0)
    store.commit_snapshot(backend, changes, observed_at=100, update=update)
    stored = store.shard_digests(backend)
    assert stored is not None and (stored.count, stored.digests) == (count, update.digests)
    read = store.read_shards(backend, range(count))
    assert {key: h for entries in read.values() for key, h in entries.items()} == {
        ("ResourceInfo", o.object_id): o.content_hash for o in objects}
    assert set(store.stored_entries(backend)) == {("ResourceInfo", o.object_id) for o in objects}  # no shard items


def test_a_smaller_layout_deletes_the_shards_it_no_longer_uses(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    store.commit_snapshot(backend, [], 1, shards.updated(shards.split({}, 4), [], 4, previous_count=0))
    store.commit_snapshot(backend, [], 2, shards.updated(shards.split({}, 1), [], 1, previous_count=4))
    left = boto3.client("dynamodb").query(TableName=store.table, KeyConditionExpression="pk = :p",
                                          ExpressionAttributeValues={":p": {"S": f"Shard#{backend}"}})["Items"]
    assert sorted(item["sk"]["S"] for item in left) == ["000000", "digests"]


def test_one_poll_holds_the_lease_and_hears_of_another_poll_that_wanted_it(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    lease = store.take_lease(backend, "poll-1", now=1_000, until=2_000)
    assert lease is not None and lease.manifest is None  # a lease alone is no committed poll
    assert store.manifest(backend) is None  # so readiness still waits for the first poll
    assert store.take_lease(backend, "poll-2", now=1_500, until=2_500) is None
    assert store.request_rerun(backend, now=1_500)
    released = store.release_lease(lease, Manifest(backend, "h1", 1_000, {"reachable": True}))
    assert (released.held, released.rerun) == (True, True)
    assert not store.request_rerun(backend, now=1_600)  # nobody holds it: the asking poll takes it instead
    again = store.take_lease(backend, "poll-2", now=1_600, until=2_600)
    assert again is not None and again.manifest is not None and again.manifest.hash == "h1"
    assert store.release_lease(again, None) == Release(held=True, rerun=False)
    manifest = store.manifest(backend)
    assert manifest is not None and manifest.hash == "h1"


def test_an_expired_lease_goes_to_the_next_poll_and_its_holder_cannot_commit(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    stale = store.take_lease(backend, "poll-1", now=1_000, until=2_000)
    fresh = store.take_lease(backend, "poll-2", now=2_001, until=3_000)
    assert stale is not None and fresh is not None
    assert not store.release_lease(stale, Manifest(backend, "old", 1_000)).held
    assert store.release_lease(fresh, Manifest(backend, "new", 2_001)).held
    manifest = store.manifest(backend)
    assert manifest is not None and manifest.hash == "new"


def test_a_pool_pages_its_resources_in_id_order_through_the_parent_index(store: InventoryStore) -> None:
    backend, pool = f"b-{uuid.uuid4()}", f"pool-{uuid.uuid4()}"
    ids = sorted(f"{backend}-{i:02d}" for i in range(5))
    store.commit_snapshot(backend, [put(resource(i, "r", pool)) for i in ids], observed_at=1, update=None)
    first, resume = store.page("ResourceInfo", 3, parent_key=pool)
    second, _ = store.page("ResourceInfo", 3, resume, parent_key=pool)
    assert [o.object_id for o in first + second] == ids


def test_manifest_of_an_older_poll_does_not_replace_a_newer_one(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    assert store.put_manifest(Manifest(backend, "new", 500, {"reachable": True}))
    assert not store.put_manifest(Manifest(backend, "old", 400, {}))
    manifest = store.manifest(backend)
    assert manifest is not None and (manifest.hash, manifest.status) == ("new", {"reachable": True})
