"""Snapshot diffing and paging markers: the pure logic behind 'no change, no write' and opaque paging."""

import pytest

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.events import ChangeType, change_event_id
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.paging import decode_marker, encode_marker, parse_limit
from chalicelib.domain.snapshot import ObjectKey, StoredEntry, diff, snapshot_hash


def obj(object_id: str, **document: object) -> InventoryObject:
    return InventoryObject(ObjectType.RESOURCE, object_id, {"resourceId": object_id, **document}, "pool-1")


def stored(*objects: InventoryObject) -> dict[ObjectKey, StoredEntry]:
    return {(o.object_type.value, o.object_id): StoredEntry(o.content_hash, 1) for o in objects}


def test_unchanged_inventory_has_no_changes_and_the_same_overall_hash() -> None:
    current = [obj("a", description="x"), obj("b", description="y")]
    assert diff(stored(*current), current) == []
    assert snapshot_hash(current) == snapshot_hash(list(reversed(current)))


def test_created_modified_and_deleted_objects_are_each_reported_once() -> None:
    before = [obj("a", description="x"), obj("b", description="y")]
    after = [obj("a", description="changed"), obj("c", description="new")]
    changes = {(c.change_type, c.key[1]) for c in diff(stored(*before), after)}
    assert changes == {(ChangeType.MODIFIED, "a"), (ChangeType.CREATED, "c"), (ChangeType.DELETED, "b")}
    assert snapshot_hash(before) != snapshot_hash(after)


def test_key_order_inside_a_document_does_not_count_as_a_change() -> None:
    first = InventoryObject(ObjectType.RESOURCE, "a", {"x": 1, "y": {"b": 2, "a": 1}})
    second = InventoryObject(ObjectType.RESOURCE, "a", {"y": {"a": 1, "b": 2}, "x": 1})
    assert diff(stored(first), [second]) == []


def test_an_object_listed_twice_yields_one_change() -> None:
    assert len(diff({}, [obj("a"), obj("a")])) == 1


def test_event_ids_are_stable_for_the_same_change_and_differ_for_another() -> None:
    assert change_event_id("k8s", "a", "h1", "h2") == change_event_id("k8s", "a", "h1", "h2")
    assert change_event_id("k8s", "a", "h1", "h2") != change_event_id("k8s", "a", "h2", "h3")
    assert change_event_id("k8s", "a", None, "h1") != change_event_id("aws", "a", None, "h1")


def test_markers_round_trip_and_stay_opaque() -> None:
    key = {"pk": {"S": "ResourceInfo"}, "sk": {"S": "123"}}
    marker = encode_marker(key)
    assert "ResourceInfo" not in marker
    assert decode_marker(marker).resume_after == key


def test_a_plain_number_is_a_page_number() -> None:
    assert decode_marker("3").page_number == 3


@pytest.mark.parametrize("text", ["0", "abc!", "eyJ2IjoyfQ", "bm90IGpzb24", "eyJ2IjoxLCJrIjp7InBrIjoxfX0"])
def test_foreign_or_tampered_markers_are_400(text: str) -> None:
    with pytest.raises(InvalidQuery, match="nextpage_opaque_marker"):
        decode_marker(text)


@pytest.mark.parametrize(("text", "expected"), [(None, 100), ("", 100), ("1", 1), ("1000", 1000)])
def test_limit_defaults_to_100_and_allows_up_to_1000(text: str | None, expected: int) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["0", "1001", "-5", "ten", "1.5"])
def test_bad_limits_are_400(text: str) -> None:
    with pytest.raises(InvalidQuery, match="limit"):
        parse_limit(text)
