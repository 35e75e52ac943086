"""One physical server, one resource (docs/o2-conventions.md §10 "One server seen by several backends"). Pure.

A server can be seen by a cluster backend (a Kubernetes node), by DTIAS and by its BMC over Redfish at once. Each
backend maps what it sees on its own; this module links the views of one machine by its hardware identity (service
tag, serial number, SMBIOS UUID) and decides which view the SMO lists: the view of the backend of highest precedence
(by default the cluster, then DTIAS, then Redfish). The other views stay readable by id, carry
`extensions.mergedInto` (with their components) and are left out of lists; every view names the others in
`extensions.sameAs` and carries the same `globalAssetId`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.domain.inventory import InventoryObject, ObjectType

MERGED_INTO = "mergedInto"
SAME_AS = "sameAs"

# Placeholders firmware writes where a value was never set: they identify no machine, and matching on them would
# merge unrelated servers (SMBIOS 3.x §7.2.1: all-zero and all-FF UUIDs mean "not present" / "not settable").
_NO_UUIDS = frozenset({"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
                       "03000200-0400-0500-0006-000700080009"})  # a widespread OEM default
_NO_SERIALS = frozenset({"", "0", "0123456789", "NONE", "N/A", "NA", "NOT SPECIFIED", "NOT AVAILABLE", "DEFAULT STRING",
                         "TO BE FILLED BY O.E.M.", "SYSTEM SERIAL NUMBER", "UNKNOWN"})
# Which kind of key makes the best `globalAssetId` for a linked group: a service tag is printed on the chassis and
# known to the vendor's support, a serial number next, an SMBIOS UUID last.
_KIND_ORDER = ("servicetag", "serial", "uuid")


def asset_keys(service_tag: Any = None, serial_number: Any = None, system_uuid: Any = None) -> frozenset[str]:
    """A server's identity keys, normalised so that two backends' spellings agree (tags and serials are compared
    case-insensitively, UUIDs in lower case); placeholders are dropped."""
    keys = set()
    tag, serial, uuid = (str(v).strip() if v is not None else "" for v in (service_tag, serial_number, system_uuid))
    if tag.upper() not in _NO_SERIALS:
        keys.add(f"servicetag:{tag.upper()}")
    if serial.upper() not in _NO_SERIALS:
        keys.add(f"serial:{serial.upper()}")
    if uuid and uuid.lower() not in _NO_UUIDS:
        keys.add(f"uuid:{uuid.lower()}")
    return frozenset(keys)


@dataclass(frozen=True)
class AssetEntry:
    """A backend's view of one server, as the asset index keeps it between polls."""

    backend: str
    resource_id: str
    rank: int  # the backend's precedence: lower wins
    keys: frozenset[str]
    global_asset_id: str  # what the backend itself proposes
    pool_id: str = ""  # where the view is read: …/resourcePools/{pool_id}/resources/{resource_id}

    @property
    def order(self) -> tuple[int, str, str]:
        return self.rank, self.backend, self.resource_id

    @property
    def link(self) -> dict[str, str]:
        return {"backend": self.backend, "resourcePoolId": self.pool_id, "resourceId": self.resource_id}


def entries_of(backend: str, rank: int, objects: Iterable[InventoryObject]) -> list[AssetEntry]:
    """The servers among a backend's objects: resources whose mapping gave them hardware keys."""
    return [AssetEntry(backend, o.object_id, rank, o.asset_keys, str(o.document.get("globalAssetId") or ""),
                       str(o.document.get("resourcePoolId") or o.parent_key or ""))
            for o in objects if o.asset_keys and o.object_type is ObjectType.RESOURCE]


def link_servers(backend: str, rank: int, objects: Sequence[InventoryObject],
                 stored: Iterable[AssetEntry]) -> list[InventoryObject]:
    """The backend's objects with each server linked to the other backends' views of the same machine. Views are
    grouped transitively (a node matching DTIAS by UUID, DTIAS matching Redfish by service tag: one machine)."""
    own = entries_of(backend, rank, objects)
    if not own:
        return list(objects)
    groups = _groups([*own, *(e for e in stored if e.backend != backend)])
    edits: dict[str, dict[str, Any]] = {}
    merged: dict[str, str] = {}  # a hidden server's id -> the listed view's id
    for entry in own:
        members = groups[entry]
        if len(members) == 1:
            continue
        primary = min(members, key=lambda m: m.order)
        edits[entry.resource_id] = {
            "globalAssetId": _global_asset_id(members),
            SAME_AS: [m.link for m in sorted(members, key=lambda m: m.order) if m != entry],
        }
        if primary != entry:
            merged[entry.resource_id] = primary.resource_id
    hidden = _with_descendants(merged, objects)
    return [_edited(o, edits.get(o.object_id), hidden.get(o.object_id)) for o in objects]


def _groups(entries: list[AssetEntry]) -> dict[AssetEntry, list[AssetEntry]]:
    """Connected components of views sharing any key (union-find over the keys)."""
    parent = list(range(len(entries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for index, entry in enumerate(entries):
        for key in entry.keys:
            if key in first:
                parent[root(index)] = root(first[key])
            else:
                first[key] = index
    components: dict[int, list[AssetEntry]] = {}
    for index, entry in enumerate(entries):
        components.setdefault(root(index), []).append(entry)
    return {entry: components[root(index)] for index, entry in enumerate(entries)}


def _global_asset_id(members: list[AssetEntry]) -> str:
    """The group's `globalAssetId`: the proposal of the best-ranked view holding the best kind of key (a service
    tag, then a serial number, then a UUID), so the cluster node of a Dell server carries DTIAS's
    `dell:servicetag:<TAG>` rather than its provider id."""
    def quality(member: AssetEntry) -> tuple[int, int, str, str]:
        kinds = {key.partition(":")[0] for key in member.keys}
        best = min((_KIND_ORDER.index(k) for k in kinds if k in _KIND_ORDER), default=len(_KIND_ORDER))
        return (best, *member.order)

    return min(members, key=quality).global_asset_id


def _with_descendants(merged: dict[str, str], objects: Sequence[InventoryObject]) -> dict[str, str]:
    """A hidden server's components are hidden with it: they belong to the listed view's machine."""
    if not merged:
        return {}
    parents = {o.object_id: str(o.document.get("parentId") or "") for o in objects}
    hidden = dict(merged)
    for object_id in parents:
        ancestor, seen = parents.get(object_id, ""), {object_id}
        while ancestor and ancestor not in hidden and ancestor not in seen:
            seen.add(ancestor)
            ancestor = parents.get(ancestor, "")
        if ancestor in hidden:
            hidden[object_id] = hidden[ancestor]
    return hidden


def _edited(obj: InventoryObject, edit: dict[str, Any] | None, merged_into: str | None) -> InventoryObject:
    if edit is None and merged_into is None:
        return obj
    document = {**obj.document, **{k: v for k, v in (edit or {}).items() if k == "globalAssetId"}}
    extensions = dict(document.get("extensions") or {})
    if edit is not None:
        extensions[SAME_AS] = edit[SAME_AS]
    if merged_into is not None:
        extensions[MERGED_INTO] = merged_into
    document["extensions"] = extensions
    return replace(obj, document=document)


def is_merged(document: dict[str, Any]) -> bool:
    """A view another backend's view stands for in lists."""
    return bool((document.get("extensions") or {}).get(MERGED_INTO))
