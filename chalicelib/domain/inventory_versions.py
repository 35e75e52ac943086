"""The versions of the Inventory API (docs/o2-conventions.md "Versions"): where each is served, and how an object
stored once is shaped for each. Pure.

One store, one set of services and views; the version only decides the paths (`objectRef` of notifications
included) and the few attributes that differ between the versions' models.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.inventory import ObjectType, ResourcePool
from chalicelib.domain.models import WireModel

INVENTORY_SERVICE = "/o2ims-infrastructureInventory"
SHORT_ROOT = "/o2ims/v1"  # the seed's short form of v1


class InventoryVersion(StrEnum):
    V1 = "v1"
    V2 = "v2"

    @property
    def root(self) -> str:
        return f"{INVENTORY_SERVICE}/{self.value}"

    @property
    def semver(self) -> str:
        return {InventoryVersion.V1: "1.0.0", InventoryVersion.V2: "2.0.0"}[self]


# Attributes a version's model no longer has. v2 (O2IMS R005 v11) moved a pool's location to its O-Cloud site:
# a v2 client follows `oCloudSiteId` to the site and the site's `globalLocationId` to the location.
_DROPPED: dict[InventoryVersion, dict[str, tuple[str, ...]]] = {
    InventoryVersion.V1: {},
    InventoryVersion.V2: {ObjectType.RESOURCE_POOL.value: ("globalLocationId", "location")},
}


class ResourcePoolV2(WireModel):
    """A pool as v2 shows it (what `/openapi.json` documents for v2): `ResourcePool` less the dropped attributes."""

    resource_pool_id: str = Field(alias="resourcePoolId")
    name: str
    description: str
    o_cloud_id: str = Field(alias="oCloudId")
    o_cloud_site_id: str = Field(alias="oCloudSiteId")
    extensions: dict[str, Any] = Field(default_factory=dict)


def pool_model(version: InventoryVersion) -> type[WireModel]:
    return ResourcePoolV2 if version is InventoryVersion.V2 else ResourcePool


def shape(version: InventoryVersion, object_type: str, document: dict[str, Any]) -> dict[str, Any]:
    """An object as `version` shows it; the stored (v1) form otherwise."""
    dropped = _DROPPED[version].get(object_type, ())
    return {name: value for name, value in document.items() if name not in dropped} if dropped else document


def object_ref(version: InventoryVersion, object_type: str, object_id: str, state: dict[str, Any]) -> str:
    """The path of an object under `version` (a notification's `objectRef`)."""
    root = version.root
    paths = {
        ObjectType.CLOUD.value: root,
        ObjectType.RESOURCE_TYPE.value: f"{root}/resourceTypes/{object_id}",
        ObjectType.RESOURCE_POOL.value: f"{root}/resourcePools/{object_id}",
        ObjectType.RESOURCE.value: f"{root}/resourcePools/{state.get('resourcePoolId')}/resources/{object_id}",
        ObjectType.DEPLOYMENT_MANAGER.value: f"{root}/deploymentManagers/{object_id}",
        ObjectType.LOCATION.value: f"{root}/locations/{object_id}",
        ObjectType.O_CLOUD_SITE.value: f"{root}/oCloudSites/{object_id}",
    }
    return paths.get(object_type, f"{root}/{object_id}")
