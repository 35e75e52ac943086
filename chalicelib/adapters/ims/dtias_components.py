"""A DTIAS server's components as `Part`s (the kubernetes backend's component shape), pure: processors, DIMMs,
NICs and their ports, drives and PCIe devices (accelerators: FEC cards, GPUs, FPGAs) from the server's
`status` (reference §3.1). `dtias_mapping` turns them into child resources and their resource types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.ims.kubernetes_components import Part
from chalicelib.domain.inventory import ResourceClass

Doc = Mapping[str, Any]
_ACCELERATORS = {"accelerator", "gpu", "fpga"}


def items_of(doc: Any, key: str) -> list[Doc]:
    """The objects of a list member, ignoring anything else DTIAS might put there."""
    value = doc.get(key) if isinstance(doc, Mapping) else None
    return [item for item in value or [] if isinstance(item, Mapping)] if isinstance(value, list) else []


def compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent values: documents never carry null (docs/o2-conventions.md §2), nor empty DTIAS strings."""
    return {key: value for key, value in values.items() if value not in (None, "", [], {})}


def _bytes(item: Doc) -> int | None:
    text = str(item.get("CapacityBytes", ""))  # a string in DTIAS's schema
    return int(text) if text.isdigit() else None


def _health(item: Doc) -> str | None:
    status = item.get("Status")
    return str(status.get("Health")) if isinstance(status, Mapping) and status.get("Health") else None


def _part(identity: str, kind: str, rclass: ResourceClass, title: str, fields: dict[str, Any], *,
          parent: str | None = None, vendor: Any = None, model: Any = None, elements: tuple[str, ...] = ()) -> Part:
    return Part(identity, kind, kind, rclass, title, compact(fields), parent=parent,
                vendor=str(vendor) if vendor else None, model=str(model) if model else None, elements=elements)


def _memory(dimms: list[Doc]) -> list[Part]:
    """The server's memory as one component, its DIMMs listed inside: memory is placed as a whole (as the kubernetes
    backend's `memory` component is), and a child resource per DIMM would triple a fleet's resource count."""
    if not dimms:
        return []
    first = dimms[0]
    healths = {h for d in dimms if (h := _health(d))}
    fields = {"capacityMiB": sum(int(d.get("CapacityMiB") or 0) for d in dimms), "dimmCount": len(dimms),
              "type": first.get("MemoryDeviceType"), "speedMHz": first.get("OperatingSpeedMhz"),
              "health": next((h for h in ("Critical", "Warning") if h in healths), "OK" if healths else None),
              "dimms": [compact({"id": d.get("ID"), "locator": d.get("DeviceLocator"), "capacityMiB": d.get(
                  "CapacityMiB"), "partNumber": d.get("PartNumber"), "serialNumber": d.get("SerialNumber"),
                  "health": _health(d)}) for d in dimms]}
    return [_part("memory", "memory", ResourceClass.COMPUTE, "memory", fields, vendor=first.get("Manufacturer"),
                  model=first.get("PartNumber"))]


def volumes(status: Doc) -> list[dict[str, Any]]:
    """RAID volumes: configuration over the drives rather than hardware, so a field of the server, not components."""
    return [compact({"id": v.get("ID"), "capacityBytes": _bytes(v), "raidType": v.get("RAIDType"),
                     "drives": list(v.get("DriveIDs") or [])})
            for storage in items_of(status, "Storage") for v in items_of(storage, "Volumes") if v.get("ID")]


def server_parts(status: Doc) -> list[Part]:
    """Every component of one server, parents before their children (a NIC before its ports)."""
    parts = [_part(f"cpu/{p.get('ID')}", "processor", ResourceClass.COMPUTE, f"processor {p.get('ID')}",
                   {"socket": p.get("Socket"), "cores": p.get("TotalCores"), "threads": p.get("TotalThreads"),
                    "maxSpeedMHz": p.get("MaxSpeedMHz"), "architecture": p.get("ProcessorArchitecture"),
                    "health": _health(p)}, vendor=p.get("Manufacturer"), model=p.get("Model"))
             for p in items_of(status, "Processors") if p.get("ID")]
    parts += _memory(items_of(status, "Memory"))
    interfaces = {str(e.get("ID", "")).rsplit("-", 1)[0]: e for e in items_of(status, "EthernetInterface")}
    for nic in items_of(status, "NIC"):
        nic_id = str(nic.get("NetworkAdapterID") or "")
        if not nic_id:
            continue
        ports = []
        for port in items_of(nic, "NetworkPorts"):
            interface = interfaces.get(str(port.get("ID")), {})
            addresses = port.get("AssociatedNetworkAddresses") or []
            ports.append(_part(f"port/{port.get('ID')}", "nic-port", ResourceClass.NETWORKING, f"port {port.get('ID')}",
                               {"linkStatus": port.get("LinkStatus"), "mac": addresses[0] if addresses else None,
                                "speedMbps": interface.get("SpeedMbps"), "mtu": interface.get("MTUSize"),
                                "sriovVfs": (port.get("Attributes") or {}).get("NumberVFAdvertised"),
                                "nic": nic_id, "health": _health(interface)},
                               parent=f"nic/{nic_id}", model=nic.get("Model")))
        parts.append(_part(f"nic/{nic_id}", "nic", ResourceClass.NETWORKING, f"NIC {nic_id}",
                           {"fqdd": nic_id, "serialNumber": nic.get("SerialNumber"), "portCount": len(ports)},
                           model=nic.get("Model"), elements=tuple(p.identity for p in ports)))
        parts += ports
    for storage in items_of(status, "Storage"):
        parts += [_part(f"drive/{d.get('ID')}", "drive", ResourceClass.STORAGE, f"drive {d.get('ID')}",
                        {"capacityBytes": _bytes(d),
                         "mediaType": d.get("MediaType"), "protocol": d.get("Protocol"),
                         "serialNumber": d.get("SerialNumber"), "failurePredicted": d.get("FailurePredicted"),
                         "health": _health(d)}, model=d.get("Model"))
                  for d in items_of(storage, "Drives") if d.get("ID")]
    for device in items_of(status, "PCIeDevice"):
        kind = "accelerator" if str(device.get("DeviceType", "")).lower() in _ACCELERATORS else "pcie-device"
        parts.append(_part(f"pcie/{device.get('ID')}", kind, ResourceClass.COMPUTE, f"{kind} {device.get('ID')}",
                           {"deviceType": device.get("DeviceType"), "slot": device.get("PCIeSlotNumber"),
                            "serialNumber": device.get("SerialNumber"),
                            "firmwareVersion": device.get("FirmwareVersion"),
                            "health": _health(device)}, vendor=device.get("Manufacturer"), model=device.get("Model")))
    return parts
