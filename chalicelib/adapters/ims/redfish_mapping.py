"""Redfish ComputerSystems → O2ims objects (docs/redfish-backend.md "Mapping"), as pure functions over what the BMCs
served (redfish_components.SystemReading).

Every document is a function of the fleet's state alone, independent of read order, so an unchanged fleet maps to
identical documents and the poller writes nothing. Ids derive from the adapter and each system's Redfish `UUID` (the
SMBIOS UUID, which Kubernetes also reports as a node's `systemUUID`), so a BMC moved to another endpoint entry keeps
its resources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.adapters.ims.kubernetes_components import wire_name
from chalicelib.adapters.ims.kubernetes_mapping import without_none
from chalicelib.adapters.ims.redfish_components import (
    KIND_TITLES,
    Component,
    SystemReading,
    components,
    odata_id,
    status_fields,
    text,
)
from chalicelib.domain.inventory import (
    AlarmDefinition,
    AlarmDictionary,
    InventoryObject,
    ObjectType,
    Resource,
    ResourceClass,
    ResourceKind,
    ResourcePool,
    ResourceType,
    inventory_object,
    stable_id,
)
from chalicelib.domain.server_identity import asset_keys

DEFAULT_POOL = "default"
UNKNOWN = "unknown"
_HEALTH_ORDER = {"OK": 0, "Warning": 1, "Critical": 2}
DELL_ROLLUPS = ("CPURollupStatus", "SysMemPrimaryStatus", "StorageRollupStatus", "PSRollupStatus", "FanRollupStatus",
                "TempRollupStatus", "VoltRollupStatus", "BatteryRollupStatus", "IntrusionRollupStatus",
                "SELRollupStatus")
# alarm name -> (extension field, values that raise it, severity, description, proposed repair)
SYSTEM_ALARMS: dict[str, tuple[str, str, str, str, str]] = {
    "SystemHealthCritical": ("health", "Critical", "CRITICAL",
                             "The BMC reports the system's health (Status.HealthRollup) as Critical.",
                             "Read the BMC's event log (SEL / Lifecycle log) and the degraded subsystems in the "
                             "resource's extensions (dellRollups); replace the failed part."),
    "SystemHealthWarning": ("health", "Warning", "WARNING",
                            "The BMC reports the system's health (Status.HealthRollup) as Warning.",
                            "Read the BMC's event log and the degraded subsystems; plan maintenance."),
    "BmcUnreachable": ("bmcReachable", "False", "MAJOR",
                       "netweave cannot reach the system's BMC; the resource shows its last known state.",
                       "Check the BMC's address, network path, certificate and credentials."),
}


@dataclass(frozen=True)
class PoolRule:
    """A configured pool: systems listed by id (Redfish Id, UUID, service tag or serial number), or matched by
    Redfish properties (`/`-separated paths into the ComputerSystem document, Dell OEM data included)."""

    name: str
    systems: tuple[str, ...] = ()
    match: Mapping[str, str] = field(default_factory=dict)
    location: str | None = None
    global_location_id: str | None = None

    def selects(self, system: Mapping[str, Any]) -> bool:
        if self.systems:
            identities = {text(system, k) for k in ("Id", "UUID", "SKU", "SerialNumber")} - {None}
            identities.add(str(_path(system, "Oem/Dell/DellSystem/ChassisServiceTag") or ""))
            if identities & set(self.systems):
                return True
        return bool(self.match) and all(str(_path(system, path)) == str(value) for path, value in self.match.items())


@dataclass(frozen=True)
class FleetSettings:
    adapter_id: str
    o_cloud_id: str
    pools: tuple[PoolRule, ...] = ()
    default_location: str | None = None
    default_global_location_id: str | None = None


def _path(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.strip("/").split("/"):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def worst(*values: Any) -> str | None:
    known = [str(v) for v in values if str(v) in _HEALTH_ORDER]
    return max(known, key=_HEALTH_ORDER.__getitem__) if known else None


@dataclass(frozen=True)
class SystemFacts:
    reading: SystemReading
    identity: str  # UUID, else endpoint + @odata.id
    manufacturer: str
    model: str
    pool: str
    parts: tuple[Component, ...]
    reachable: bool = True

    @property
    def model_key(self) -> tuple[str, str]:
        return self.manufacturer, self.model

    @property
    def system(self) -> Mapping[str, Any]:
        return self.reading.system

    @property
    def service_tag(self) -> str | None:
        dell = _path(self.system, "Oem/Dell/DellSystem/ChassisServiceTag")
        if dell:
            return str(dell)
        return text(self.system, "SKU") if self.manufacturer.lower().startswith("dell") else None

    @property
    def global_asset_id(self) -> str:
        """The candidate cross-backend identity (docs/redfish-backend.md "Identity"): the Dell service tag, else the
        serial number, else the SMBIOS UUID."""
        return self.service_tag or text(self.system, "SerialNumber") or self.identity

    @property
    def health(self) -> str | None:
        status = self.system.get("Status") or {}
        return worst(status.get("Health"), status.get("HealthRollup"))


def system_facts(reading: SystemReading, pools: Iterable[PoolRule], reachable: bool = True) -> SystemFacts:
    system = reading.system
    identity = text(system, "UUID") or f"{reading.endpoint}{odata_id(system)}"
    pool = next((rule.name for rule in pools if rule.selects(system)), DEFAULT_POOL)
    return SystemFacts(reading=reading, identity=identity.lower(), manufacturer=text(system, "Manufacturer") or UNKNOWN,
                       model=text(system, "Model") or UNKNOWN, pool=pool, parts=tuple(components(reading)),
                       reachable=reachable)


def system_type_id(adapter_id: str, manufacturer: str, model: str) -> str:
    return stable_id(adapter_id, "resourceType", "system", manufacturer, model)


def component_type_id(adapter_id: str, kind: str, vendor: str, model: str) -> str:
    return stable_id(adapter_id, "resourceType", "component", kind, vendor, model)


def pool_id(adapter_id: str, name: str) -> str:
    return stable_id(adapter_id, "resourcePool", name)


def resource_id(adapter_id: str, identity: str, part: str | None = None) -> str:
    return stable_id(adapter_id, "resource", identity, *((part,) if part else ()))


def alarm_dictionary(adapter_id: str, manufacturer: str, model: str) -> AlarmDictionary:
    dictionary_id = stable_id(adapter_id, "alarmDictionary", manufacturer, model)
    definitions = [
        AlarmDefinition(alarm_definition_id=stable_id(dictionary_id, "alarmDefinition", name), alarm_name=name,
                        alarm_last_change="1.0", alarm_change_type="ADDED", alarm_description=description,
                        proposed_repair_actions=repair, clearing_type="AUTOMATIC",
                        alarm_additional_fields={"extensionField": extension, "raisedWhenValue": value,
                                                 "perceivedSeverity": severity,
                                                 "reportedExtensions": ["serviceTag", "degraded"]})
        for name, (extension, value, severity, description, repair) in SYSTEM_ALARMS.items()
    ]
    return AlarmDictionary(alarm_dictionary_id=dictionary_id, alarm_dictionary_version="1.0",
                           alarm_dictionary_schema_version="1.0", vendor=manufacturer, alarm_definition=definitions,
                           entity_type=f"{manufacturer} {model} server (Redfish)")


def _joined(values: Iterable[str | None]) -> str:
    return ", ".join(sorted({v for v in values if v})) or UNKNOWN


def resource_types(facts: list[SystemFacts], adapter_id: str) -> list[InventoryObject]:
    """One type (with its alarm dictionary) per manufacturer and model of system; one per kind, vendor and model of
    component. Attributes aggregate over every member in sorted order, so read order never changes a type."""
    found: list[InventoryObject] = []
    by_model: dict[tuple[str, str], list[SystemFacts]] = {}
    for fact in facts:
        by_model.setdefault((fact.manufacturer, fact.model), []).append(fact)
    parts: dict[tuple[str, str, str], list[Component]] = {}
    for (manufacturer, model), group in sorted(by_model.items()):
        dictionary = alarm_dictionary(adapter_id, manufacturer, model)
        found.append(inventory_object(ResourceType(
            resource_type_id=system_type_id(adapter_id, manufacturer, model), name=wire_name(manufacturer, model),
            description=f"{manufacturer} {model} server managed through Redfish", vendor=manufacturer, model=model,
            version=_joined(text(f.system, "BiosVersion") for f in group), resource_kind=ResourceKind.PHYSICAL,
            resource_class=ResourceClass.COMPUTE, alarm_dictionary_id=dictionary.alarm_dictionary_id,
            alarm_dictionary=dictionary, extensions={"role": "system", "systemCount": len(group)})))
        for part in (p for f in group for p in f.parts):
            parts.setdefault((part.kind, part.vendor or manufacturer, part.model), []).append(part)
    for (kind, vendor, model), members in sorted(parts.items()):
        found.append(inventory_object(ResourceType(
            resource_type_id=component_type_id(adapter_id, kind, vendor, model), name=wire_name(kind, model),
            description=f"{KIND_TITLES[kind]}: {vendor} {model}", vendor=vendor, model=model,
            version=_joined(str(p.fields.get("firmwareVersion") or "") for p in members),
            resource_kind=ResourceKind.PHYSICAL, resource_class=members[0].resource_class,
            extensions={"role": "component", "component": kind})))
    return found


def resource_pools(facts: list[SystemFacts], settings: FleetSettings) -> list[InventoryObject]:
    """Every configured pool (even while empty: the operator named it), and `default` when a system matched none."""
    rules = {rule.name: rule for rule in settings.pools}
    names = sorted(set(rules) | {f.pool for f in facts})
    found = []
    for name in names:
        rule = rules.get(name)
        members = [f for f in facts if f.pool == name]
        racks = sorted({str(r) for f in members if (r := _path(f.reading.chassis or {}, "Location/Placement/Rack"))})
        global_location = (rule and rule.global_location_id) or settings.default_global_location_id or UNKNOWN
        location = (rule and rule.location) or settings.default_location or (", ".join(racks) or UNKNOWN)
        how = "selected by configuration" if rule else "that no configured pool selects"
        found.append(inventory_object(ResourcePool(
            resource_pool_id=pool_id(settings.adapter_id, name), name=name,
            description=f"Servers {how}, read over Redfish by backend {settings.adapter_id}",
            o_cloud_id=settings.o_cloud_id, o_cloud_site_id=stable_id(settings.o_cloud_id, "site", global_location),
            global_location_id=global_location, location=location,
            extensions={"systemCount": len(members), "racks": racks})))
    return found


def _system_extensions(fact: SystemFacts) -> dict[str, Any]:
    system, status = fact.system, status_fields(fact.system)
    dell = _path(system, "Oem/Dell/DellSystem") or {}
    rollups = {k: dell[k] for k in DELL_ROLLUPS if dell.get(k)}
    extensions: dict[str, Any] = without_none({
        "name": text(system, "HostName") or fact.service_tag or text(system, "Id"), "redfishId": text(system, "Id"),
        "endpoint": fact.reading.endpoint, "odataId": odata_id(system), "uuid": text(system, "UUID"),
        "serialNumber": text(system, "SerialNumber"), "serviceTag": fact.service_tag, "sku": text(system, "SKU"),
        "manufacturer": fact.manufacturer, "model": fact.model, "hostName": text(system, "HostName"),
        "biosVersion": text(system, "BiosVersion"), "powerState": text(system, "PowerState"),
        "health": fact.health, "healthOwn": status["health"], "healthRollup": status["healthRollup"],
        "state": status["state"], "bmcReachable": fact.reachable,
        "bmcFirmwareVersion": text(fact.reading.manager or {}, "FirmwareVersion"),
        "processorCount": _path(system, "ProcessorSummary/Count"),
        "memoryGiB": _path(system, "MemorySummary/TotalSystemMemoryGiB"),
        "rack": _path(fact.reading.chassis or {}, "Location/Placement/Rack"), "pool": fact.pool,
        "dellRollups": rollups or None,
        "degraded": sorted(k for k, v in rollups.items() if v != "OK") or None,
        "unreadable": sorted(fact.reading.unreadable) or None,
    })
    return extensions


def system_resources(fact: SystemFacts, adapter_id: str) -> list[InventoryObject]:
    """The system followed by its components (flat with `parentId`, each also nested in its parent's `elements`)."""
    parent_id, pool = resource_id(adapter_id, fact.identity), pool_id(adapter_id, fact.pool)
    label = fact.service_tag or text(fact.system, "Id") or fact.identity
    built: dict[str, dict[str, Any]] = {}
    for part in sorted(fact.parts, key=lambda p: not p.parent):  # children first: their elements exist
        built[part.identity] = {
            "resourceId": resource_id(adapter_id, fact.identity, part.identity), "resourcePoolId": pool,
            "resourceTypeId": component_type_id(adapter_id, part.kind, part.vendor or fact.manufacturer, part.model),
            "globalAssetId": part.serial or f"{fact.global_asset_id}/{part.name}",
            "description": f"{KIND_TITLES[part.kind]} {part.name} of {fact.model} {label}",
            "parentId": resource_id(adapter_id, fact.identity, part.parent) if part.parent else parent_id,
            "elements": [built[c] for c in part.children if c in built], "tags": [], "groups": [],
            "extensions": without_none({**part.fields, "redfishId": part.name, "odataId": part.identity,
                                        "vendor": part.vendor or None, "model": part.model,
                                        "serialNumber": part.serial, "system": label})}
    children = [built[p.identity] for p in fact.parts]
    parent = Resource(
        resource_id=parent_id, resource_pool_id=pool,
        resource_type_id=system_type_id(adapter_id, fact.manufacturer, fact.model),
        global_asset_id=fact.global_asset_id, description=f"{fact.manufacturer} {fact.model} {label}",
        tags=[], groups=[fact.pool], extensions=_system_extensions(fact),
    ).to_wire()
    parent["elements"] = [c for c, p in zip(children, fact.parts, strict=True) if not p.parent]
    keys = asset_keys(fact.service_tag, text(fact.system, "SerialNumber"), text(fact.system, "UUID"))
    return [InventoryObject(ObjectType.RESOURCE, parent_id, parent, pool, asset_keys=keys),
            *(InventoryObject(ObjectType.RESOURCE, document["resourceId"], document, pool) for document in children)]


def map_fleet(readings: Iterable[tuple[SystemReading, bool]], settings: FleetSettings,
              known: Iterable[SystemFacts] = ()) -> list[InventoryObject]:
    """Every O2ims object of the fleet: resource types (with alarm dictionaries), pools, then each system followed
    by its components. `readings`: each system read now (True) or its last known reading (False: BMC unreachable);
    `known`: last known systems rebuilt from the stored snapshot (redfish_last_known). A system two endpoints show
    (its BMC and an aggregator) is one resource: a UUID identifies it."""
    facts: dict[str, SystemFacts] = {}
    read = (system_facts(reading, settings.pools, reachable) for reading, reachable in readings)
    for fact in (*read, *known):  # in configuration order: the first endpoint to show a system wins
        kept = facts.get(fact.identity)
        if kept is None or (fact.reachable and not kept.reachable):  # a live view beats a last known one
            facts[fact.identity] = fact
    return _map(sorted(facts.values(), key=lambda f: f.identity), settings)


def _map(facts: list[SystemFacts], settings: FleetSettings) -> list[InventoryObject]:
    dictionaries = sorted({f.model_key: alarm_dictionary(settings.adapter_id, *f.model_key) for f in facts}.items())
    return [*(inventory_object(d) for _, d in dictionaries), *resource_types(facts, settings.adapter_id),
            *resource_pools(facts, settings),
            *(o for f in facts for o in system_resources(f, settings.adapter_id))]
