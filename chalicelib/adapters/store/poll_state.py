"""What an inventory poll needs to know before it reads anything else, in one BatchGetItem across two tables
(issue 20, "Inventory poll handler"): every backend's manifest and the other manifest items of the inventory table
(the platform alarm catalogue's, the inputs the stored sites were derived from, the last registration) and the asset
index's generation, from the alarms table each backend's evaluation stamp and when the next purge is due, and from
the provisioning table which backends have provisioning requests to reconcile. An
unchanged poll needs nothing more (in a new container, the asset index too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.store.alarm_store import (
    PURGE_DUE_ID,
    EvaluationStamp,
    purge_due_from_item,
    stamp_from_item,
    stamp_id,
)
from chalicelib.adapters.store.asset_index import GENERATION_KEY, generation_from_item
from chalicelib.adapters.store.inventory_store import MANIFEST, InventoryStore, Lease, Manifest, Release, manifest_of
from chalicelib.adapters.store.provisioning_store import OPEN_ID, open_requests

_BATCH_GET_LIMIT = 100


class PrimedInventoryStore(InventoryStore):
    """The inventory store with manifests read ahead: `manifest` answers from the batch read (a manifest it did not
    find is known to be absent), and every manifest this store writes replaces what it answers."""

    def __init__(self, client: Any, table_name: str, primed: dict[str, Manifest | None]) -> None:
        super().__init__(client, table_name)
        self._primed = primed

    def manifest(self, backend: str) -> Manifest | None:
        if backend in self._primed:
            return self._primed[backend]
        return super().manifest(backend)

    def put_manifest(self, manifest: Manifest) -> bool:
        landed = super().put_manifest(manifest)
        if landed:
            self._primed[manifest.backend] = manifest
        else:  # a newer poll's manifest is stored: what it holds is unknown here
            self._primed.pop(manifest.backend, None)
        return landed

    def release_lease(self, lease: Lease, manifest: Manifest | None) -> Release:
        """A poll's manifest is written as it gives its lease back (services/snapshot_commit.py)."""
        released = super().release_lease(lease, manifest)
        if not released.held:
            self._primed.pop(lease.backend, None)
        elif manifest is not None:
            self._primed[manifest.backend] = manifest
        return released

    def known_hash(self, backend: str) -> str | None:
        """The hash of the backend's stored inventory as this store last read or wrote it; None if it does not know
        (never read, or a newer poll wrote it)."""
        manifest = self._primed.get(backend)
        return manifest.hash if manifest is not None else None


@dataclass
class PollState:
    inventory: PrimedInventoryStore
    stamps: dict[str, EvaluationStamp]  # by backend; a backend never evaluated has none
    purge_due: float | None  # epoch seconds; None: no purge recorded, one is due
    asset_generation: int
    open_provisioning: dict[str, list[str]] = field(default_factory=dict)  # backend -> its open requests' ids


def read_poll_state(client: Any, inventory_table: str, alarms_table: str, manifest_ids: Sequence[str],
                    backends: Sequence[str], provisioning_table: str | None = None) -> PollState:
    manifest_ids = list(dict.fromkeys(manifest_ids))
    alarm_ids = [*dict.fromkeys(stamp_id(b) for b in backends), PURGE_DUE_ID]
    keys = {
        inventory_table: [*({"pk": {"S": MANIFEST}, "sk": {"S": m}} for m in manifest_ids), GENERATION_KEY],
        alarms_table: [{"alarmEventRecordId": {"S": i}} for i in alarm_ids],
    }
    if provisioning_table:
        keys[provisioning_table] = [{"provisioningRequestId": {"S": OPEN_ID}}]
    found = batch_get(client, keys)
    manifests: dict[str, Manifest | None] = dict.fromkeys(manifest_ids)
    generation = None
    for item in found.get(inventory_table, []):
        if item["pk"]["S"] != MANIFEST:
            generation = item
            continue
        backend = item["sk"]["S"]
        manifests[backend] = manifest_of(backend, item)  # None: a lease taken before the first commit
    alarm_items = {item["alarmEventRecordId"]["S"]: item for item in found.get(alarms_table, [])}
    stamps = {b: stamp_from_item(alarm_items[stamp_id(b)]) for b in backends if stamp_id(b) in alarm_items}
    due = purge_due_from_item(alarm_items[PURGE_DUE_ID]) if PURGE_DUE_ID in alarm_items else None
    opened = next(iter(found.get(provisioning_table or "", [])), None)
    return PollState(PrimedInventoryStore(client, inventory_table, manifests), stamps, due,
                     generation_from_item(generation), open_requests(opened))


def batch_get(client: Any, keys: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Consistent reads of these keys of these tables: one BatchGetItem per 100 keys, plus one per retry of keys
    DynamoDB left unprocessed. Keys not found are simply missing from the answer."""
    flat = [(table, key) for table, table_keys in keys.items() for key in table_keys]
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(flat), _BATCH_GET_LIMIT):
        request: dict[str, Any] = {}
        for table, key in flat[start:start + _BATCH_GET_LIMIT]:
            request.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        while request:
            reply = client.batch_get_item(RequestItems=request)
            for table, items in reply.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            request = reply.get("UnprocessedKeys") or {}
    return found
