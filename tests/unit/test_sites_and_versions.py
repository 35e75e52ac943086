"""Deriving O-Cloud sites and locations from pools and the operator's configuration; shaping objects per Inventory
API version; and what a configuration may say about locations."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import ConfigurationError
from chalicelib.domain.inventory import ObjectType, ResourcePool, site_id
from chalicelib.domain.inventory_versions import InventoryVersion, object_ref, shape
from chalicelib.domain.sites import ConfiguredLocation, ConfiguredSite, derive_sites
from chalicelib.settings import load_gateway_config

CLOUD = "5a1c1c1e-0000-4000-8000-000000000001"


def pool(pool_id: str, location_id: str, place: str = "", site: str | None = None) -> dict[str, Any]:
    return ResourcePool(resource_pool_id=pool_id, name=pool_id, description="", o_cloud_id=CLOUD,
                        o_cloud_site_id=site, global_location_id=location_id, location=place or location_id).to_wire()


def by_type(objects: list[Any]) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for o in objects:
        found.setdefault(o.object_type.value, {})[o.object_id] = o.document
    return found


def test_a_pool_without_a_site_belongs_to_its_locations_site() -> None:
    made = pool("p1", "us-east-1")
    assert made["oCloudSiteId"] == site_id(CLOUD, "us-east-1")


def test_pools_sharing_a_location_make_one_site_and_one_location() -> None:
    objects = by_type(derive_sites(CLOUD, [pool("p1", "geo:40.7128,-74.0060", "New York far edge"),
                                           pool("p2", "geo:40.7128,-74.0060", "New York far edge"),
                                           pool("p3", "us-east-1")]))
    sites, locations = objects[ObjectType.O_CLOUD_SITE.value], objects[ObjectType.LOCATION.value]
    ny = sites[site_id(CLOUD, "geo:40.7128,-74.0060")]
    assert (ny["name"], ny["resourcePools"]) == ("New York far edge", ["p1", "p2"])
    assert locations["geo:40.7128,-74.0060"]["oCloudSiteIds"] == [ny["oCloudSiteId"]]
    assert locations["geo:40.7128,-74.0060"]["coordinate"] == {"type": "Point", "coordinates": [-74.006, 40.7128]}
    assert "coordinate" not in locations["us-east-1"]  # a region name has no coordinates of its own


def test_the_operator_names_locations_and_adds_sites_without_pools() -> None:
    configured = [ConfiguredLocation(global_location_id="us-east-1", name="Ashburn DC", address="Ashburn, VA")]
    planned = [ConfiguredSite(global_location_id="paris", name="Paris", description="Being built")]
    objects = by_type(derive_sites(CLOUD, [pool("p3", "us-east-1")], (), configured, planned))
    locations = objects[ObjectType.LOCATION.value]
    assert (locations["us-east-1"]["name"], locations["us-east-1"]["address"]) == ("Ashburn DC", "Ashburn, VA")
    paris_site = objects[ObjectType.O_CLOUD_SITE.value][site_id(CLOUD, "paris")]
    assert (paris_site["name"], paris_site["resourcePools"]) == ("Paris", [])
    assert locations["paris"]["oCloudSiteIds"] == [paris_site["oCloudSiteId"]]


def test_sites_and_locations_a_backend_reports_are_left_to_it() -> None:
    """A backend that knows its sites (DTIAS) reports them; its pools name them and nothing is derived twice."""
    reported = [{"oCloudSiteId": "dtias-site", "globalLocationId": "dallas", "name": "Dallas", "description": "",
                 "resourcePools": ["p9"], "extensions": {}},
                {"globalLocationId": "dallas", "name": "Dallas", "description": "", "oCloudSiteIds": ["dtias-site"],
                 "extensions": {}}]
    objects = by_type(derive_sites(CLOUD, [pool("p9", "dallas", site="dtias-site"), pool("p1", "dallas", "x")],
                                   reported))
    assert "dtias-site" not in objects[ObjectType.O_CLOUD_SITE.value]
    assert "dallas" not in objects.get(ObjectType.LOCATION.value, {})
    assert site_id(CLOUD, "dallas") in objects[ObjectType.O_CLOUD_SITE.value]  # p1 names no site: the derived one


def test_v2_shows_a_pools_location_through_its_site_and_v1_keeps_it() -> None:
    stored = pool("p1", "us-east-1")
    assert shape(InventoryVersion.V1, ObjectType.RESOURCE_POOL.value, stored) == stored
    v2 = shape(InventoryVersion.V2, ObjectType.RESOURCE_POOL.value, stored)
    assert "globalLocationId" not in v2 and "location" not in v2 and v2["oCloudSiteId"] == stored["oCloudSiteId"]


@pytest.mark.parametrize("version", list(InventoryVersion))
def test_object_references_follow_the_version(version: InventoryVersion) -> None:
    root = f"/o2ims-infrastructureInventory/{version.value}"
    assert object_ref(version, "OCloudSiteInfo", "s1", {}) == f"{root}/oCloudSites/s1"
    resource = object_ref(version, "ResourceInfo", "r1", {"resourcePoolId": "p1"})
    assert resource == f"{root}/resourcePools/p1/resources/r1"


def test_configuration_refuses_a_location_described_twice_or_a_misspelt_field(tmp_path: Any) -> None:
    twice = tmp_path / "twice.yaml"
    twice.write_text("locations:\n  - {globalLocationId: a}\n  - {globalLocationId: a}\n")
    with pytest.raises(ConfigurationError, match="described once"):
        load_gateway_config(twice)
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("sites:\n  - {globalLocationId: a, nmae: x}\n")
    with pytest.raises(ConfigurationError):
        load_gateway_config(misspelt)
