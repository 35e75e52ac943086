"""The simulator's seeded bare-metal fleet: two data centres, their DTIAS resource pools, one resource group that
another tool created, and 24 Dell servers in the `metadata/spec/status` shape of DTIAS's `ApiprotoServer`.

Deterministic: the same seed gives the same service tags, UUIDs, MACs and serial numbers on every start, so ids
derived from them (the gateway's `stable_id`s) survive a simulator restart.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

from devtools.redfish_sim.fleet import serial_number, system_uuid

_NS = uuid.UUID("3f2b8d1e-6c4a-5b7e-9d10-2a4c6e8f0b13")
_TAG_CHARS = "0123456789BCDFGHJKLMNPQRSTVWXYZ"  # Dell service tags: 7 characters, no vowels


def sim_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


@dataclass(frozen=True)
class Model:
    name: str  # "PowerEdge XR11"
    cpu: tuple[str, int, int, int]  # (model, sockets, cores per socket, max MHz)
    dimms: tuple[int, int, str, int]  # (count, MiB each, type, MHz)
    nics: tuple[tuple[str, str, int, int], ...]  # (FQDD, model, ports, Mbps)
    drives: tuple[tuple[str, int, str, str], ...]  # (model, bytes, media, protocol)
    pcie: tuple[tuple[str, str, str, str], ...]  # (slot FQDD, device type, manufacturer, model)
    bios: str
    idrac: str


XR11 = Model("PowerEdge XR11", ("Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz", 1, 32, 3500),
             (8, 32768, "DDR4", 3200),
             (("NIC.Slot.1", "Intel(R) Ethernet 25G 4P E810-XXV Adapter", 4, 25000),
              ("NIC.Embedded.1", "Broadcom NetXtreme Gigabit Ethernet BCM5720", 2, 1000)),
             (("Dell BOSS-S2 480GB M.2 SATA SSD", 480103981056, "SSD", "SATA"),
              ("Dell Ent NVMe P5600 MU U.2 1.6TB", 1600321314816, "SSD", "NVMe")),
             (("Slot.3", "Accelerator", "Intel Corporation", "Intel vRAN Accelerator ACC100"),),
             "1.11.2", "7.00.30.00")
XR8620T = Model("PowerEdge XR8620t", ("Intel(R) Xeon(R) Gold 6433N", 1, 32, 3600), (8, 65536, "DDR5", 4800),
                (("NIC.Slot.1", "Intel(R) Ethernet 25G 4P E810-XXVDA4T Adapter", 4, 25000),
                 ("NIC.Embedded.1", "Intel(R) Ethernet Connection X710 for 10GbE SFP+", 2, 10000)),
                (("Dell Ent NVMe CM6 RI 960GB", 960197124096, "SSD", "NVMe"),
                 ("Dell Ent NVMe CM6 RI 960GB", 960197124096, "SSD", "NVMe")),
                (), "1.3.1", "7.10.30.00")
R760 = Model("PowerEdge R760", ("Intel(R) Xeon(R) Gold 6430", 2, 32, 3400), (16, 65536, "DDR5", 4400),
             (("NIC.Slot.2", "Broadcom Adv. Dual 100G QSFP56 Ethernet (BCM57508)", 2, 100000),
              ("NIC.Integrated.1", "Intel(R) Ethernet 25G 2P E810-XXV OCP", 2, 25000)),
             (("Dell BOSS-N1 480GB M.2 NVMe", 480103981056, "SSD", "NVMe"),
              ("Dell Ent NVMe P5620 MU U.2 3.2TB", 3200631791616, "SSD", "NVMe"),
              ("Dell Ent NVMe P5620 MU U.2 3.2TB", 3200631791616, "SSD", "NVMe")),
             (("Slot.5", "GPU", "NVIDIA Corporation", "NVIDIA L4"),), "1.6.6", "7.00.60.00")

# (site name, location id, [(resource pool name or None, model, count, allocated to the "du-cluster-nwk" group)])
LOCATIONS: tuple[dict[str, Any], ...] = (
    {"Id": sim_uuid("location", "nyc"), "Name": "New York metro", "GlobalLocationId": "geo:40.7357,-74.1724",
     "Address": {"street": "165 Halsey St", "city": "Newark", "state": "NJ", "country": "US"},
     "Coordinate": {"latitude": "40.7357", "longitude": "-74.1724"}},
    {"Id": sim_uuid("location", "chi"), "Name": "Chicago metro", "GlobalLocationId": "geo:41.8537,-87.6180",
     "Address": {"street": "350 E Cermak Rd", "city": "Chicago", "state": "IL", "country": "US"},
     "Coordinate": {"latitude": "41.8537", "longitude": "-87.6180"}},
)
SITES = (("dc-newark-1", 0), ("dc-chicago-1", 1))
# (site index, pool name (None: discovered, in no pool), model, count, of which allocated to the existing group)
RACKS = (
    (0, "ran-du", XR11, 6, 3),
    (0, "ran-du", XR8620T, 3, 0),
    (0, "core-compute", R760, 4, 0),
    (1, "ran-du", XR11, 5, 0),
    (1, "core-compute", R760, 3, 0),
    (1, None, R760, 3, 0),
)
# Two of Newark's free XR11s are the Redfish simulator's first two servers (its iDRACs): the same machines seen by
# both backends, as on a site where DTIAS manages servers whose BMCs netweave also reads (o2-conventions §10).
SHARED_WITH_REDFISH = {4: "7XR11A1", 5: "7XR11A2"}  # server index -> service tag
EXISTING_GROUP = "du-cluster-nwk"  # created by another tool: netweave lists it, never changes it
TENANT = "default_tenant"


def _status(health: str = "OK") -> dict[str, str]:
    return {"Health": health, "State": "Enabled"}


def _components(model: Model, rng: random.Random, tag: str) -> dict[str, Any]:
    cpu, sockets, cores, mhz = model.cpu
    count, mib, kind, speed = model.dimms
    slots = "ABCDEFGH"
    nics, ethernet = [], []
    for fqdd, nic_model, ports, mbps in model.nics:
        port_docs = []
        for port in range(1, ports + 1):
            mac = "B4:96:91:" + ":".join(f"{rng.randrange(256):02X}" for _ in range(3))
            port_docs.append({"ID": f"{fqdd}-{port}", "LinkStatus": "Up" if port <= 2 else "Down",
                              "AssociatedNetworkAddresses": [mac],
                              "Attributes": {"NumberVFAdvertised": 64 if "E810" in nic_model else 0}})
            ethernet.append({"ID": f"{fqdd}-{port}-1", "MACAddress": mac, "SpeedMbps": mbps, "MTUSize": 1500,
                             "LinkStatus": "LinkUp" if port <= 2 else "LinkDown", "Status": _status()})
        nics.append({"NetworkAdapterID": fqdd, "Model": nic_model, "SerialNumber": f"MY{rng.randrange(10**9):09d}",
                     "NetworkPorts": port_docs})
    drives = [{"ID": f"Disk.Bay.{i}:Enclosure.Internal.0-1", "Model": name,
               "SerialNumber": f"S{rng.randrange(10**11):011d}",
               "CapacityBytes": str(size), "MediaType": media, "Protocol": protocol, "FailurePredicted": False,
               "Status": _status()} for i, (name, size, media, protocol) in enumerate(model.drives)]
    return {
        "NumOfProcessors": sockets, "TotalCores": sockets * cores,
        "Processors": [{"ID": f"CPU.Socket.{s}", "Socket": f"CPU.Socket.{s}", "Manufacturer": "Intel",
                        "Model": cpu, "ProcessorType": "CPU", "ProcessorArchitecture": "x86", "MaxSpeedMHz": mhz,
                        "TotalCores": cores, "TotalThreads": cores * 2, "Status": _status()}
                       for s in range(1, sockets + 1)],
        "TotalSystemMemory": count * mib / 1024,
        "Memory": [{"ID": f"DIMM.Socket.{slots[i % 8]}{i // 8 + 1}", "DeviceLocator": f"{slots[i % 8]}{i // 8 + 1}",
                    "CapacityMiB": mib, "MemoryDeviceType": kind, "OperatingSpeedMhz": speed,
                    "Manufacturer": "Hynix Semiconductor", "PartNumber": "HMCG94AEBRA109N",
                    "SerialNumber": f"{rng.randrange(16**8):08X}", "Status": _status()} for i in range(count)],
        "NIC": nics, "EthernetInterface": ethernet,
        "Storage": [{"ID": "RAID.Integrated.1-1", "StorageControllers": [{"Model": "PERC H755"}], "Drives": drives,
                     "Volumes": [{"ID": "Disk.Virtual.0:RAID.Integrated.1-1",
                                  "CapacityBytes": drives[0]["CapacityBytes"],
                                  "RAIDType": "RAID1", "DriveIDs": [drives[0]["ID"]]}]}],
        "PCIeDevice": [{"ID": slot, "DeviceType": dtype, "Manufacturer": maker, "Model": name,
                        "SerialNumber": f"{tag}{slot[-1]}{rng.randrange(10**5):05d}", "FirmwareVersion": "24.04",
                        "PCIeSlotNumber": slot.split(".")[-1], "Status": _status()}
                       for slot, dtype, maker, name in model.pcie],
        "Bios": {"Attributes": {"SystemBiosVersion": model.bios, "BootMode": "Uefi", "SriovGlobalEnable": "Enabled",
                                "ProcVirtualization": "Enabled", "WorkloadProfile": "TelcoOptimizedProfile"}},
        "Firmware": [{"Name": "BIOS", "Version": model.bios, "Updateable": True, "Status": _status()},
                     {"Name": "Integrated Dell Remote Access Controller", "Version": model.idrac, "Updateable": True,
                      "Status": _status()},
                     *({"Name": nic_model, "Version": "22.5.7", "Updateable": True, "Status": _status()}
                       for _, nic_model, _, _ in model.nics)],
        "BMC": [{"FirmwareVersion": model.idrac, "Model": "iDRAC9" if "R7" in model.name else "iDRAC9 XR",
                 "Status": _status()}],
    }


def _server(rng: random.Random, index: int, model: Model, site: dict[str, Any], location: dict[str, Any],
            pool_id: str | None, rack: int) -> dict[str, Any]:
    tag = "".join(rng.choice(_TAG_CHARS) for _ in range(7))
    short = site["Name"].split("-")[1][:3]
    name = f"{short}-{model.name.split()[-1].lower()}-{index:02d}"
    server_uuid = sim_uuid("server", tag)
    status = {"UUID": server_uuid, "SerialNumber": f"CNFCP00{rng.randrange(10**7):07d}", "AssetTag": "",
              "SKU": tag, "PartNumber": f"0{rng.randrange(10**5):05d}A02", "Manufacturer": "Dell Inc.",
              "Model": model.name, "State": "Enabled", "Health": "OK", "PowerState": "On",
              **_components(model, rng, tag),
              "Power": [{"PowerSupplyID": f"PSU.Slot.{p}", "Status": _status()} for p in (1, 2)],
              "Location": {"Latitude": location["Coordinate"]["latitude"],
                           "Longitude": location["Coordinate"]["longitude"],
                           "Placement": {"Rack": f"R{rack:02d}", "Row": "A", "RackOffset": str(40 - 2 * (index % 18))},
                           "PostalAddress": location["Address"]}}
    return {"apiVersion": "inventory.dtias.dell.com/v1", "kind": "Server",
            "metadata": {"name": name, "uid": server_uuid, "labels": {"model": model.name.split()[-1].lower()}},
            "spec": {"biosVersion": model.bios, "bmcFirmwareVersion": model.idrac},
            "status": status, "Allocated": False, "ResourcePool": pool_id or "", "Site": site["Id"],
            "Location": location["Id"], "Labels": [{"Key": "rack", "Value": f"R{rack:02d}"}],
            "DriftStatus": {"State": "Compliant", "Status": "OK", "LastScan": "2026-12-01T04:00:00Z"},
            "IsDeleted": False}


def _same_machine_as_redfish(server: dict[str, Any], tag: str) -> None:
    """The identity of the Redfish simulator's server `tag` (after the random draws, which stay as they were)."""
    machine = system_uuid(tag)
    server["metadata"]["uid"] = machine
    server["status"].update(UUID=machine, SKU=tag, SerialNumber=serial_number(tag))


def seed() -> dict[str, Any]:
    """Locations, sites, pools, servers and the existing resource group, as the simulator's state holds them."""
    rng = random.Random(20261207)
    locations = [dict(doc, Sites={"sites": []}) for doc in LOCATIONS]
    sites, pools, servers = [], [], []
    for name, location_index in SITES:
        location = locations[location_index]
        site_id = sim_uuid("site", name)
        default_pool = {"Id": sim_uuid("pool", name, "default"), "Name": f"{name}-default", "SiteId": site_id,
                        "Description": f"Default resource pool of {name}", "DefaultRp": True, "Labels": [],
                        "Res": {"tenant": TENANT}}
        pools.append(default_pool)
        sites.append({"Id": site_id, "Name": name, "LocationId": location["Id"], "Address": location["Address"],
                      "Coordinate": location["Coordinate"], "DefaultRpId": default_pool["Id"], "Rps": {"rps": []}})
        location["Sites"]["sites"].append(site_id)
    index = 0
    group_members: list[dict[str, Any]] = []
    for rack, (site_index, pool_name, model, count, allocated) in enumerate(RACKS, start=1):
        site = sites[site_index]
        pool_id = None
        if pool_name is not None:
            pool_id = sim_uuid("pool", site["Name"], pool_name)
            if not any(p["Id"] == pool_id for p in pools):
                pools.append({"Id": pool_id, "Name": f"{site['Name']}-{pool_name}", "SiteId": site["Id"],
                              "Description": f"{pool_name} servers of {site['Name']}", "DefaultRp": False,
                              "Labels": [{"Key": "role", "Value": pool_name}], "Res": {"tenant": TENANT}})
        for member in range(count):
            index += 1
            location = next(loc for loc in locations if loc["Id"] == site["LocationId"])
            server = _server(rng, index, model, site, location, pool_id, rack)
            if index in SHARED_WITH_REDFISH:
                _same_machine_as_redfish(server, SHARED_WITH_REDFISH[index])
            if member < allocated:
                server["Allocated"] = True
                group_members.append(server)
            servers.append(server)
    for site in sites:
        site["Rps"]["rps"] = [p["Id"] for p in pools if p["SiteId"] == site["Id"]]
    group = {"id": EXISTING_GROUP, "name": EXISTING_GROUP, "description": "DU cluster A (created by the site's "
             "cluster installer)", "resourceTypeId": "COMPUTE",
             "resourceSelectors": {"worker": {"rpId": group_members[0]["ResourcePool"], "ResourceProfileId": "",
                                              "numResources": len(group_members), "filters": {},
                                              "resources": [{"Id": s["metadata"]["uid"], "Name": s["metadata"]["name"]}
                                                            for s in group_members]}}}
    return {"locations": locations, "sites": sites, "pools": pools, "servers": servers, "groups": [group]}
