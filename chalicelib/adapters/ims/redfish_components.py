"""A Redfish ComputerSystem's parts as child resources (docs/redfish-backend.md "Components"): pure functions over
the documents the BMC served (plain dicts), so the mapping is unit-testable on hand-written Redfish JSON.

One component per Processor (CPU, or accelerator for GPU/FPGA/DSP/Accelerator), Memory DIMM, NetworkAdapter (its
Ports as children of it), Drive and PCIeDevice. A PCIe device that a NetworkAdapter controller or a Processor links to
is the same card seen twice, so it is not listed again; without NetworkAdapters (sushy-emulator, old BMCs) the
system's EthernetInterfaces stand in for them. Parts whose `Status.State` is `Absent` (empty slots) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.inventory import ResourceClass

Doc = Mapping[str, Any]
ACCELERATOR_TYPES = frozenset({"GPU", "FPGA", "DSP", "Accelerator", "OEM"})
ACCELERATOR_CLASSES = frozenset({"ProcessingAccelerators", "DisplayController", "Coprocessor"})
KIND_CLASSES = {"processor": ResourceClass.COMPUTE, "accelerator": ResourceClass.COMPUTE,
                "memory": ResourceClass.COMPUTE, "nic": ResourceClass.NETWORKING,
                "nic-port": ResourceClass.NETWORKING, "ethernet-interface": ResourceClass.NETWORKING,
                "drive": ResourceClass.STORAGE, "pcie-device": ResourceClass.COMPUTE}
KIND_TITLES = {"processor": "processor", "accelerator": "accelerator", "memory": "memory module",
               "nic": "network adapter", "nic-port": "network port", "ethernet-interface": "Ethernet interface",
               "drive": "drive", "pcie-device": "PCIe device"}


@dataclass(frozen=True)
class AdapterReading:
    """A NetworkAdapter with its Ports (or, on older BMCs, NetworkPorts)."""

    adapter: Doc
    ports: tuple[Doc, ...] = ()


@dataclass(frozen=True)
class PcieReading:
    device: Doc
    functions: tuple[Doc, ...] = ()


@dataclass(frozen=True)
class SystemReading:
    """Everything read about one ComputerSystem. `unreadable`: the component collections the BMC would not serve
    (404, 5xx, 501), named by kind, so an operator sees the gap instead of a server that seems to lack memory."""

    endpoint: str
    system: Doc
    chassis: Doc | None = None
    manager: Doc | None = None
    processors: tuple[Doc, ...] = ()
    memory: tuple[Doc, ...] = ()
    ethernet_interfaces: tuple[Doc, ...] = ()
    network_adapters: tuple[AdapterReading, ...] = ()
    drives: tuple[Doc, ...] = ()
    pcie_devices: tuple[PcieReading, ...] = ()
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Component:
    identity: str  # the part's @odata.id: unique and stable within the BMC
    kind: str
    name: str  # the Redfish Id (an FQDD on iDRAC)
    vendor: str
    model: str
    serial: str | None
    fields: dict[str, Any]
    parent: str | None = None  # identity of the enclosing part (a port's adapter); None: the system
    children: tuple[str, ...] = field(default=())

    @property
    def resource_class(self) -> ResourceClass:
        return KIND_CLASSES[self.kind]


def odata_id(doc: Doc | None) -> str:
    return str((doc or {}).get("@odata.id") or "")


def text(doc: Doc, key: str) -> str | None:
    value = doc.get(key)
    return str(value).strip() if value not in (None, "") and str(value).strip() else None


def status_fields(doc: Doc) -> dict[str, Any]:
    status = doc.get("Status")
    status = status if isinstance(status, dict) else {}
    return {"health": status.get("Health"), "healthRollup": status.get("HealthRollup"), "state": status.get("State")}


def absent(doc: Doc) -> bool:
    status = doc.get("Status")
    return isinstance(status, dict) and status.get("State") == "Absent"


def _present(docs: Iterable[Doc]) -> list[Doc]:
    return sorted((d for d in docs if isinstance(d, dict) and not absent(d)), key=odata_id)


def _pick(doc: Doc, keys: Mapping[str, str]) -> dict[str, Any]:
    """Redfish properties under our (camelCase) names; absent or null ones are left out."""
    return {ours: doc[theirs] for ours, theirs in keys.items() if doc.get(theirs) is not None}


def _component(doc: Doc, kind: str, fields: dict[str, Any], parent: str | None = None,
               children: tuple[str, ...] = ()) -> Component:
    return Component(
        identity=odata_id(doc), kind=kind, name=text(doc, "Id") or odata_id(doc).rsplit("/", 1)[-1],
        vendor=text(doc, "Manufacturer") or "", model=text(doc, "Model") or KIND_TITLES[kind],
        serial=text(doc, "SerialNumber"), parent=parent, children=children,
        fields={k: v for k, v in {**fields, **status_fields(doc)}.items() if v is not None})


def _links(doc: Doc, *path: str) -> list[str]:
    value: Any = doc
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [odata_id(item) for item in items if odata_id(item)]


def processors(reading: SystemReading) -> list[Component]:
    keys = {"processorType": "ProcessorType", "architecture": "ProcessorArchitecture",
            "instructionSet": "InstructionSet", "maxSpeedMHz": "MaxSpeedMHz", "totalCores": "TotalCores",
            "totalThreads": "TotalThreads", "socket": "Socket"}
    return [_component(doc, "accelerator" if doc.get("ProcessorType") in ACCELERATOR_TYPES else "processor",
                       _pick(doc, keys)) for doc in _present(reading.processors)]


def memory(reading: SystemReading) -> list[Component]:
    keys = {"capacityMiB": "CapacityMiB", "memoryDeviceType": "MemoryDeviceType",
            "operatingSpeedMhz": "OperatingSpeedMhz", "partNumber": "PartNumber", "deviceLocator": "DeviceLocator"}
    found = []
    for doc in _present(reading.memory):
        if doc.get("CapacityMiB") == 0:  # an empty DIMM slot some BMCs report as Enabled with no capacity
            continue
        part = _component(doc, "memory", _pick(doc, keys))
        if not text(doc, "Model"):  # DIMMs rarely have one: their type, size and speed say what they are
            size = f"{doc['CapacityMiB'] // 1024} GiB" if isinstance(doc.get("CapacityMiB"), int) else None
            speed = f"{doc['OperatingSpeedMhz']} MT/s" if doc.get("OperatingSpeedMhz") else None
            words = [w for w in (text(doc, "MemoryDeviceType"), size, speed) if w]
            part = Component(**{**part.__dict__, "model": " ".join(words) or "memory"})
        found.append(part)
    return found


def _sriov(adapter: Doc) -> int | None:
    for controller in adapter.get("Controllers") or []:
        offload = ((controller.get("ControllerCapabilities") or {}).get("VirtualizationOffload") or {})
        count = (offload.get("VirtualFunction") or {}).get("DeviceMaxCount")
        if count is not None:
            return int(count)
    return None


def _port_fields(port: Doc) -> dict[str, Any]:
    """Ports (NetworkAdapter v1.5+) or the older NetworkPorts, under one set of names."""
    speed = port.get("CurrentSpeedGbps")
    if speed is None and port.get("CurrentLinkSpeedMbps") is not None:
        speed = port["CurrentLinkSpeedMbps"] / 1000
    macs = (port.get("Ethernet") or {}).get("AssociatedMACAddresses") or port.get("AssociatedNetworkAddresses")
    fields = _pick(port, {"portId": "PortId", "physicalPortNumber": "PhysicalPortNumber", "linkStatus": "LinkStatus",
                          "maxSpeedGbps": "MaxSpeedGbps"})
    return {**fields, "currentSpeedGbps": speed, "macAddresses": sorted(macs) if macs else None}


def network(reading: SystemReading) -> list[Component]:
    """Each adapter, then its ports (children of the adapter). Without adapters, the system's interfaces."""
    found: list[Component] = []
    for item in sorted(reading.network_adapters, key=lambda a: odata_id(a.adapter)):
        if absent(item.adapter):
            continue
        ports = _present(item.ports)
        sriov = _sriov(item.adapter)
        firmware = next((c.get("FirmwarePackageVersion") for c in item.adapter.get("Controllers") or []
                         if c.get("FirmwarePackageVersion")), None)
        found.append(_component(item.adapter, "nic", {
            **_pick(item.adapter, {"partNumber": "PartNumber"}), "firmwareVersion": firmware,
            "sriovMaxVirtualFunctions": sriov, "portCount": len(ports)},
            children=tuple(odata_id(p) for p in ports)))
        vendor = text(item.adapter, "Manufacturer") or ""
        for port in ports:
            part = _component(port, "nic-port", {**_port_fields(port), "sriovMaxVirtualFunctions": sriov},
                              parent=odata_id(item.adapter))
            found.append(Component(**{**part.__dict__, "vendor": part.vendor or vendor,
                                      "model": text(item.adapter, "Model") or part.model}))
    if reading.network_adapters:
        return found
    keys = {"macAddress": "MACAddress", "permanentMacAddress": "PermanentMACAddress", "speedMbps": "SpeedMbps",
            "linkStatus": "LinkStatus", "mtuSize": "MTUSize"}
    return [_component(doc, "ethernet-interface", _pick(doc, keys)) for doc in _present(reading.ethernet_interfaces)]


def drives(reading: SystemReading) -> list[Component]:
    keys = {"capacityBytes": "CapacityBytes", "mediaType": "MediaType", "protocol": "Protocol",
            "failurePredicted": "FailurePredicted", "partNumber": "PartNumber"}
    return [_component(doc, "drive", _pick(doc, keys)) for doc in _present(reading.drives)]


def pcie_devices(reading: SystemReading) -> list[Component]:
    """PCIe devices not already listed as a network adapter or a processor (accelerator)."""
    listed = {path for item in reading.network_adapters for c in item.adapter.get("Controllers") or []
              for path in _links(c, "Links", "PCIeDevices")}
    listed |= {path for doc in reading.processors for path in _links(doc, "Links", "PCIeDevice")}
    found = []
    for item in sorted(reading.pcie_devices, key=lambda d: odata_id(d.device)):
        if absent(item.device) or odata_id(item.device) in listed:
            continue
        classes = sorted({str(f["DeviceClass"]) for f in item.functions if f.get("DeviceClass")})
        first = item.functions[0] if item.functions else {}
        interface = item.device.get("PCIeInterface") or {}
        fields = {**_pick(item.device, {"deviceType": "DeviceType", "firmwareVersion": "FirmwareVersion"}),
                  "pcieType": interface.get("PCIeType"), "lanesInUse": interface.get("LanesInUse"),
                  "deviceClasses": classes or None, "vendorId": first.get("VendorId"),
                  "deviceId": first.get("DeviceId")}
        kind = "accelerator" if ACCELERATOR_CLASSES & set(classes) else "pcie-device"
        found.append(_component(item.device, kind, fields))
    return found


def components(reading: SystemReading) -> list[Component]:
    """Every part of the system, in a fixed order: kinds as listed here, each sorted by @odata.id."""
    return [*processors(reading), *memory(reading), *network(reading), *drives(reading), *pcie_devices(reading)]
