"""O2ims Infrastructure Inventory objects (docs/o2-conventions.md §2): wire models, object types, selector schemas,
stable ids.

Adapters produce these; the snapshot store keeps their wire form; the API and notifications serve that same form,
so what an SMO reads and what it is notified of never differ.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, model_validator

from chalicelib.domain.models import WireModel
from chalicelib.domain.selectors import SelectorSchema

_ID_NAMESPACE = uuid.UUID("0d9b7e1c-52a4-5f0e-8c43-7a1f6b2e9d15")


def stable_id(*parts: str) -> str:
    """A UUID derived from the backend's identity of an object, so it survives polls and restarts
    (docs/o2-conventions.md §2)."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


class ObjectType(StrEnum):
    CLOUD = "CloudInfo"
    RESOURCE_TYPE = "ResourceTypeInfo"
    RESOURCE_POOL = "ResourcePoolInfo"
    RESOURCE = "ResourceInfo"
    DEPLOYMENT_MANAGER = "DeploymentManagerInfo"
    ALARM_DICTIONARY = "AlarmDictionaryInfo"
    LOCATION = "LocationInfo"
    O_CLOUD_SITE = "OCloudSiteInfo"


class ResourceKind(StrEnum):
    UNDEFINED = "UNDEFINED"
    PHYSICAL = "PHYSICAL"
    LOGICAL = "LOGICAL"


class ResourceClass(StrEnum):
    UNDEFINED = "UNDEFINED"
    COMPUTE = "COMPUTE"
    NETWORKING = "NETWORKING"
    STORAGE = "STORAGE"


class AlarmDefinition(WireModel):
    alarm_definition_id: str = Field(alias="alarmDefinitionId")
    alarm_name: str = Field(alias="alarmName")
    alarm_last_change: str = Field(alias="alarmLastChange")
    alarm_change_type: str = Field(alias="alarmChangeType")
    alarm_description: str = Field(alias="alarmDescription")
    proposed_repair_actions: str = Field(alias="proposedRepairActions")
    clearing_type: str = Field(alias="clearingType")
    management_interface_id: list[str] = Field(default_factory=lambda: ["O2IMS"], alias="managementInterfaceId")
    pk_notification_field: list[str] = Field(default_factory=lambda: ["alarmDefinitionID"], alias="pkNotificationField")
    alarm_additional_fields: dict[str, Any] = Field(default_factory=dict, alias="alarmAdditionalFields")


class AlarmDictionary(WireModel):
    alarm_dictionary_id: str = Field(alias="alarmDictionaryId")
    alarm_dictionary_version: str = Field(alias="alarmDictionaryVersion")
    alarm_dictionary_schema_version: str = Field(alias="alarmDictionarySchemaVersion")
    entity_type: str = Field(alias="entityType")
    vendor: str
    management_interface_id: list[str] = Field(default_factory=lambda: ["O2IMS"], alias="managementInterfaceId")
    pk_notification_field: list[str] = Field(default_factory=lambda: ["alarmDefinitionID"], alias="pkNotificationField")
    alarm_definition: list[AlarmDefinition] = Field(alias="alarmDefinition")


class ResourceType(WireModel):
    resource_type_id: str = Field(alias="resourceTypeId")
    name: str
    description: str
    vendor: str
    model: str
    version: str
    resource_kind: ResourceKind = Field(alias="resourceKind")
    resource_class: ResourceClass = Field(alias="resourceClass")
    alarm_dictionary_id: str | None = Field(default=None, alias="alarmDictionaryId")
    alarm_dictionary: AlarmDictionary | None = Field(default=None, alias="alarmDictionary")
    extensions: dict[str, Any] = Field(default_factory=dict)


def site_id(o_cloud_id: str, global_location_id: str) -> str:
    """The O-Cloud site of a location, when no backend names one itself (docs/o2-conventions.md "Locations and
    sites"): one site per location of the O-Cloud."""
    return stable_id(o_cloud_id, "site", global_location_id)


class ResourcePool(WireModel):
    resource_pool_id: str = Field(alias="resourcePoolId")
    name: str
    description: str
    o_cloud_id: str = Field(alias="oCloudId")
    o_cloud_site_id: str | None = Field(default=None, alias="oCloudSiteId")
    global_location_id: str = Field(alias="globalLocationId")
    location: str
    extensions: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _in_a_site(self) -> ResourcePool:
        """Every pool is part of a site (v2 requires `oCloudSiteId`): a backend that knows none gets its location's."""
        if self.o_cloud_site_id is None:
            self.o_cloud_site_id = site_id(self.o_cloud_id, self.global_location_id)
        return self


class Resource(WireModel):
    resource_id: str = Field(alias="resourceId")
    resource_pool_id: str = Field(alias="resourcePoolId")
    resource_type_id: str = Field(alias="resourceTypeId")
    global_asset_id: str = Field(alias="globalAssetId")
    description: str
    parent_id: str | None = Field(default=None, alias="parentId")
    elements: list[Resource] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    extensions: dict[str, Any] = Field(default_factory=dict)


class DeploymentManager(WireModel):
    deployment_manager_id: str = Field(alias="deploymentManagerId")
    name: str
    description: str
    o_cloud_id: str = Field(alias="oCloudId")
    service_uri: str = Field(alias="serviceUri")
    supported_locations: list[str] = Field(default_factory=list, alias="supportedLocations")
    capabilities: dict[str, Any] = Field(default_factory=dict)
    capacity: dict[str, Any] = Field(default_factory=dict)
    extensions: dict[str, Any] = Field(default_factory=dict)


class Coordinate(WireModel):
    """An RFC 7946 GeoJSON Point: [longitude, latitude] or [longitude, latitude, altitude]."""

    type: Literal["Point"] = "Point"
    coordinates: list[float] = Field(min_length=2, max_length=3)


class CivicAddressElement(WireModel):
    """One RFC 4776 civic address element (caType 1 country, 3 state, 6 city, 22 street, 26 number...)."""

    ca_type: int = Field(alias="caType")
    ca_value: str = Field(alias="caValue")


class Location(WireModel):
    global_location_id: str = Field(alias="globalLocationId")
    name: str
    description: str
    o_cloud_site_ids: list[str] = Field(default_factory=list, alias="oCloudSiteIds")
    coordinate: Coordinate | None = None
    civic_address: list[CivicAddressElement] | None = Field(default=None, alias="civicAddress")
    address: str | None = None
    extensions: dict[str, Any] = Field(default_factory=dict)


class OCloudSite(WireModel):
    o_cloud_site_id: str = Field(alias="oCloudSiteId")
    global_location_id: str = Field(alias="globalLocationId")
    name: str
    description: str
    resource_pools: list[str] = Field(default_factory=list, alias="resourcePools")
    extensions: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class InventoryObject:
    """One object of a backend's inventory as the snapshot keeps it: its wire form and where it hangs."""

    object_type: ObjectType
    object_id: str
    document: dict[str, Any]
    parent_key: str | None = None  # the pool of a resource: lists of a pool's resources page over it
    # A server's hardware identity (domain/server_identity.asset_keys), for linking one machine seen by several
    # backends; not part of the document (the links it yields are).
    asset_keys: frozenset[str] = field(default_factory=frozenset, compare=False)

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


# Each wire model's object type, and the attribute holding its id.
_IDENTITIES: dict[type[WireModel], tuple[ObjectType, str]] = {
    Resource: (ObjectType.RESOURCE, "resource_id"),
    ResourcePool: (ObjectType.RESOURCE_POOL, "resource_pool_id"),
    ResourceType: (ObjectType.RESOURCE_TYPE, "resource_type_id"),
    DeploymentManager: (ObjectType.DEPLOYMENT_MANAGER, "deployment_manager_id"),
    AlarmDictionary: (ObjectType.ALARM_DICTIONARY, "alarm_dictionary_id"),
    OCloudSite: (ObjectType.O_CLOUD_SITE, "o_cloud_site_id"),
    Location: (ObjectType.LOCATION, "global_location_id"),
}


def inventory_object(model: WireModel) -> InventoryObject:
    identity = _IDENTITIES.get(type(model))
    if identity is None:
        raise TypeError(f"not an inventory object: {type(model).__name__}")
    object_type, id_attribute = identity
    parent = model.resource_pool_id if isinstance(model, Resource) else None
    return InventoryObject(object_type, getattr(model, id_attribute), model.to_wire(), parent)


def _schema(
    model: type[WireModel],
    identifiers: set[str],
    excluded: tuple[tuple[str, ...], ...] = (),
    open_attributes: frozenset[str] = frozenset({"extensions"}),
) -> SelectorSchema:
    attributes = frozenset(field.alias or name for name, field in model.model_fields.items())
    return SelectorSchema(attributes, frozenset(identifiers), excluded, open_attributes)


SELECTOR_SCHEMAS: dict[ObjectType, SelectorSchema] = {
    ObjectType.RESOURCE_TYPE: _schema(
        ResourceType, {"resourceTypeId"}, (("alarmDictionary",),), frozenset({"extensions", "alarmDictionary"})
    ),
    ObjectType.RESOURCE_POOL: _schema(ResourcePool, {"resourcePoolId"}),
    ObjectType.RESOURCE: _schema(Resource, {"resourceId"}, (("elements",),), frozenset({"extensions", "elements"})),
    ObjectType.DEPLOYMENT_MANAGER: _schema(
        DeploymentManager,
        {"deploymentManagerId"},
        (("extensions", "profileData"),),
        frozenset({"extensions", "capabilities", "capacity"}),
    ),
    ObjectType.ALARM_DICTIONARY: _schema(AlarmDictionary, {"alarmDictionaryId"}, (), frozenset({"alarmDefinition"})),
    ObjectType.LOCATION: _schema(
        Location, {"globalLocationId"}, (), frozenset({"extensions", "coordinate", "civicAddress"})
    ),
    ObjectType.O_CLOUD_SITE: _schema(OCloudSite, {"oCloudSiteId"}),
}
