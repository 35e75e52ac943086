"""The sharded hash index (domain/shards.py): which shards a poll must read, and what it then writes back."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.store.batches import batch_get, write_batches
from chalicelib.domain import shards
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.events import ChangeType
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.snapshot import diff


def node(number: int, label: str = "a") -> InventoryObject:
    return InventoryObject(ObjectType.RESOURCE, f"node-{number:04d}", {"resourceId": f"node-{number:04d}",
                                                                       "label": label}, "pool-1")


def stored_index(objects: list[InventoryObject]) -> tuple[int, dict[int, shards.Entries], bytes]:
    """What a first poll of `objects` stores: count, shards, digests."""
    count = shards.shard_count(len(objects))
    update = shards.updated(shards.split({}, count), diff({}, objects), count, previous_count=0)
    return count, update.shards, update.digests


def test_an_object_stays_in_its_shard_and_objects_spread_over_every_shard() -> None:
    objects = [node(i) for i in range(1_000)]
    count = shards.shard_count(len(objects))
    assert count == 63  # ~16 entries each
    places = [shards.shard_of(("ResourceInfo", o.object_id), count) for o in objects]
    assert places == [shards.shard_of(("ResourceInfo", o.object_id), count) for o in objects]
    sizes = [places.count(index) for index in range(count)]
    assert min(sizes) >= 4 and max(sizes) <= 40


def test_an_unchanged_backend_has_no_differing_shard() -> None:
    objects = [node(i) for i in range(200)]
    count, _, digests = stored_index(objects)
    assert shards.differing(digests, shards.current_shards(list(reversed(objects)), count)) == []


def test_created_modified_and_deleted_objects_each_mark_their_own_shard_only() -> None:
    objects = [node(i) for i in range(200)]
    count, _, digests = stored_index(objects)
    now = [node(0, label="b"), *objects[1:150], node(500)]  # 0 modified, 150..199 deleted, 500 created
    changed_keys = [("ResourceInfo", o.object_id) for o in (node(0), node(500), *objects[150:])]
    expected = sorted({shards.shard_of(key, count) for key in changed_keys})
    assert shards.differing(digests, shards.current_shards(now, count)) == expected


def test_diffing_within_the_differing_shards_finds_exactly_the_changes() -> None:
    objects = [node(i) for i in range(300)]
    count, stored, digests = stored_index(objects)
    now = [node(7, label="b"), *objects[8:], node(900)]  # 7 modified, 0..6 deleted, 900 created
    wanted = shards.differing(digests, shards.current_shards(now, count))
    read = {index: stored.get(index, {}) for index in wanted}
    candidates = [o for o in now if shards.shard_of(("ResourceInfo", o.object_id), count) in wanted]
    changes = diff(shards.as_stored(read), candidates)
    assert sorted((c.change_type.value, c.key[1]) for c in changes) == sorted(
        [("modified", "node-0007"), ("created", "node-0900")] + [("deleted", f"node-{i:04d}") for i in range(7)])
    update = shards.updated(read, changes, count, digests)
    assert set(update.shards) <= set(wanted)  # only shards holding a change are written
    assert shards.differing(update.digests, shards.current_shards(now, count)) == []  # the next poll reads none


def test_a_shard_with_a_stale_digest_gets_its_digest_repaired_without_being_rewritten() -> None:
    objects = [node(i) for i in range(50)]
    count, stored, digests = stored_index(objects)
    broken = bytes(shards.DIGEST_BYTES) + digests[shards.DIGEST_BYTES:]  # a poll died between shards and digests
    current = shards.current_shards(objects, count)
    assert shards.differing(broken, current) == [0]
    update = shards.updated({0: stored[0]}, [], count, broken)
    assert update.shards == {} and update.digests == digests


def test_a_cluster_growing_or_shrinking_fourfold_is_resharded() -> None:
    assert not shards.needs_reshard(shards.shard_count(1_000), 1_000)
    assert not shards.needs_reshard(shards.shard_count(1_000), 3_000)
    assert shards.needs_reshard(shards.shard_count(1_000), 10_000)
    assert shards.needs_reshard(shards.shard_count(1_000), 100)


def test_a_rebuild_writes_every_shard_and_drops_those_beyond_the_new_count() -> None:
    stored = {("ResourceInfo", f"n{i}"): "h" for i in range(10)}
    update = shards.updated(shards.split(stored, 2), [], 2, previous_count=8)
    assert set(update.shards) == {0, 1} and list(update.stale) == [2, 3, 4, 5, 6, 7]
    assert shards.decode(shards.encode(update.shards[0])) == update.shards[0]


def test_a_deleted_object_leaves_its_shard() -> None:
    objects = [node(i) for i in range(20)]
    count, stored, digests = stored_index(objects)
    gone = objects[3]
    key = ("ResourceInfo", gone.object_id)
    index = shards.shard_of(key, count)
    changes = [c for c in diff(shards.as_stored({index: stored[index]}), []) if c.key == key]
    assert [c.change_type for c in changes] == [ChangeType.DELETED]
    assert key not in shards.updated({index: stored[index]}, changes, count, digests).shards[index]


class Throttled:
    """A DynamoDB client that leaves the last item of each batch unprocessed the first time it sees it."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.seen: set[str] = set()

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        requests = RequestItems["t"]
        self.calls.append(len(requests))
        last = repr(requests[-1])
        if last in self.seen:
            return {"UnprocessedItems": {}}
        self.seen.add(last)
        return {"UnprocessedItems": {"t": [requests[-1]]}}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems["t"]["Keys"]
        self.calls.append(len(keys))
        if len(keys) == 1:
            return {"Responses": {"t": keys}}
        return {"Responses": {"t": keys[:-1]}, "UnprocessedKeys": {"t": {**RequestItems["t"], "Keys": keys[-1:]}}}


def test_batch_writes_go_25_at_a_time_and_resend_what_dynamodb_left_unprocessed() -> None:
    client, pauses = Throttled(), list[float]()
    write_batches(client, "t", [{"PutRequest": {"Item": {"n": {"N": str(i)}}}} for i in range(30)], pauses.append)
    assert client.calls == [25, 1, 5, 1] and len(pauses) == 2


def test_batch_reads_resend_unprocessed_keys_and_return_every_item() -> None:
    client = Throttled()
    found = batch_get(client, "t", [{"n": {"N": str(i)}} for i in range(150)], {}, lambda _: None)
    assert len(found) == 150 and client.calls == [100, 1, 50, 1]


def test_writes_still_unprocessed_after_every_retry_fail_loudly() -> None:
    class Stuck:
        def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            return {"UnprocessedItems": RequestItems}

    with pytest.raises(BackendUnavailable):
        write_batches(Stuck(), "t", [{"DeleteRequest": {"Key": {}}}], lambda _: None)
