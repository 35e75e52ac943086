"""DynamoDB's billing rules as devtools/dynamodb_capacity.py applies them (the cost bench and request-count tests)."""

from __future__ import annotations

from typing import Any

from devtools.dynamodb_capacity import CapacityMeter, item_size


class Model:
    def __init__(self, name: str) -> None:
        self.name = name


def billed(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> CapacityMeter:
    meter = CapacityMeter()
    context: dict[str, Any] = {}
    meter._keep_params(params=params, context=context)
    meter._count(parsed=parsed, model=Model(operation), context=context)
    return meter


def test_an_items_size_is_its_attribute_names_and_values() -> None:
    assert item_size({"pk": {"S": "Manifest"}, "sk": {"S": "é"}}) == 2 + 8 + 2 + 2  # UTF-8 bytes
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3  # one byte per two digits, plus one
    assert item_size({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1 + 1


def test_reads_round_up_to_4_kb_eventually_consistent_at_half_a_unit() -> None:
    big = {"doc": {"S": "x" * 5000}}
    assert billed("GetItem", {"ConsistentRead": True}, {"Item": big}).read_units == 2
    assert billed("GetItem", {}, {"Item": big}).read_units == 1
    assert billed("GetItem", {}, {}).read_units == 0.5, "a key that finds nothing costs the minimum"
    # a query rounds its total once: 100 items of ~100 bytes are 3 units of 4 KB, not 100
    small = [{"doc": {"S": "y" * 97}} for _ in range(100)]
    assert billed("Query", {}, {"Items": small}).read_units == 0.5 * 3


def test_writes_round_up_to_1_kb_per_item_and_transactions_cost_double() -> None:
    item = {"doc": {"S": "z" * 1500}}
    assert billed("PutItem", {"Item": item}, {}).write_units == 2
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": {}}}]}}
    assert billed("BatchWriteItem", batch, {}).write_units == 3
    assert billed("TransactWriteItems", {"TransactItems": [{"Put": {"Item": item}}]}, {}).write_units == 4
