"""Diffing a backend's current inventory against the stored snapshot. Pure: no I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.domain.events import ChangeType
from chalicelib.domain.inventory import InventoryObject, ObjectType

ObjectKey = tuple[str, str]  # (object type, object id)


@dataclass(frozen=True)
class StoredEntry:
    hash: str
    observed_at: int


@dataclass(frozen=True)
class Change:
    change_type: ChangeType
    key: ObjectKey
    current: InventoryObject | None  # None for deletions
    prior_hash: str | None


def snapshot_hash(objects: list[InventoryObject]) -> str:
    """One hash over a whole inventory: equal hashes mean nothing changed, and the poll can stop there."""
    digest = hashlib.sha256()
    for object_type, object_id, content in sorted((o.object_type.value, o.object_id, o.content_hash) for o in objects):
        digest.update(f"{object_type}|{object_id}|{content}\n".encode())
    return digest.hexdigest()


def diff(stored: dict[ObjectKey, StoredEntry], current: list[InventoryObject]) -> list[Change]:
    changes: list[Change] = []
    seen: set[ObjectKey] = set()
    for obj in current:
        key = (obj.object_type.value, obj.object_id)
        if key in seen:
            continue  # a backend listing an object twice (paging under churn) must not produce two events
        seen.add(key)
        entry = stored.get(key)
        if entry is None:
            changes.append(Change(ChangeType.CREATED, key, obj, None))
        elif entry.hash != obj.content_hash:
            changes.append(Change(ChangeType.MODIFIED, key, obj, entry.hash))
    for key, entry in stored.items():
        if key not in seen:
            changes.append(Change(ChangeType.DELETED, key, None, entry.hash))
    return sorted(changes, key=_phase)


def _phase(change: Change) -> int:
    """The order a poll's changes are published in (docs/subscriptions.md, "Pool ready"): new pools, types and
    managers first, then every change of a resource, then the modifications of the others, then their deletions.
    So a pool's creation precedes its nodes' and a pool modified in the same poll as its nodes (its `readyNodes`
    reaching `desiredNodes`) is announced after them. The sort is stable: within a phase, the backend's order."""
    if change.key[0] == ObjectType.RESOURCE.value:
        return 1
    return {ChangeType.CREATED: 0, ChangeType.MODIFIED: 2}.get(change.change_type, 3)


# Objects an SMO is notified about (docs/o2-conventions.md §4: objectType values); alarm dictionaries are served,
# not notified.
NOTIFIED_TYPES = frozenset(
    {
        ObjectType.RESOURCE_TYPE.value,
        ObjectType.RESOURCE_POOL.value,
        ObjectType.RESOURCE.value,
        ObjectType.DEPLOYMENT_MANAGER.value,
        ObjectType.LOCATION.value,
        ObjectType.O_CLOUD_SITE.value,
    }
)
