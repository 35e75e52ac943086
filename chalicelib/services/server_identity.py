"""Linking the views of one server across backends during the inventory poll (docs/o2-conventions.md §10).

Each backend's poll links its servers against the asset index as the other backends' last polls left it, then,
once its snapshot is committed, records its own servers there. So a link appears at the first poll of each backend
after both have seen the machine (within one poll interval), and a backend that is down keeps its last entries:
the links, and which view is listed, stay as they were. One poll run reads the index once, at its first backend with
servers, and keeps it up to date with its own writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.domain.inventory import InventoryObject
from chalicelib.domain.server_identity import AssetEntry, entries_of, link_servers

# The default precedence by backend type: the cluster's view of a server is the one an SMO deploys onto; DTIAS
# manages the fleet (pools, allocation); Redfish reads single BMCs.
TYPE_PRECEDENCE = ("kubernetes", "aws", "dtias", "redfish")


class AssetIndexPort(Protocol):
    def entries(self, generation: int | None = None) -> list[AssetEntry]: ...

    def replace(self, backend: str, current: list[AssetEntry], stored: list[AssetEntry]) -> int: ...


def precedence(adapters: Sequence[tuple[str, str]], configured: Sequence[str] = ()) -> Callable[[str], int]:
    """Each backend's rank (lower wins): the operator's `identityPrecedence` list of backend ids first, then the
    rest by type (TYPE_PRECEDENCE), then by id."""
    def key(adapter: tuple[str, str]) -> tuple[int, int, str]:
        adapter_id, adapter_type = adapter
        listed = configured.index(adapter_id) if adapter_id in configured else len(configured)
        by_type = TYPE_PRECEDENCE.index(adapter_type) if adapter_type in TYPE_PRECEDENCE else len(TYPE_PRECEDENCE)
        return listed, by_type, adapter_id

    ranks = {adapter_id: rank for rank, (adapter_id, _) in enumerate(sorted(adapters, key=key))}
    return lambda backend: ranks.get(backend, len(ranks))


@dataclass
class ServerLinker:
    index: AssetIndexPort
    rank_of: Callable[[str], int]
    generation: int | None = None  # the index's generation, read as the run began (asset_index.py)
    _stored: dict[str, list[AssetEntry]] = field(default_factory=dict)
    _entries: list[AssetEntry] | None = None  # the index as this run read it, with the run's own writes

    def link(self, backend: str, objects: list[InventoryObject]) -> list[InventoryObject]:
        """The objects with their servers linked. No request for a backend without servers (cloud VMs)."""
        if not any(o.asset_keys for o in objects):
            return objects
        stored = self._stored[backend] = self._index()
        return link_servers(backend, self.rank_of(backend), objects, stored)

    def record(self, backend: str, objects: list[InventoryObject], changed: bool) -> int:
        """After the commit: the backend's servers in the index; returns the number of writes. A backend without
        servers reads the index only when its inventory changed (its last server may just have gone)."""
        stored = self._stored.pop(backend, None)
        current = entries_of(backend, self.rank_of(backend), objects)
        if stored is None:
            if not changed:
                return 0
            stored = self._index()
        self._entries = None  # unknown until the writes below have all landed
        writes = self.index.replace(backend, current, stored)
        self._entries = [e for e in stored if e.backend != backend] + current
        return writes

    def _index(self) -> list[AssetEntry]:
        if self._entries is None:
            self._entries = self.index.entries(self.generation)
        return self._entries
