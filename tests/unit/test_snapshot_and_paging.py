"""Snapshot diffing and paging markers: the pure logic behind 'no change, no write' and opaque paging."""

import base64
import json
import re

import pytest

from chalicelib.domain.errors import InvalidQuery
from chalicelib.domain.events import ChangeType, change_event_id
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.paging import MarkerCodec, decode_marker, parse_limit
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


CODEC = MarkerCodec(b"test marker key")
KEY = {"pk": {"S": "ResourceInfo"}, "sk": {"S": "123"}}
ATTRIBUTES = frozenset(KEY)


def test_markers_round_trip_url_safe_and_opaque() -> None:
    marker = CODEC.encode("inventory/ResourceInfo/", KEY)
    assert "ResourceInfo" not in marker and re.fullmatch(r"[A-Za-z0-9_.-]+", marker)
    token = decode_marker(marker).token
    assert token is not None and CODEC.decode("inventory/ResourceInfo/", token, ATTRIBUTES) == KEY


def test_a_plain_number_is_a_page_number() -> None:
    assert decode_marker("3").page_number == 3


@pytest.mark.parametrize("text", ["0", "abc!", "eyJ2IjoyfQ", "a.b.c", "²", "1" * 10, "a." + "b" * 2000])
def test_markers_of_no_marker_form_are_400(text: str) -> None:
    with pytest.raises(InvalidQuery, match="nextpage_opaque_marker"):
        decode_marker(text)


def _tampered(marker: str) -> str:
    mac = marker.split(".")[1]
    forged = base64.urlsafe_b64encode(json.dumps({"pk": {"S": "ResourceInfo"}, "sk": {"S": "999"}}).encode())
    return f"{forged.decode().rstrip('=')}.{mac}"


@pytest.mark.parametrize(
    ("marker", "scope", "attributes"),
    [
        pytest.param(_tampered(CODEC.encode("s", KEY)), "s", ATTRIBUTES, id="payload-changed"),
        pytest.param(CODEC.encode("s", KEY)[:-2] + "AA", "s", ATTRIBUTES, id="mac-changed"),
        pytest.param(CODEC.encode("s", KEY), "another-list", ATTRIBUTES, id="another-list"),
        pytest.param(MarkerCodec(b"another key").encode("s", KEY), "s", ATTRIBUTES, id="another-key"),
        pytest.param(CODEC.encode("s", {**KEY, "x": {"S": "1"}}), "s", ATTRIBUTES, id="extra-attribute"),
        pytest.param(CODEC.encode("s", {"pk": {"S": "a"}, "sk": {"N": "1"}}), "s", ATTRIBUTES, id="wrong-type"),
    ],
)
def test_forged_tampered_or_foreign_markers_are_400(marker: str, scope: str, attributes: frozenset[str]) -> None:
    with pytest.raises(InvalidQuery, match="nextpage_opaque_marker: invalid"):
        CODEC.decode(scope, marker, attributes)


@pytest.mark.parametrize(("text", "expected"), [(None, 100), ("", 100), ("1", 1), ("1000", 1000)])
def test_limit_defaults_to_100_and_allows_up_to_1000(text: str | None, expected: int) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["0", "1001", "-5", "ten", "1.5", "²", "٣", "0001000", "9" * 5000])
def test_bad_limits_are_400(text: str) -> None:
    with pytest.raises(InvalidQuery, match="limit"):
        parse_limit(text)
