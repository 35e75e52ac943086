"""O-Cloud sites and locations (docs/o2-conventions.md "Locations and sites"), derived from the resource pools every
backend reports and from what the operator configured (`locations:` and `sites:` in config/gateway.yaml). Pure.

A pool names its site (`oCloudSiteId`) and its location (`globalLocationId`); the site groups the pools that share
it, the location groups its sites. A backend that knows its sites itself (a DTIAS-like inventory) reports
`OCloudSiteInfo`/`LocationInfo` objects of its own: those ids are the backend's and are not derived again here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from chalicelib.domain.inventory import (
    CivicAddressElement,
    Coordinate,
    InventoryObject,
    Location,
    OCloudSite,
    inventory_object,
    site_id,
)
from chalicelib.domain.models import WireModel

# RFC 5870 geo URI, as operators write a globalLocationId: "geo:40.7128,-74.0060" (latitude first, then longitude).
_GEO_URI = re.compile(r"^geo:(?P<lat>-?\d+(\.\d+)?),(?P<lon>-?\d+(\.\d+)?)(,(?P<alt>-?\d+(\.\d+)?))?")


class ConfiguredLocation(WireModel):
    """What the operator knows of a location and no backend does: its name, address and coordinates."""

    global_location_id: str = Field(alias="globalLocationId", min_length=1)
    name: str | None = None
    description: str | None = None
    coordinate: Coordinate | None = None
    civic_address: list[CivicAddressElement] | None = Field(default=None, alias="civicAddress")
    address: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)


class ConfiguredSite(WireModel):
    """An operator's name for the site at a location (or a site with no pools yet). `oCloudSiteId` names a site a
    backend reports; without it, the site is the location's own (the id its pools carry)."""

    global_location_id: str = Field(alias="globalLocationId", min_length=1)
    o_cloud_site_id: str | None = Field(default=None, alias="oCloudSiteId")
    name: str | None = None
    description: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)


@dataclass
class _Site:
    global_location_id: str
    pools: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)  # the pools' human-readable `location`
    configured: ConfiguredSite | None = None


def derive_sites(
    o_cloud_id: str,
    pools: Iterable[dict[str, Any]],
    reported: Iterable[dict[str, Any]] = (),
    locations: Iterable[ConfiguredLocation] = (),
    sites: Iterable[ConfiguredSite] = (),
) -> list[InventoryObject]:
    """Sites and locations for every `oCloudSiteId`/`globalLocationId` the pools name or the operator configured.
    `reported`: sites and locations backends reported themselves (their documents), left to them."""
    reported = list(reported)
    own_sites = {d["oCloudSiteId"]: d["globalLocationId"] for d in reported if "oCloudSiteId" in d}
    own_locations = {d["globalLocationId"] for d in reported if "oCloudSiteId" not in d}
    derived: dict[str, _Site] = {}
    for pool in pools:
        location_id = pool["globalLocationId"]
        sid = pool.get("oCloudSiteId") or site_id(pool["oCloudId"], location_id)
        if sid in own_sites:
            continue
        site = derived.setdefault(sid, _Site(location_id))
        site.pools.add(pool["resourcePoolId"])
        if pool.get("location"):
            site.places.add(pool["location"])
    for configured in sites:
        sid = configured.o_cloud_site_id or site_id(o_cloud_id, configured.global_location_id)
        if sid not in own_sites:
            derived.setdefault(sid, _Site(configured.global_location_id)).configured = configured
    objects = [inventory_object(_site(sid, site)) for sid, site in sorted(derived.items())]
    members: dict[str, set[str]] = {}
    for sid, location_id in [*own_sites.items(), *((s, d.global_location_id) for s, d in derived.items())]:
        members.setdefault(location_id, set()).add(sid)
    by_id = {c.global_location_id: c for c in locations}
    for location_id in sorted((set(members) | set(by_id)) - own_locations):
        places = sorted({p for s in derived.values() if s.global_location_id == location_id for p in s.places})
        location = _location(location_id, sorted(members.get(location_id, ())), places, by_id.get(location_id))
        objects.append(inventory_object(location))
    return objects


def _site(sid: str, site: _Site) -> OCloudSite:
    configured = site.configured
    place = ", ".join(sorted(site.places)) or site.global_location_id
    return OCloudSite(
        o_cloud_site_id=sid, global_location_id=site.global_location_id,
        name=(configured and configured.name) or place,
        description=(configured and configured.description) or f"O-Cloud site at {place}",
        resource_pools=sorted(site.pools),
        extensions=configured.extensions if configured else {},
    )


def _location(
    location_id: str, site_ids: list[str], places: list[str], configured: ConfiguredLocation | None
) -> Location:
    name = (configured and configured.name) or (", ".join(places) or location_id)
    return Location(
        global_location_id=location_id, name=name,
        description=(configured and configured.description) or f"Location {location_id}",
        o_cloud_site_ids=site_ids,
        coordinate=(configured and configured.coordinate) or geo_coordinate(location_id),
        civic_address=configured.civic_address if configured else None,
        address=configured.address if configured else None,
        extensions=configured.extensions if configured else {},
    )


def geo_coordinate(location_id: str) -> Coordinate | None:
    """The GeoJSON point of a `geo:` URI id (RFC 5870 writes latitude first, GeoJSON longitude first)."""
    match = _GEO_URI.match(location_id)
    if match is None:
        return None
    point = [float(match["lon"]), float(match["lat"])] + ([float(match["alt"])] if match["alt"] else [])
    return Coordinate(coordinates=point)
