"""The asset index: every backend's servers by hardware identity (domain/server_identity.py), in the inventory table.

Items: `pk` = "Asset", `sk` = "<backend>#<resourceId>", `keys` (a string set), `rank`, `gid` (the backend's own
`globalAssetId` proposal), `poolId` and `assetBackend`. Not `backend`: that attribute keys the byBackend index,
whose items the poll diffs as the backend's inventory. One query reads the whole index (a few hundred bytes per
server: ~1 MB, one page, for 5,000 servers). The index is advisory and rebuilt by each poll from what it read, so a
missing or stale item heals on the backend's next poll.

Every change is counted in a generation item (`pk` = "AssetIndex", `sk` = "generation"), which the poll reads with
the manifests: a container that read the index at that generation answers from memory instead of reading it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.domain.server_identity import AssetEntry

ASSET = "Asset"
GENERATION_KEY = {"pk": {"S": "AssetIndex"}, "sk": {"S": "generation"}}


def generation_from_item(item: dict[str, Any] | None) -> int:
    """The generation an item holds (none stored yet: 0)."""
    return int(item["generation"]["N"]) if item else 0


class AssetIndex:
    """One per container: it keeps the index it last read or wrote, with its generation."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table = table_name
        self._known: tuple[int, list[AssetEntry]] | None = None

    def entries(self, generation: int | None = None) -> list[AssetEntry]:
        """Every backend's servers. Consistent: a poll must see what the backend polled just before it wrote.
        `generation`, read just before: the index as this container knew it at that generation, if it did."""
        if generation is not None and self._known is not None and self._known[0] == generation:
            return list(self._known[1])
        paginator = self.client.get_paginator("query")
        found: list[AssetEntry] = []
        for page in paginator.paginate(TableName=self.table, KeyConditionExpression="pk = :p",
                                       ExpressionAttributeValues={":p": {"S": ASSET}}, ConsistentRead=True):
            found.extend(_entry(item) for item in page.get("Items", []))
        # read after the generation: a change counted later makes the next poll read again
        self._known = (generation, list(found)) if generation is not None else None
        return found

    def replace(self, backend: str, current: Iterable[AssetEntry], stored: Iterable[AssetEntry]) -> int:
        """Make the backend's items `current`, given that they were `stored`: writes only the differences.
        Returns the number of writes."""
        wanted = {e.resource_id: e for e in current}
        had = {e.resource_id: e for e in stored if e.backend == backend}
        known, self._known = self._known, None  # unknown until every write has landed and been counted
        writes = 0
        for resource_id, entry in wanted.items():
            if had.get(resource_id) != entry:
                self.client.put_item(TableName=self.table, Item=_item(entry))
                writes += 1
        for resource_id in had.keys() - wanted.keys():
            self.client.delete_item(TableName=self.table, Key=_key(backend, resource_id))
            writes += 1
        if not writes:
            self._known = known
            return writes
        generation = self._count_change()
        if known is not None and generation == known[0] + 1:  # no other change counted since it was known
            self._known = (generation, [e for e in known[1] if e.backend != backend] + list(wanted.values()))
        return writes

    def _count_change(self) -> int:
        reply = self.client.update_item(TableName=self.table, Key=GENERATION_KEY,
                                        UpdateExpression="ADD generation :one",
                                        ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
        return int(reply["Attributes"]["generation"]["N"])


def _key(backend: str, resource_id: str) -> dict[str, Any]:
    return {"pk": {"S": ASSET}, "sk": {"S": f"{backend}#{resource_id}"}}


def _item(entry: AssetEntry) -> dict[str, Any]:
    return {**_key(entry.backend, entry.resource_id), "assetBackend": {"S": entry.backend},
            "resourceId": {"S": entry.resource_id}, "rank": {"N": str(entry.rank)},
            "keys": {"SS": sorted(entry.keys)}, "gid": {"S": entry.global_asset_id},
            "poolId": {"S": entry.pool_id}}


def _entry(item: dict[str, Any]) -> AssetEntry:
    return AssetEntry(item["assetBackend"]["S"], item["resourceId"]["S"], int(item["rank"]["N"]),
                      frozenset(item["keys"]["SS"]), item["gid"]["S"], item.get("poolId", {}).get("S", ""))
