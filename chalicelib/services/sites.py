"""The O-Cloud's sites and locations, polled like a backend after the backends (docs/o2-conventions.md "Locations
and sites"): derived from every stored pool and the operator's configuration, stored, diffed and notified like
every other inventory object."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.store.inventory_store import InventoryStore, StoredObject
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.sites import ConfiguredLocation, ConfiguredSite, derive_sites

_PAGE = 500


@dataclass
class SiteCatalog:
    """An inventory source whose objects are the sites and locations no backend reports itself."""

    store: InventoryStore
    locations: Sequence[ConfiguredLocation] = ()
    sites: Sequence[ConfiguredSite] = ()
    adapter_id: str = "netweave-sites"

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        pools = [s.document for s in _all(self.store, ObjectType.RESOURCE_POOL)]
        reported = [s.document for t in (ObjectType.O_CLOUD_SITE, ObjectType.LOCATION)
                    for s in _all(self.store, t) if s.backend != self.adapter_id]
        return derive_sites(context.o_cloud_id, pools, reported, self.locations, self.sites)


def _all(store: InventoryStore, object_type: ObjectType) -> Iterator[StoredObject]:
    start: dict[str, Any] | None = None
    while True:
        items, start = store.page(object_type.value, _PAGE, start)
        yield from items
        if not start:
            return
