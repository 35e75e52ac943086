"""Dell DTIAS inventory → O2ims objects (docs/dtias-backend.md "Mapping"), as pure functions over DTIAS's JSON.

Sites and locations give each pool its `location` (the site's name, e.g. `dc-newark-1`), `globalLocationId` and
`oCloudSiteId`. A server belongs to exactly one O2 pool: the resource group it is allocated to, else its DTIAS
resource pool, else its site's `unassigned` pool. Components (processors, DIMMs, NICs and their ports, drives,
PCIe accelerators) are child resources with their own types. Every id is a `stable_id` of the DTIAS
identity, so a poll reproduces the previous one's ids; nothing volatile is copied, so an unchanged fleet maps to
identical documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.ims.dtias_alarms import alarm_dictionary
from chalicelib.adapters.ims.dtias_components import compact, items_of, server_parts, volumes
from chalicelib.adapters.ims.kubernetes_components import Part, wire_name
from chalicelib.domain.inventory import (
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

Doc = Mapping[str, Any]
UNKNOWN = "unknown"
OWNED_PREFIX = "netweave-"  # resource groups netweave creates have ids starting so (docs/dtias-backend.md)


@dataclass(frozen=True)
class Fleet:
    """What one poll read from DTIAS."""

    locations: Sequence[Doc]
    sites: Sequence[Doc]
    pools: Sequence[Doc]
    groups: Sequence[Doc]
    servers: Sequence[Doc]


@dataclass(frozen=True)
class Site:
    site_id: str
    name: str
    global_location_id: str
    o_cloud_site_id: str
    address: str


def pool_id(adapter_id: str, dtias_pool_id: str) -> str:
    return stable_id(adapter_id, "resourcePool", dtias_pool_id)


def group_pool_id(adapter_id: str, group_id: str) -> str:
    return stable_id(adapter_id, "resourceGroup", group_id)


def unassigned_pool_id(adapter_id: str, site_id: str) -> str:
    return stable_id(adapter_id, "resourcePool", "unassigned", site_id)


def server_type_id(adapter_id: str, manufacturer: str, model: str) -> str:
    return stable_id(adapter_id, "resourceType", "server", manufacturer, model)


def component_type_id(adapter_id: str, manufacturer: str, model: str, kind: str) -> str:
    return stable_id(adapter_id, "resourceType", "component", manufacturer, model, kind)


def resource_id(adapter_id: str, server_uuid: str, component: str | None = None) -> str:
    return stable_id(adapter_id, "resource", server_uuid, *((component,) if component else ()))


def sites(fleet: Fleet, o_cloud_id: str) -> dict[str, Site]:
    """DTIAS site id -> Site. `globalLocationId` is the Location's `GlobalLocationId` (else its id); `oCloudSiteId`
    derives from it as the kubernetes backend's does, so a cluster configured with the same globalLocationId shares
    the site."""
    locations = {str(loc.get("Id")): loc for loc in fleet.locations}
    found = {}
    for site in fleet.sites:
        location = locations.get(str(site.get("LocationId")), {})
        global_id = str(location.get("GlobalLocationId") or location.get("Id") or site.get("Id"))
        address = location.get("Address") or site.get("Address") or {}
        text = ", ".join(str(address[k]) for k in ("street", "city", "state", "country") if address.get(k))
        found[str(site["Id"])] = Site(str(site["Id"]), str(site.get("Name") or site["Id"]), global_id,
                                      stable_id(o_cloud_id, "site", global_id), text)
    return found


def _site(sites_by_id: Mapping[str, Site], site_id: str, o_cloud_id: str) -> Site:
    return sites_by_id.get(site_id) or Site(site_id or UNKNOWN, site_id or UNKNOWN, UNKNOWN,
                                            stable_id(o_cloud_id, "site", UNKNOWN), "")


def selectors(groups: Sequence[Doc]) -> Iterator[tuple[Doc, str, Doc]]:
    """(group, selector name, selector) of every selector of every group."""
    for group in groups:
        for name, selector in (group.get("resourceSelectors") or {}).items():
            if isinstance(selector, Mapping):
                yield group, str(name), selector


def group_of_servers(groups: Sequence[Doc]) -> dict[str, str]:
    """Server uuid or name -> the id of the resource group it is allocated to (RH joins by name, so both)."""
    members: dict[str, str] = {}
    for group, _, selector in selectors(groups):
        for member in items_of(selector, "resources"):
            for key in (member.get("Id"), member.get("Name")):
                if key:
                    members[str(key)] = str(group["id"])
    return members


def owned(group: Doc) -> bool:
    return str(group.get("id", "")).startswith(OWNED_PREFIX)


# --- servers ------------------------------------------------------------------------------------------------------

def service_tag(server: Doc) -> str:
    """Dell's service tag: `status.SKU` (where Dell's Redfish puts it), else the brief form's `ServiceTag`."""
    status = server.get("status") or {}
    return str(status.get("SKU") or server.get("ServiceTag") or "")


def global_asset_id(server: Doc) -> str:
    """The proposed cross-backend identity (docs/dtias-backend.md "Identity"): `dell:servicetag:<TAG>`, else the
    SMBIOS system UUID as `smbios-uuid:<uuid>`."""
    tag = service_tag(server)
    if tag:
        return f"dell:servicetag:{tag.upper()}"
    return f"smbios-uuid:{str((server.get('status') or {}).get('UUID') or server_uuid(server)).lower()}"


def server_uuid(server: Doc) -> str:
    status, metadata = server.get("status") or {}, server.get("metadata") or {}
    return str(status.get("UUID") or metadata.get("uid") or metadata.get("name") or "")


def _firmware(status: Doc) -> dict[str, str]:
    return {str(f["Name"]): str(f.get("Version", "")) for f in items_of(status, "Firmware") if f.get("Name")}


def server_extensions(server: Doc, site: Site, group_id: str | None) -> dict[str, Any]:
    status, metadata = server.get("status") or {}, server.get("metadata") or {}
    firmware, bmc = _firmware(status), (items_of(status, "BMC") or [{}])[0]
    placement = (status.get("Location") or {}).get("Placement") or {}
    return compact({
        "name": metadata.get("name"), "dtiasServerId": server_uuid(server), "serviceTag": service_tag(server),
        "serialNumber": status.get("SerialNumber"), "systemUuid": status.get("UUID"),
        "assetTag": status.get("AssetTag"), "manufacturer": status.get("Manufacturer"), "model": status.get("Model"),
        "partNumber": status.get("PartNumber"),
        "health": status.get("Health") or UNKNOWN, "powerState": status.get("PowerState") or UNKNOWN,
        "state": status.get("State"),
        "biosVersion": firmware.get("BIOS") or (server.get("spec") or {}).get("biosVersion"),
        "bmcFirmwareVersion": bmc.get("FirmwareVersion"), "bmcModel": bmc.get("Model"), "firmware": firmware,
        "biosAttributes": dict((status.get("Bios") or {}).get("Attributes") or {}), "volumes": volumes(status),
        "processorCount": status.get("NumOfProcessors"), "totalCores": status.get("TotalCores"),
        "memoryGiB": status.get("TotalSystemMemory"), "allocated": bool(server.get("Allocated")),
        "dtiasResourcePoolId": server.get("ResourcePool"), "dtiasResourceGroupId": group_id,
        "site": site.name, "dtiasSiteId": server.get("Site"),
        "labels": {str(label.get("Key")): str(label.get("Value")) for label in items_of(server, "Labels")},
        "driftState": (server.get("DriftStatus") or {}).get("State"),
        "rack": placement.get("Rack"), "row": placement.get("Row"), "rackOffset": placement.get("RackOffset"),
    })


def server_resources(adapter_id: str, server: Doc, pool: str, site: Site,
                     group_id: str | None) -> list[InventoryObject]:
    """The server resource followed by its components (flat, `parentId` set), each also nested in its parent's
    `elements` (a NIC's ports in the NIC's, the NIC in the server's)."""
    status = server.get("status") or {}
    manufacturer, model = str(status.get("Manufacturer") or UNKNOWN), str(status.get("Model") or UNKNOWN)
    identity, asset = server_uuid(server), global_asset_id(server)
    name = str((server.get("metadata") or {}).get("name") or identity)
    parent_id = resource_id(adapter_id, identity)
    parts = server_parts(status)
    built: dict[str, dict[str, Any]] = {}
    for part in sorted(parts, key=lambda p: not p.parent):  # ports before their NICs, so elements resolve
        serial = part.fields.get("serialNumber")
        built[part.identity] = Resource(
            resource_id=resource_id(adapter_id, identity, part.identity), resource_pool_id=pool,
            resource_type_id=component_type_id(adapter_id, manufacturer, model, part.kind),
            global_asset_id=f"{asset}/{serial}" if serial else f"{asset}/{part.identity}",
            description=f"{part.title} of server {name}",
            parent_id=resource_id(adapter_id, identity, part.parent) if part.parent else parent_id,
            extensions={**part.fields, "server": name, **({"vendor": part.vendor} if part.vendor else {}),
                        **({"model": part.model} if part.model else {})},
        ).to_wire()
        built[part.identity]["elements"] = [built[e] for e in part.elements]
    extensions = server_extensions(server, site, group_id)
    document = Resource(
        resource_id=parent_id, resource_pool_id=pool,
        resource_type_id=server_type_id(adapter_id, manufacturer, model), global_asset_id=asset,
        description=f"{manufacturer} {model} {name} (service tag {extensions.get('serviceTag', UNKNOWN)}) at "
                    f"{site.name}",
        tags=sorted(f"{k}={v}" for k, v in extensions.get("labels", {}).items()),
        groups=[group_id] if group_id else [], extensions=extensions,
    ).to_wire()
    document["elements"] = [built[p.identity] for p in parts if not p.parent]
    keys = asset_keys(service_tag(server), status.get("SerialNumber"), status.get("UUID"))
    return [InventoryObject(ObjectType.RESOURCE, document["resourceId"], document, pool, asset_keys=keys),
            *(InventoryObject(ObjectType.RESOURCE, built[p.identity]["resourceId"], built[p.identity], pool)
              for p in parts)]


# --- types --------------------------------------------------------------------------------------------------------

def resource_types(adapter_id: str, servers: Sequence[Doc]) -> list[ResourceType]:
    """One type per (manufacturer, model) of server, with its alarm dictionary, plus one per component kind."""
    by_model: dict[tuple[str, str], list[Doc]] = {}
    for server in servers:
        status = server.get("status") or {}
        key = (str(status.get("Manufacturer") or UNKNOWN), str(status.get("Model") or UNKNOWN))
        by_model.setdefault(key, []).append(server)
    types = []
    for (manufacturer, model), group in sorted(by_model.items()):
        dictionary = alarm_dictionary(adapter_id, manufacturer, model)
        bios = sorted({v for s in group if (v := _firmware(s.get("status") or {}).get("BIOS"))})
        server_type = ResourceType(
            resource_type_id=server_type_id(adapter_id, manufacturer, model), name=wire_name(model),
            description=f"{manufacturer} {model} bare-metal server (DTIAS)", vendor=manufacturer, model=model,
            version=", ".join(bios) or UNKNOWN, resource_kind=ResourceKind.PHYSICAL,
            resource_class=ResourceClass.COMPUTE, alarm_dictionary_id=dictionary.alarm_dictionary_id,
            alarm_dictionary=dictionary, extensions={"role": "server", "biosVersions": bios})
        found: dict[str, list[Part]] = {}
        for part in (p for s in group for p in server_parts(s.get("status") or {})):
            found.setdefault(part.kind, []).append(part)
        types.append(server_type)
        for kind, parts in sorted(found.items()):
            models = sorted({p.model for p in parts if p.model})
            vendors = sorted({p.vendor for p in parts if p.vendor})
            types.append(ResourceType(
                resource_type_id=component_type_id(adapter_id, manufacturer, model, kind),
                name=wire_name(model, kind), description=f"{kind} of {manufacturer} {model} servers",
                vendor=", ".join(vendors) or manufacturer, model=", ".join(models) or f"{model} {kind}",
                version=server_type.version, resource_kind=ResourceKind.PHYSICAL,
                resource_class=parts[0].resource_class,
                extensions={"role": "component", "component": kind,
                            "serverResourceTypeId": server_type.resource_type_id}))
    return types


# --- pools ------------------------------------------------------------------------------------------------------

def _pool(adapter_id: str, o_cloud_id: str, pool_id_: str, name: str, description: str, site: Site,
          extensions: dict[str, Any]) -> ResourcePool:
    return ResourcePool(resource_pool_id=pool_id_, name=wire_name(name), description=description,
                        o_cloud_id=o_cloud_id, o_cloud_site_id=site.o_cloud_site_id,
                        global_location_id=site.global_location_id, location=site.name,
                        extensions=compact({**extensions, "site": site.name, "dtiasSiteId": site.site_id,
                                             "address": site.address, "adapterId": adapter_id}))


def group_counts(group: Doc) -> tuple[int, int]:
    """(servers the group's selectors ask for, servers allocated to it)."""
    chosen = list(selectors([group]))
    return (sum(int(s.get("numResources") or 0) for _, _, s in chosen),
            sum(len(items_of(s, "resources")) for _, _, s in chosen))


def group_pool(adapter_id: str, o_cloud_id: str, group: Doc, site: Site, job: Mapping[str, str] | None = None
               ) -> ResourcePool:
    """A resource group as a pool. `status`: ALLOCATED once every selector holds its `numResources`, else
    ALLOCATING (or the creating job's status, when one is passed)."""
    chosen = list(selectors([group]))
    wanted, allocated = group_counts(group)
    status = "ALLOCATED" if allocated >= wanted else "ALLOCATING"
    extensions = {"kind": "dtias-resource-group", "dtiasResourceGroupId": group.get("id"), "replicas": wanted,
                  "allocatedServers": allocated, "status": status,
                  "managedBy": "netweave" if owned(group) else None,
                  "selectors": {n: compact({"rpId": s.get("rpId"), "numResources": s.get("numResources"),
                                             "resourceProfileId": s.get("ResourceProfileId")}) for _, n, s in chosen},
                  **(dict(job) if job else {})}
    return _pool(adapter_id, o_cloud_id, group_pool_id(adapter_id, str(group["id"])), str(group.get("name") or
                 group["id"]), str(group.get("description") or f"DTIAS resource group {group['id']}"), site, extensions)


def group_site(group: Doc, pools_by_id: Mapping[str, Doc], sites_by_id: Mapping[str, Site], o_cloud_id: str) -> Site:
    first = next((s for _, _, s in selectors([group])), {})
    return _site(sites_by_id, str(pools_by_id.get(str(first.get("rpId")), {}).get("SiteId") or ""), o_cloud_id)


def build_inventory(adapter_id: str, o_cloud_id: str, fleet: Fleet) -> list[InventoryObject]:
    """Alarm dictionaries, resource types, pools, then each server followed by its components."""
    sites_by_id = sites(fleet, o_cloud_id)
    pools_by_id = {str(p["Id"]): p for p in fleet.pools if p.get("Id")}
    members = group_of_servers(fleet.groups)
    servers = sorted((s for s in fleet.servers if not s.get("IsDeleted")), key=server_uuid)
    pools: dict[str, ResourcePool] = {}
    for dtias_pool in fleet.pools:
        site = _site(sites_by_id, str(dtias_pool.get("SiteId") or ""), o_cloud_id)
        in_pool = [s for s in servers if s.get("ResourcePool") == dtias_pool.get("Id")]
        pools[str(dtias_pool["Id"])] = _pool(
            adapter_id, o_cloud_id, pool_id(adapter_id, str(dtias_pool["Id"])), str(dtias_pool.get("Name")),
            str(dtias_pool.get("Description") or f"DTIAS resource pool {dtias_pool.get('Name')}"), site,
            {"kind": "dtias-resource-pool", "dtiasResourcePoolId": dtias_pool["Id"],
             "isDefault": bool(dtias_pool.get("DefaultRp") or dtias_pool.get("IsDefault")),
             "labels": {str(x.get("Key")): str(x.get("Value")) for x in items_of(dtias_pool, "Labels")},
             "serverCount": len(in_pool), "freeServerCount": sum(not s.get("Allocated") for s in in_pool)})
    for group in fleet.groups:
        pools[f"group/{group['id']}"] = group_pool(adapter_id, o_cloud_id, group,
                                                   group_site(group, pools_by_id, sites_by_id, o_cloud_id))
    resources: list[InventoryObject] = []
    for server in servers:
        site = _site(sites_by_id, str(server.get("Site") or ""), o_cloud_id)
        group_id = members.get(server_uuid(server)) or members.get(str((server.get("metadata") or {}).get("name")))
        key = f"group/{group_id}" if group_id else str(server.get("ResourcePool") or "")
        if key not in pools:
            key, group_id = f"unassigned/{site.site_id}", None
            pools.setdefault(key, _pool(adapter_id, o_cloud_id, unassigned_pool_id(adapter_id, site.site_id),
                                        f"{site.name}-unassigned", f"Servers of {site.name} in no DTIAS resource pool",
                                        site, {"kind": "dtias-unassigned"}))
        resources += server_resources(adapter_id, server, pools[key].resource_pool_id, site, group_id)
    types = resource_types(adapter_id, servers)
    dictionaries = [inventory_object(t.alarm_dictionary) for t in types if t.alarm_dictionary is not None]
    return [*dictionaries, *(inventory_object(t) for t in types),
            *(inventory_object(p) for _, p in sorted(pools.items())), *resources]
