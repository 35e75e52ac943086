"""A server's last known state, rebuilt from the resource this backend stored for it (docs/redfish-backend.md
"Outages"). Pure: stored documents in, `SystemFacts` out.

A cold Lambda container has no earlier reading of a BMC that is down on its first poll. The stored snapshot still
holds what the last successful read mapped, and the server's stored resource carries everything the mapping used
(its `extensions`, and each component nested in `elements`), so the facts are rebuilt from it and mapped again like a
live reading. The round trip is exact: an unchanged server maps to the documents already stored, except
`bmcReachable`, so a cold start with a BMC down writes one modification per server of that BMC and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chalicelib.adapters.ims.kubernetes_mapping import without_none
from chalicelib.adapters.ims.redfish_components import KIND_CLASSES, Component, SystemReading
from chalicelib.adapters.ims.redfish_mapping import DEFAULT_POOL, SystemFacts, component_type_id

Doc = Mapping[str, Any]
# Extensions the mapping adds to a component besides the Redfish fields it read (redfish_mapping.system_resources).
_MAPPING_KEYS = frozenset({"redfishId", "odataId", "vendor", "model", "serialNumber", "system"})


def endpoint_systems(resources: Iterable[Doc], endpoint: str) -> list[Doc]:
    """The stored top-level resources (servers, not their components) last read from `endpoint`."""
    return [d for d in resources if not d.get("parentId") and (d.get("extensions") or {}).get("endpoint") == endpoint]


def stored_facts(document: Doc, adapter_id: str, pools: Iterable[str]) -> SystemFacts:
    """The facts a stored server resource was mapped from, marked unreachable. `pools`: the configured pool names; a
    server stored in a pool no longer configured goes to `default`, as a live reading matching no rule would."""
    ext = document.get("extensions") or {}
    manufacturer, model = str(ext.get("manufacturer")), str(ext.get("model"))
    pool = str(ext.get("pool") or DEFAULT_POOL)
    reading = SystemReading(
        endpoint=str(ext.get("endpoint")), system=_system(ext),
        chassis={"Location": {"Placement": {"Rack": ext["rack"]}}} if ext.get("rack") is not None else None,
        manager={"FirmwareVersion": ext["bmcFirmwareVersion"]} if ext.get("bmcFirmwareVersion") else None,
        unreadable=tuple(ext.get("unreadable") or ()))
    parts = tuple(_parts(document.get("elements") or [], None, adapter_id, manufacturer))
    identity = str(ext.get("uuid") or f"{reading.endpoint}{ext.get('odataId') or ''}").lower()
    return SystemFacts(reading=reading, identity=identity, manufacturer=manufacturer, model=model,
                       pool=pool if pool in set(pools) else DEFAULT_POOL, parts=parts, reachable=False)


def _system(ext: Mapping[str, Any]) -> dict[str, Any]:
    """The ComputerSystem properties the mapping reads, under their Redfish names."""
    dell = {**(ext.get("dellRollups") or {}), "ChassisServiceTag": ext.get("serviceTag")}
    system = without_none({
        "@odata.id": ext.get("odataId"), "Id": ext.get("redfishId"), "UUID": ext.get("uuid"),
        "SerialNumber": ext.get("serialNumber"), "SKU": ext.get("sku"), "Manufacturer": ext.get("manufacturer"),
        "Model": ext.get("model"), "HostName": ext.get("hostName"), "BiosVersion": ext.get("biosVersion"),
        "PowerState": ext.get("powerState"),
        "Status": {"Health": ext.get("healthOwn"), "HealthRollup": ext.get("healthRollup"), "State": ext.get("state")},
        "ProcessorSummary": {"Count": ext.get("processorCount")},
        "MemorySummary": {"TotalSystemMemoryGiB": ext.get("memoryGiB")},
        "Oem": {"Dell": {"DellSystem": dell}},
    })
    result: dict[str, Any] = system
    return result


def _parts(elements: Iterable[Doc], parent: str | None, adapter_id: str, manufacturer: str) -> Iterator[Component]:
    """Depth first, as `redfish_components.components` lists them: each part, then its children (a NIC's ports)."""
    for element in elements:
        ext = element.get("extensions") or {}
        vendor, model = str(ext.get("vendor") or ""), str(ext.get("model"))
        kind = _kind(str(element.get("resourceTypeId")), adapter_id, vendor or manufacturer, model)
        if kind is None:
            continue  # a component type this mapping never makes: nothing to rebuild it as
        children = element.get("elements") or []
        identity = str(ext.get("odataId"))
        yield Component(identity=identity, kind=kind, name=str(ext.get("redfishId")), vendor=vendor, model=model,
                        serial=ext.get("serialNumber"), parent=parent,
                        children=tuple(str((c.get("extensions") or {}).get("odataId")) for c in children),
                        fields={k: v for k, v in ext.items() if k not in _MAPPING_KEYS})
        yield from _parts(children, identity, adapter_id, manufacturer)


def _kind(type_id: str, adapter_id: str, vendor: str, model: str) -> str | None:
    """A component's kind is not stored on it, but its type id is derived from it (`component_type_id`)."""
    return next((k for k in KIND_CLASSES if component_type_id(adapter_id, k, vendor, model) == type_id), None)
