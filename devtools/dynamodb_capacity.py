"""Estimating the read and write capacity (RCU/WCU) DynamoDB would bill for the requests a client sends.

moto's `ConsumedCapacity` is a constant per call (0.5 for any GetItem, 1.0 for any query or batch), so the units
are computed here from the items in each request and reply, by DynamoDB's rules: reads in 4 KB units (halved unless
strongly consistent; a query sums its page before rounding, a GetItem/BatchGetItem rounds per item), writes in 1 KB
units per item, plus one write per global secondary index the item is projected into. Approximations, stated where
they are made: a write is billed on the larger of the old and new item, and the client sees only the new one (a
delete or an UpdateItem is counted as one unit per item); a read with a ProjectionExpression is billed on the whole
item, and the reply holds only the projection."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from chalicelib.resources import Table

INDEX_OVERHEAD = 100  # bytes DynamoDB adds to every index entry


def attribute_size(value: dict[str, Any]) -> int:
    (kind, data), = value.items()
    if kind == "M":  # 3 bytes a map, 1 byte an element (the DynamoDB developer guide, "Item sizes")
        return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in data.items())
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in data)
    if kind == "N":
        return (len(str(data).lstrip("-").replace(".", "")) + 1) // 2 + 1
    return _scalar_size(kind, data)


def _scalar_size(kind: str, data: Any) -> int:
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(len(member) if isinstance(member, bytes) else len(str(member).encode()) for member in data)
    return len(data) if isinstance(data, bytes) else len(str(data).encode())


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


class CapacityMeter:
    """`attach` DynamoDB clients; `rcu`/`wcu` hold the estimated units per operation; `reset` between runs."""

    def __init__(self, *tables: tuple[str, Table]) -> None:
        self.tables = dict(tables)  # physical name -> definition, for the index writes of its items
        self.rcu: defaultdict[str, float] = defaultdict(float)
        self.wcu: defaultdict[str, float] = defaultdict(float)

    def attach(self, *clients: Any) -> CapacityMeter:
        for client in clients:
            client.meta.events.register("before-parameter-build.dynamodb", self._keep, unique_id=f"cap-{id(self)}")
            client.meta.events.register("after-call.dynamodb", self._measure, unique_id=f"cap-m-{id(self)}")
        return self

    def reset(self) -> None:
        self.rcu.clear()
        self.wcu.clear()

    def total(self) -> tuple[float, float]:
        return sum(self.rcu.values()), sum(self.wcu.values())

    @staticmethod
    def _keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["netweave-params"] = params

    def _measure(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.get("netweave-params", {})
        if "Error" in parsed and model.name not in ("PutItem", "DeleteItem", "UpdateItem"):
            return  # a refused condition still bills its write; other errors bill nothing
        name = model.name
        if name == "GetItem":
            self.rcu[name] += _read_units([parsed.get("Item", {})], params.get("ConsistentRead", False))
        elif name == "BatchGetItem":
            for table, request in params.get("RequestItems", {}).items():
                items = parsed.get("Responses", {}).get(table, [])
                missing = len(request["Keys"]) - len(items) - len(
                    parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                self.rcu[name] += _read_units(items, request.get("ConsistentRead", False)) + max(0, missing) * (
                    1.0 if request.get("ConsistentRead") else 0.5)
        elif name in ("Query", "Scan"):
            total = sum(item_size(i) for i in parsed.get("Items", []))
            units = max(1, math.ceil(total / 4096))
            self.rcu[name] += units * (1.0 if params.get("ConsistentRead") else 0.5)
        elif name == "PutItem":
            self.wcu[name] += self._put_units(params["TableName"], params["Item"])
        elif name in ("DeleteItem", "UpdateItem"):
            self.wcu[name] += 1
        elif name == "BatchWriteItem":
            self._batch_write(params, parsed)

    def _batch_write(self, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        unprocessed = parsed.get("UnprocessedItems", {})
        for table, requests in params.get("RequestItems", {}).items():
            left = {repr(r) for r in unprocessed.get(table, [])}
            for request in requests:
                if repr(request) in left:
                    continue  # not written: billed when its retry is
                if "PutRequest" in request:
                    self.wcu["BatchWriteItem"] += self._put_units(table, request["PutRequest"]["Item"])
                else:
                    self.wcu["BatchWriteItem"] += 1

    def _put_units(self, table: str, item: dict[str, Any]) -> int:
        units = math.ceil(item_size(item) / 1024) or 1
        definition = self.tables.get(table)
        for index in definition.indexes if definition else ():
            keys = [k for k in (index.partition_key, index.sort_key) if k]
            if not all(k in item for k in keys):
                continue  # a sparse index: the item is not in it
            if index.projected is None:
                entry = item_size(item)
            else:
                kept = {definition.partition_key, definition.sort_key, *keys, *index.projected} if definition else set()
                entry = item_size({k: v for k, v in item.items() if k in kept})
            units += math.ceil((entry + INDEX_OVERHEAD) / 1024)
        return units


def _read_units(items: list[dict[str, Any]], consistent: bool) -> float:
    factor = 1.0 if consistent else 0.5
    return sum(max(1, math.ceil(item_size(item) / 4096)) for item in items) * factor
