"""The simulated fleet: Dell PowerEdge servers as their iDRACs describe them, and the Redfish documents they serve.

Documents are rendered from each server's spec and its mutable state (health, power, reachability) whenever a request
needs them, so a knob changes every view of a server at once: its own BMC's and the aggregator's. Ids follow iDRAC
FQDDs (`System.Embedded.1`, `CPU.Socket.1`, `NIC.Slot.3-1`); the aggregator renames only the three top-level ids
(System, Chassis, Manager) after the service tag, because one service cannot list two `System.Embedded.1`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]
ROOT = "/redfish/v1"


@dataclass(frozen=True)
class Nic:
    slot: str  # FQDD stem: NIC.Integrated.1, NIC.Slot.3
    manufacturer: str
    model: str
    ports: int
    speed_gbps: int
    vendor_id: str
    device_id: str
    max_vfs: int = 0


@dataclass(frozen=True)
class ServerSpec:
    service_tag: str
    model: str
    rack: str
    cpu_model: str
    sockets: int
    cores: int
    dimms: int
    dimm_gib: int
    nics: tuple[Nic, ...]
    drives: tuple[tuple[str, int, str], ...]  # (model, capacity GB, media type)
    accelerator: bool = False  # an Intel ACC100 FEC card in slot 2
    bios: str = "1.11.2"


def system_uuid(service_tag: str) -> str:
    """A server's SMBIOS UUID: stable per service tag, so the DTIAS simulator can describe the same machines."""
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{service_tag}.dell.example"))


def serial_number(service_tag: str) -> str:
    return f"CN7{service_tag}"


@dataclass
class ServerState:
    spec: ServerSpec
    health: str = "OK"
    rollup: str | None = None  # the Dell rollup the degradation is in (SysMemPrimaryStatus, StorageRollupStatus, ...)
    power: str = "On"
    down: bool = False
    uuid: str = ""

    def reset(self) -> None:
        self.health, self.rollup, self.power, self.down = "OK", None, "On", False


_E810 = Nic("NIC.Slot.3", "Intel Corporation", "Intel(R) Ethernet 25G 4P E810-XXV Adapter", 4, 25, "0x8086",
            "0x159b", max_vfs=64)
_LOM = Nic("NIC.Integrated.1", "Broadcom Inc. and subsidiaries", "Broadcom Gigabit Ethernet BCM5720", 2, 1,
           "0x14e4", "0x165f")
_CX6 = Nic("NIC.Slot.4", "Mellanox Technologies", "Mellanox ConnectX-6 Dx Dual Port 100 GbE QSFP56", 2, 100,
           "0x15b3", "0x101d", max_vfs=127)
_SSD = ("Dell Ent NVMe P5600 MU U.2 1.6TB", 1600, "SSD")
_BOSS = ("MTFDDAV480TDS", 480, "SSD")
_HDD = ("ST2000NM018B", 2000, "HDD")

SEED: tuple[ServerSpec, ...] = (
    ServerSpec("7XR11A1", "PowerEdge XR11", "edge-rack-1", "Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz", 1, 32, 8, 32,
               (_LOM, _E810), (_BOSS, _BOSS), accelerator=True),
    ServerSpec("7XR11A2", "PowerEdge XR11", "edge-rack-1", "Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz", 1, 32, 8, 32,
               (_LOM, _E810), (_BOSS, _BOSS), accelerator=True),
    ServerSpec("9R750B1", "PowerEdge R750", "core-rack-4", "Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz", 2, 28, 16, 64,
               (_LOM, _CX6), (_SSD, _SSD, _SSD, _SSD), bios="1.13.2"),
    ServerSpec("3R650C1", "PowerEdge R650", "core-rack-4", "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", 2, 16, 8, 16,
               (_LOM,), (_HDD, _HDD), bios="1.13.2"),
    ServerSpec("3R650C2", "PowerEdge R650", "core-rack-5", "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", 2, 16, 8, 16,
               (_LOM,), (_HDD, _HDD), bios="1.13.2"),
)


@dataclass(frozen=True)
class Ids:
    """The top-level ids of one server in one service: an iDRAC's own, or the aggregator's per service tag."""

    system: str = "System.Embedded.1"
    chassis: str = "System.Embedded.1"
    manager: str = "iDRAC.Embedded.1"

    @classmethod
    def aggregated(cls, tag: str) -> Ids:
        return cls(system=tag, chassis=tag, manager=f"iDRAC-{tag}")


def link(path: str) -> Doc:
    return {"@odata.id": path}


def collection(path: str, odata_type: str, name: str, members: list[str]) -> Doc:
    return {"@odata.id": path, "@odata.type": f"#{odata_type}.{odata_type}", "Name": name,
            "Members": [link(m) for m in members], "Members@odata.count": len(members)}


def status(state: str = "Enabled", health: str = "OK", rollup: str | None = None) -> Doc:
    return {"State": state, "Health": health, "HealthRollup": rollup or health}


def _dimm_letter(index: int, sockets: int) -> str:
    return f"{'AB'[index % sockets]}{index // sockets + 1}"


@dataclass
class Rendered:
    """Every document of one server in one service, by path."""

    docs: dict[str, Doc] = field(default_factory=dict)

    def add(self, doc: Doc) -> Doc:
        self.docs[doc["@odata.id"]] = doc
        return doc


def render_server(server: ServerState, ids: Ids) -> dict[str, Doc]:
    spec, out = server.spec, Rendered()
    system, chassis = f"{ROOT}/Systems/{ids.system}", f"{ROOT}/Chassis/{ids.chassis}"
    manager = f"{ROOT}/Managers/{ids.manager}"
    degraded = server.health != "OK"
    memory_health = server.health if server.rollup == "SysMemPrimaryStatus" else "OK"
    storage_health = server.health if server.rollup == "StorageRollupStatus" else "OK"
    cpus = [f"CPU.Socket.{n + 1}" for n in range(spec.sockets)]
    dimms = [f"DIMM.Socket.{_dimm_letter(n, spec.sockets)}" for n in range(spec.dimms)]
    for cpu in cpus:
        out.add({"@odata.id": f"{system}/Processors/{cpu}", "@odata.type": "#Processor.v1_18_0.Processor",
                 "Id": cpu, "Name": "CPU", "ProcessorType": "CPU", "ProcessorArchitecture": "x86",
                 "InstructionSet": "x86-64", "Manufacturer": "Intel", "Model": spec.cpu_model, "MaxSpeedMHz": 4000,
                 "TotalCores": spec.cores, "TotalThreads": spec.cores * 2, "Socket": cpu, "Status": status()})
    if spec.accelerator:  # iDRAC lists FPGA/accelerator cards it recognises among the processors
        out.add({"@odata.id": f"{system}/Processors/FPGA.Slot.2-1", "@odata.type": "#Processor.v1_18_0.Processor",
                 "Id": "FPGA.Slot.2-1", "Name": "Accelerator", "ProcessorType": "Accelerator",
                 "Manufacturer": "Intel Corporation", "Model": "Intel(R) vRAN Dedicated Accelerator ACC100",
                 "Socket": "Slot 2", "Links": {"PCIeDevice": link(f"{system}/PCIeDevices/FPGA.Slot.2-1")},
                 "Status": status()})
    accelerators = ["FPGA.Slot.2-1"] if spec.accelerator else []
    out.add(collection(f"{system}/Processors", "ProcessorCollection", "Processors Collection",
                       [f"{system}/Processors/{p}" for p in cpus + accelerators]))
    for index, dimm in enumerate(dimms):
        health = memory_health if index == 0 else "OK"
        out.add({"@odata.id": f"{system}/Memory/{dimm}", "@odata.type": "#Memory.v1_16_0.Memory", "Id": dimm,
                 "Name": "DIMM", "CapacityMiB": spec.dimm_gib * 1024, "MemoryDeviceType": "DDR4",
                 "OperatingSpeedMhz": 3200, "Manufacturer": "Hynix Semiconductor", "PartNumber": "HMAA4GR7CJR8N-XN",
                 "SerialNumber": f"{spec.service_tag}{index:03d}", "DeviceLocator": f"DIMM {dimm[12:]}",
                 "Status": status(health=health)})
    out.add(collection(f"{system}/Memory", "MemoryCollection", "Memory Devices Collection",
                       [f"{system}/Memory/{d}" for d in dimms]))
    _render_network(out, spec, system, chassis)
    _render_storage(out, spec, system, storage_health)
    _render_pcie(out, spec, system, chassis)
    rollups = {key: "OK" for key in ("CPURollupStatus", "SysMemPrimaryStatus", "StorageRollupStatus",
                                     "PSRollupStatus", "FanRollupStatus", "TempRollupStatus", "VoltRollupStatus",
                                     "BatteryRollupStatus", "IntrusionRollupStatus", "SELRollupStatus")}
    if degraded:
        rollups[server.rollup or "SELRollupStatus"] = server.health
    out.add({
        "@odata.id": system, "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem", "Id": ids.system,
        "Name": "System", "SystemType": "Physical", "Manufacturer": "Dell Inc.", "Model": spec.model,
        "SerialNumber": serial_number(spec.service_tag), "SKU": spec.service_tag, "UUID": server.uuid,
        "HostName": f"{spec.service_tag.lower()}.oran.example", "BiosVersion": spec.bios, "PowerState": server.power,
        "Status": status(health="OK" if server.rollup else server.health, rollup=server.health),
        "ProcessorSummary": {"Count": spec.sockets, "Model": spec.cpu_model, "Status": status()},
        "MemorySummary": {"TotalSystemMemoryGiB": spec.dimms * spec.dimm_gib, "Status": status(health=memory_health)},
        "Processors": link(f"{system}/Processors"), "Memory": link(f"{system}/Memory"),
        "EthernetInterfaces": link(f"{system}/EthernetInterfaces"), "Storage": link(f"{system}/Storage"),
        "NetworkInterfaces": link(f"{system}/NetworkInterfaces"), "PCIeDevices": link(f"{system}/PCIeDevices"),
        "Links": {"Chassis": [link(chassis)], "ManagedBy": [link(manager)]},
        "Actions": {"#ComputerSystem.Reset": {
            "target": f"{system}/Actions/ComputerSystem.Reset",
            "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "GracefulShutdown", "PowerCycle"]}},
        "Oem": {"Dell": {"DellSystem": {
            "@odata.type": "#DellSystem.v1_4_0.DellSystem", "ChassisServiceTag": spec.service_tag,
            "ExpressServiceCode": str(int(spec.service_tag, 36)), "SystemGeneration": "15G Monolithic",
            "NodeID": spec.service_tag, **rollups}}},
    })
    out.add({"@odata.id": chassis, "@odata.type": "#Chassis.v1_23_0.Chassis", "Id": ids.chassis,
             "Name": "Computer System Chassis", "ChassisType": "RackMount", "Manufacturer": "Dell Inc.",
             "Model": spec.model, "SerialNumber": f"CN7{spec.service_tag}", "SKU": spec.service_tag,
             "Location": {"Placement": {"Rack": spec.rack, "Row": spec.rack.split("-")[0]}},
             "NetworkAdapters": link(f"{chassis}/NetworkAdapters"),
             "Status": status(health=server.health), "Links": {"ComputerSystems": [link(system)],
                                                               "ManagedBy": [link(manager)]}})
    out.add({"@odata.id": manager, "@odata.type": "#Manager.v1_17_0.Manager", "Id": ids.manager,
             "Name": "Manager", "ManagerType": "BMC", "Model": "15G Monolithic", "FirmwareVersion": "7.00.00.171",
             "Status": status(), "Links": {"ManagerForServers": [link(system)]}})
    return out.docs


def _render_network(out: Rendered, spec: ServerSpec, system: str, chassis: str) -> None:
    adapters, interfaces, functions_of_system = [], [], []
    for nic_index, nic in enumerate(spec.nics):
        adapter = f"{chassis}/NetworkAdapters/{nic.slot}"
        ports = [f"{nic.slot}-{p + 1}" for p in range(nic.ports)]
        for port_index, port in enumerate(ports):
            mac = f"b4:96:91:{nic_index:02x}:{int(spec.service_tag[-2:], 36) % 256:02x}:{port_index:02x}"
            out.add({"@odata.id": f"{adapter}/Ports/{port}", "@odata.type": "#Port.v1_7_0.Port", "Id": port,
                     "Name": "Port", "PortId": port, "LinkStatus": "LinkUp" if port_index < 2 else "LinkDown",
                     "CurrentSpeedGbps": nic.speed_gbps if port_index < 2 else 0, "MaxSpeedGbps": nic.speed_gbps,
                     "Ethernet": {"AssociatedMACAddresses": [mac]}, "Status": status()})
            function = f"{port}-1"
            out.add({"@odata.id": f"{adapter}/NetworkDeviceFunctions/{function}",
                     "@odata.type": "#NetworkDeviceFunction.v1_9_0.NetworkDeviceFunction", "Id": function,
                     "Name": "Network Device Function", "NetDevFuncType": "Ethernet",
                     "Ethernet": {"MACAddress": mac, "PermanentMACAddress": mac, "MTUSize": 1500},
                     "Links": {"PhysicalPortAssignment": link(f"{adapter}/Ports/{port}")}, "Status": status()})
            interface = f"{system}/EthernetInterfaces/{function}"
            out.add({"@odata.id": interface, "@odata.type": "#EthernetInterface.v1_12_0.EthernetInterface",
                     "Id": function, "Name": "System Ethernet Interface", "MACAddress": mac,
                     "PermanentMACAddress": mac, "SpeedMbps": nic.speed_gbps * 1000 if port_index < 2 else 0,
                     "LinkStatus": "LinkUp" if port_index < 2 else "LinkDown", "MTUSize": 1500, "Status": status()})
            interfaces.append(interface)
            functions_of_system.append(f"{adapter}/NetworkDeviceFunctions/{function}")
        capabilities = {"VirtualizationOffload": {"SRIOV": {"SRIOVVEPACapable": nic.max_vfs > 0},
                                                  "VirtualFunction": {"DeviceMaxCount": nic.max_vfs}}}
        out.add(collection(f"{adapter}/Ports", "PortCollection", "Port Collection",
                           [f"{adapter}/Ports/{p}" for p in ports]))
        out.add(collection(f"{adapter}/NetworkDeviceFunctions", "NetworkDeviceFunctionCollection",
                           "Network Device Function Collection",
                           [f"{adapter}/NetworkDeviceFunctions/{p}-1" for p in ports]))
        out.add({"@odata.id": adapter, "@odata.type": "#NetworkAdapter.v1_9_0.NetworkAdapter", "Id": nic.slot,
                 "Name": "Network Adapter", "Manufacturer": nic.manufacturer, "Model": nic.model,
                 "SerialNumber": f"{spec.service_tag}N{nic_index}", "PartNumber": nic.device_id,
                 "Controllers": [{"FirmwarePackageVersion": "22.31.6", "ControllerCapabilities": capabilities,
                                  "Links": {"PCIeDevices": [link(f"{system}/PCIeDevices/{nic.slot}")]}}],
                 "Ports": link(f"{adapter}/Ports"),
                 "NetworkDeviceFunctions": link(f"{adapter}/NetworkDeviceFunctions"), "Status": status()})
        adapters.append(adapter)
        out.add({"@odata.id": f"{system}/NetworkInterfaces/{nic.slot}",
                 "@odata.type": "#NetworkInterface.v1_2_1.NetworkInterface", "Id": nic.slot,
                 "Name": "Network Interface", "Links": {"NetworkAdapter": link(adapter)}, "Status": status()})
    out.add(collection(f"{chassis}/NetworkAdapters", "NetworkAdapterCollection", "Network Adapter Collection",
                       adapters))
    out.add(collection(f"{system}/NetworkInterfaces", "NetworkInterfaceCollection", "Network Interface Collection",
                       [f"{system}/NetworkInterfaces/{n.slot}" for n in spec.nics]))
    out.add(collection(f"{system}/EthernetInterfaces", "EthernetInterfaceCollection",
                       "System Ethernet Interface Collection", interfaces))


def _render_storage(out: Rendered, spec: ServerSpec, system: str, health: str) -> None:
    controller = "RAID.Integrated.1-1"
    storage = f"{system}/Storage/{controller}"
    drives = []
    for index, (model, gigabytes, media) in enumerate(spec.drives):
        drive = f"Disk.Bay.{index}:Enclosure.Internal.0-1:{controller}"
        out.add({"@odata.id": f"{storage}/Drives/{drive}", "@odata.type": "#Drive.v1_17_0.Drive", "Id": drive,
                 "Name": f"Physical Disk 0:1:{index}", "Model": model, "CapacityBytes": gigabytes * 10**9,
                 "MediaType": media, "Protocol": "NVMe" if "NVMe" in model else "SATA",
                 "SerialNumber": f"{spec.service_tag}D{index}", "Manufacturer": "Dell" if "Dell" in model else
                 ("Micron" if model.startswith("MT") else "Seagate"), "FailurePredicted": health != "OK",
                 "Status": status(health=health if index == 0 else "OK")})
        drives.append(f"{storage}/Drives/{drive}")
    out.add({"@odata.id": storage, "@odata.type": "#Storage.v1_15_0.Storage", "Id": controller,
             "Name": "PERC H755 Front", "Drives": [link(d) for d in drives], "Drives@odata.count": len(drives),
             "StorageControllers": [{"MemberId": controller, "Name": "PERC H755 Front", "Model": "PERC H755 Front",
                                     "FirmwareVersion": "52.16.1-4405", "SpeedGbps": 12, "Status": status()}],
             "Status": status(health=health)})
    out.add(collection(f"{system}/Storage", "StorageCollection", "Storage Collection", [storage]))


def _render_pcie(out: Rendered, spec: ServerSpec, system: str, chassis: str) -> None:
    devices = []
    found = [(n.slot, n.manufacturer, n.model, "NetworkController", n.vendor_id, n.device_id) for n in spec.nics]
    if spec.accelerator:
        found.append(("FPGA.Slot.2-1", "Intel Corporation", "Intel(R) vRAN Dedicated Accelerator ACC100",
                      "ProcessingAccelerators", "0x8086", "0x0d5c"))
    for slot, manufacturer, model, device_class, vendor_id, device_id in found:
        path = f"{system}/PCIeDevices/{slot}"
        out.add({"@odata.id": f"{path}/PCIeFunctions/{slot}-0",
                 "@odata.type": "#PCIeFunction.v1_5_0.PCIeFunction", "Id": f"{slot}-0", "FunctionId": 0,
                 "DeviceClass": device_class, "VendorId": vendor_id, "DeviceId": device_id, "Status": status()})
        out.add(collection(f"{path}/PCIeFunctions", "PCIeFunctionCollection", "PCIe Function Collection",
                           [f"{path}/PCIeFunctions/{slot}-0"]))
        out.add({"@odata.id": path, "@odata.type": "#PCIeDevice.v1_14_0.PCIeDevice", "Id": slot,
                 "Name": model, "Manufacturer": manufacturer, "Model": model, "DeviceType": "SingleFunction",
                 "SerialNumber": f"{spec.service_tag}-{slot}", "FirmwareVersion": "1.0.3",
                 "PCIeInterface": {"PCIeType": "Gen4", "LanesInUse": 16 if "ACC" in model else 8},
                 "PCIeFunctions": link(f"{path}/PCIeFunctions"), "Links": {"Chassis": [link(chassis)]},
                 "Status": status()})
        devices.append(path)
    out.add(collection(f"{system}/PCIeDevices", "PCIeDeviceCollection", "PCIe Device Collection", devices))
