"""The inventory snapshot in (moto) DynamoDB: newest poll wins, conflicts never lose other writes."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.adapters.store.inventory_store import InventoryStore, Manifest
from chalicelib.bootstrap import Components
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
    result = store.apply(backend, [put(o) for o in objects], observed_at=100)
    assert (result.written, result.skipped) == (3, 0)
    assert stored_document(store, objects[0].object_id)["description"] == "node 0"
    entries = store.stored_entries(backend)
    assert set(entries) == {("ResourceInfo", o.object_id) for o in objects}
    assert all(entry.observed_at == 100 for entry in entries.values())


def test_an_older_poll_never_overwrites_or_deletes_what_a_newer_one_wrote(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    newer, older = resource(f"{backend}-x", "from the newer poll"), resource(f"{backend}-x", "stale")
    store.apply(backend, [put(newer)], observed_at=200)
    late = store.apply(backend, [put(older)], observed_at=100)
    assert (late.written, late.skipped) == (0, 1)
    store.apply(backend, [delete(older)], observed_at=150)
    assert stored_document(store, newer.object_id)["description"] == "from the newer poll"


def test_one_conflicting_write_does_not_lose_the_others(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    contested = resource(f"{backend}-c", "newer")
    store.apply(backend, [put(contested)], observed_at=300)
    batch = [put(resource(f"{backend}-1", "one")), put(resource(f"{backend}-c", "older")),
             put(resource(f"{backend}-2", "two"))]
    result = store.apply(backend, batch, observed_at=250)
    assert (result.written, result.skipped) == (2, 1)
    assert stored_document(store, f"{backend}-c")["description"] == "newer"
    assert stored_document(store, f"{backend}-2")["description"] == "two"


def test_a_pool_pages_its_resources_in_id_order_through_the_parent_index(store: InventoryStore) -> None:
    backend, pool = f"b-{uuid.uuid4()}", f"pool-{uuid.uuid4()}"
    ids = sorted(f"{backend}-{i:02d}" for i in range(5))
    store.apply(backend, [put(resource(i, "r", pool)) for i in ids], observed_at=1)
    first, resume = store.page("ResourceInfo", 3, parent_key=pool)
    second, _ = store.page("ResourceInfo", 3, resume, parent_key=pool)
    assert [o.object_id for o in first + second] == ids


def test_manifest_of_an_older_poll_does_not_replace_a_newer_one(store: InventoryStore) -> None:
    backend = f"b-{uuid.uuid4()}"
    assert store.put_manifest(Manifest(backend, "new", 500, {"reachable": True}))
    assert not store.put_manifest(Manifest(backend, "old", 400, {}))
    manifest = store.manifest(backend)
    assert manifest is not None and (manifest.hash, manifest.status) == ("new", {"reachable": True})
