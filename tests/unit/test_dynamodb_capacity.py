"""DynamoDB's billing rules as devtools/dynamodb_capacity.py applies them (the cost bench and request-count tests)."""

from __future__ import annotations

from typing import Any

from devtools.dynamodb_capacity import CapacityMeter, item_size


class Model:
    def __init__(self, name: str) -> None:
        self.name = name


def billed(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one request to a table without indexes."""
    meter = CapacityMeter()
    context: dict[str, Any] = {}
    meter._keep(params=params, context=context)
    meter._measure(parsed=parsed, model=Model(operation), context=context)
    return meter.total()


def test_an_items_size_is_its_attribute_names_and_values() -> None:
    assert item_size({"pk": {"S": "Manifest"}, "sk": {"S": "é"}}) == 2 + 8 + 2 + 2  # UTF-8 bytes
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3  # one byte per two digits, plus one
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1


def test_reads_round_up_to_4_kb_eventually_consistent_at_half_a_unit() -> None:
    big = {"doc": {"S": "x" * 5000}}
    assert billed("GetItem", {"ConsistentRead": True}, {"Item": big}) == (2, 0)
    assert billed("GetItem", {}, {"Item": big}) == (1, 0)
    assert billed("GetItem", {}, {}) == (0.5, 0), "a key that finds nothing costs the minimum"
    # a query rounds its total once: 100 items of ~100 bytes are 3 units of 4 KB, not 100
    small = [{"doc": {"S": "y" * 97}} for _ in range(100)]
    assert billed("Query", {}, {"Items": small}) == (0.5 * 3, 0)


def test_writes_round_up_to_1_kb_per_item() -> None:
    item = {"doc": {"S": "z" * 1500}}
    assert billed("PutItem", {"TableName": "t", "Item": item}, {}) == (0, 2)
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": {}}}]}}
    assert billed("BatchWriteItem", batch, {}) == (0, 3)
    unprocessed: dict[str, Any] = {"UnprocessedItems": {"t": [{"DeleteRequest": {"Key": {}}}]}}
    assert billed("BatchWriteItem", batch, unprocessed) == (0, 2), "an unprocessed item is billed when resent"
