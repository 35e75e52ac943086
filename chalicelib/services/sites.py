"""The O-Cloud's sites and locations, polled like a backend after the backends (docs/o2-conventions.md "Locations
and sites"): derived from every stored pool and the operator's configuration, stored, diffed and notified like
every other inventory object.

Deriving them reads every stored pool, site and location; a poll skips that when its inputs are those the stored
sites were derived from: every backend's stored inventory (its manifest hash) and the configuration."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.store.inventory_store import InventoryStore, Manifest, StoredObject
from chalicelib.domain.events import EventPublisher
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.sites import ConfiguredLocation, ConfiguredSite, derive_sites
from chalicelib.services.inventory_poll import PollReport, now_ms, poll_backends

_PAGE = 500
SITES_INPUTS = "netweave-sites#inputs"  # the manifest item holding the digest of what the stored sites come from


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


def sites_inputs(o_cloud_id: str, backend_hashes: Mapping[str, str | None], catalog: SiteCatalog) -> str | None:
    """A digest of everything the sites are derived from; None when a backend's stored inventory is unknown."""
    if any(h is None for h in backend_hashes.values()):
        return None
    configuration = [[loc.to_wire() for loc in catalog.locations], [site.to_wire() for site in catalog.sites]]
    text = json.dumps([o_cloud_id, sorted(backend_hashes.items()), configuration], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def refresh_sites(catalog: SiteCatalog, context: InventoryContext, store: InventoryStore, publisher: EventPublisher,
                  inputs: str | None) -> list[PollReport]:
    """Derive, store and notify the sites, unless `inputs` (sites_inputs) are those the stored ones came from.
    The digest is taken before the pools are read: a pool stored meanwhile makes the next poll's differ."""
    stored = store.manifest(SITES_INPUTS)
    if inputs is not None and stored is not None and stored.hash == inputs:
        return []
    reports = poll_backends([catalog], context, store, publisher)
    if inputs is not None and all(r.status != "failed" for r in reports):
        store.put_manifest(Manifest(SITES_INPUTS, inputs, now_ms()))
    return reports
