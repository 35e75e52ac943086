"""O2ims Infrastructure Inventory objects (docs/o2-conventions.md §2): wire models, object types, selector schemas,
stable ids.

Adapters produce these; the snapshot store keeps their wire form; the API and notifications serve that same form,
so what an SMO reads and what it is notified of never differ.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field

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


class ResourcePool(WireModel):
    resource_pool_id: str = Field(alias="resourcePoolId")
    name: str
    description: str
    o_cloud_id: str = Field(alias="oCloudId")
    o_cloud_site_id: str | None = Field(default=None, alias="oCloudSiteId")
    global_location_id: str = Field(alias="globalLocationId")
    location: str
    extensions: dict[str, Any] = Field(default_factory=dict)


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


@dataclass(frozen=True)
class InventoryObject:
    """One object of a backend's inventory as the snapshot keeps it: its wire form and where it hangs."""

    object_type: ObjectType
    object_id: str
    document: dict[str, Any]
    parent_key: str | None = None  # the pool of a resource: lists of a pool's resources page over it

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def inventory_object(model: WireModel) -> InventoryObject:
    document = model.to_wire()
    if isinstance(model, Resource):
        return InventoryObject(ObjectType.RESOURCE, model.resource_id, document, model.resource_pool_id)
    if isinstance(model, ResourcePool):
        return InventoryObject(ObjectType.RESOURCE_POOL, model.resource_pool_id, document)
    if isinstance(model, ResourceType):
        return InventoryObject(ObjectType.RESOURCE_TYPE, model.resource_type_id, document)
    if isinstance(model, DeploymentManager):
        return InventoryObject(ObjectType.DEPLOYMENT_MANAGER, model.deployment_manager_id, document)
    if isinstance(model, AlarmDictionary):
        return InventoryObject(ObjectType.ALARM_DICTIONARY, model.alarm_dictionary_id, document)
    raise TypeError(f"not an inventory object: {type(model).__name__}")


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
}
