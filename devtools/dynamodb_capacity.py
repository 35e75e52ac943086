"""DynamoDB capacity units of the requests netweave sends, computed by DynamoDB's published billing rules from the
items each request reads and writes, not taken from the answer (moto's `ConsumedCapacity` is moto's guess).

Rules (the DynamoDB developer guide, "Read/write capacity mode" and "Item sizes"): a read request unit is an
eventually consistent read of up to 4 KB (a strongly consistent read costs 2, a transactional one 4); a Query or
Scan is billed on the total size of the items it returns, rounded up to 4 KB once; GetItem and each item of a
BatchGetItem are rounded up to 4 KB each, and a key that finds nothing still costs the minimum. A write request unit
is a write of up to 1 KB, rounded up per item (a transactional write costs 2). An item's size is the length of its
attribute names plus their values (strings and binaries by length, numbers by about one byte per two digits).
Deletes and updates are billed on the larger of the old and the new item; here the new item (a put) or 1 unit (a
delete, an update) is counted, which undercounts writes that replace bigger items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

READ_UNIT, WRITE_UNIT = 4096, 1024


def attribute_size(value: dict[str, Any]) -> int:  # noqa: PLR0911 - one return per DynamoDB type
    (kind, content), = value.items()
    if kind in ("S", "B"):
        return len(content.encode()) if isinstance(content, str) else len(content)
    if kind == "N":
        return 1 + math.ceil(len(content.lstrip("-").replace(".", "")) / 2)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(attribute_size({kind[0]: member}) for member in content)
    if kind == "NS":
        return sum(attribute_size({"N": member}) for member in content)
    if kind == "L":
        return 3 + sum(1 + attribute_size(member) for member in content)
    return 3 + sum(len(name.encode()) + 1 + attribute_size(member) for name, member in content.items())  # M


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


@dataclass
class CapacityMeter:
    """`attach` a low-level DynamoDB client; `read_units`/`write_units` add up what its requests are billed."""

    read_units: float = 0.0
    write_units: float = 0.0

    def attach(self, client: Any) -> CapacityMeter:
        client.meta.events.register("before-parameter-build.dynamodb", self._keep_params,
                                    unique_id=f"netweave-capacity-params-{id(self)}")
        client.meta.events.register("after-call.dynamodb", self._count, unique_id=f"netweave-capacity-{id(self)}")
        return self

    def reset(self) -> None:
        self.read_units = self.write_units = 0.0

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["netweave_params"] = params

    def _count(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("netweave_params", {})
        operation = model.name
        consistent = 1.0 if params.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            self.read_units += consistent * _units(item_size(parsed.get("Item", {})), READ_UNIT)
        elif operation in ("Query", "Scan"):
            total = sum(item_size(item) for item in parsed.get("Items", []))
            self.read_units += consistent * _units(total, READ_UNIT)
        elif operation == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.read_units += sum(0.5 * _units(item_size(item), READ_UNIT) for item in items)
        elif operation == "PutItem":
            self.write_units += _units(item_size(params.get("Item", {})), WRITE_UNIT)
        elif operation in ("DeleteItem", "UpdateItem"):
            self.write_units += 1
        elif operation == "BatchWriteItem":
            for requests in params.get("RequestItems", {}).values():
                self.write_units += sum(_units(item_size(r["PutRequest"]["Item"]), WRITE_UNIT) if "PutRequest" in r
                                        else 1 for r in requests)
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                put = entry.get("Put")
                self.write_units += 2 * (_units(item_size(put["Item"]), WRITE_UNIT) if put else 1)
