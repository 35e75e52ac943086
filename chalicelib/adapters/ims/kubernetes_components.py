"""A node's hardware at placement granularity (docs/kubernetes-backend.md "Child resources"), as pure functions over
the API server's JSON: the node's capacity plus the objects the hardware operators publish per node.

- NUMA zones: Node Resource Topology (`topology.node.k8s.io/v1alpha2` `noderesourcetopologies`, written by NFD's
  topology updater or the resource topology exporter);
- NICs, ports, VFs and resource names: the SR-IOV network operator (`sriovnetwork.openshift.io/v1`
  `sriovnetworknodestates`);
- FEC accelerator cards: the SR-IOV FEC operator (`sriovfec.intel.com/v2` `sriovfecnodeconfigs`);
- disks: the local storage operator (`local.storage.openshift.io/v1alpha1` `localvolumediscoveryresults`).

A cluster without one of them keeps what the node itself says: capacity entries become components as before (the
node's `cpu` when no topology is published, an extended resource no NIC port or card accounts for).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from chalicelib.domain.inventory import ResourceClass

Doc = Mapping[str, Any]
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {s: Decimal(10) ** p for s, p in zip("numkMGTPE", (-9, -6, -3, 3, 6, 9, 12, 15, 18), strict=True)}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DASHES = re.compile(r"-{2,}")


@dataclass(frozen=True)
class HardwareSource:
    field: str  # the Hardware attribute it fills
    group: str
    version: str
    plural: str


HARDWARE_SOURCES = (
    HardwareSource("topology", "topology.node.k8s.io", "v1alpha2", "noderesourcetopologies"),
    HardwareSource("sriov", "sriovnetwork.openshift.io", "v1", "sriovnetworknodestates"),
    HardwareSource("fec", "sriovfec.intel.com", "v2", "sriovfecnodeconfigs"),
    HardwareSource("disks", "local.storage.openshift.io", "v1alpha1", "localvolumediscoveryresults"),
)
# PCI ids of the parts RAN servers carry, for readable vendors and models; others show as their hex ids.
_PCI_VENDORS = {"8086": "Intel", "15b3": "NVIDIA Mellanox", "14e4": "Broadcom", "10de": "NVIDIA", "1077": "QLogic",
                "1924": "AMD Solarflare", "1dd8": "AMD Pensando"}
_PCI_MODELS = {("8086", "159b"): "E810-XXV", ("8086", "1593"): "E810-C", ("8086", "1592"): "E810-C",
               ("8086", "158b"): "XXV710", ("8086", "1572"): "X710", ("8086", "1889"): "Adaptive VF",
               ("15b3", "101d"): "ConnectX-6 Dx", ("15b3", "1017"): "ConnectX-5", ("15b3", "1021"): "ConnectX-7",
               ("8086", "0d5c"): "ACC100", ("8086", "57c0"): "ACC200", ("8086", "0d8f"): "N3000 FEC"}

_KIND_TITLES = {"numa-node": "NUMA node", "sriov-nic": "SR-IOV NIC", "sriov-nic-port": "SR-IOV NIC port",
                "fec-accelerator": "FEC accelerator card", "disk": "disk"}


def wire_name(*parts: str) -> str:
    """A name usable unquoted in a filter (docs/o2-conventions.md §2 "Names"): parts joined by `-`, every run of
    characters other than letters, digits, `.`, `_` and `-` replaced by `-`, runs of `-` collapsed to one."""
    return _DASHES.sub("-", _UNSAFE.sub("-", "-".join(parts))).strip("-") or "unnamed"


@lru_cache(maxsize=4096)  # nodes of one shape repeat the same few strings thousands of times
def parse_quantity(text: str) -> Decimal | None:
    """A Kubernetes quantity ("64", "3920m", "256Gi", "1e3") as a number, or None when it is not one."""
    match = _QUANTITY.fullmatch(text.strip())
    if not match:
        return None
    try:
        number = Decimal(match[1])
    except InvalidOperation:
        return None
    if match[2]:
        return number * Decimal(10) ** int(match[2][1:])
    suffix = match[3] or ""
    return number * (_BINARY.get(suffix) or _DECIMAL.get(suffix) or 1)


def json_number(value: Decimal) -> int | float:
    """Integral values as int (byte and device counts stay exact), fractions of cores as float."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Component:
    key: str  # the capacity key: "cpu", "hugepages-1Gi", "intel.com/intel_fec_acc100"
    category: str  # cpu | memory | hugepages | storage | gpu | accelerator | network | device
    unit: str  # cores | bytes | devices
    resource_class: ResourceClass

    @property
    def title(self) -> str:
        """"accelerator intel.com/intel_fec_acc100", but plain "cpu" or "hugepages-1Gi" where the key says it all."""
        return self.key if self.category in self.key else f"{self.category} {self.key}"


_CORE_COMPONENTS = {"cpu": ("cpu", "cores", ResourceClass.COMPUTE),
                    "memory": ("memory", "bytes", ResourceClass.COMPUTE),
                    "ephemeral-storage": ("storage", "bytes", ResourceClass.STORAGE)}
# Extended resources carry no kind; their names do, by convention (nvidia.com/gpu, intel.com/intel_fec_acc100,
# openshift.io/sriov_fh_nic). The first matching hint wins; anything else is a generic device.
_EXTENDED_HINTS = (
    ("gpu", ("gpu", "nvidia.com/mig-"), ResourceClass.COMPUTE),
    ("accelerator", ("fec", "acc1", "acc2", "qat", "dlb", "dsa", "fpga", "vran"), ResourceClass.COMPUTE),
    ("network", ("sriov", "nic", "netdevice", "rdma", "_vf", "vdpa"), ResourceClass.NETWORKING),
)


@lru_cache(maxsize=1024)
def classify(key: str) -> Component | None:
    """Which capacity keys are components: CPU, memory, hugepages, ephemeral storage and every extended resource
    (a domain-prefixed name). `pods` and legacy `attachable-volumes-*` limits describe the kubelet, not hardware."""
    if key in _CORE_COMPONENTS:
        return Component(key, *_CORE_COMPONENTS[key])
    if key.startswith("hugepages-"):
        return Component(key, "hugepages", "bytes", ResourceClass.COMPUTE)
    if "/" not in key or key.startswith("kubernetes.io/"):
        return None
    lowered = key.lower()
    category, resource_class = next(((name, rc) for name, hints, rc in _EXTENDED_HINTS
                                     if any(hint in lowered for hint in hints)), ("device", ResourceClass.COMPUTE))
    return Component(key, category, "devices", resource_class)


@dataclass(frozen=True)
class Hardware:
    """The operators' objects about one node; None where that operator is not installed or has not reported."""

    topology: Doc | None = None
    sriov: Doc | None = None
    fec: Doc | None = None
    disks: Doc | None = None


def index_hardware(objects: Mapping[str, Iterable[Doc]]) -> dict[str, Hardware]:
    """Operator objects (by Hardware field name) per node name: `spec.nodeName` where the object has one (disk
    discovery results), else the object's name (the other three name their objects after the node)."""
    found: dict[str, dict[str, Doc]] = {}
    for kind, items in objects.items():
        for item in items:
            name = (item.get("spec") or {}).get("nodeName") or (item.get("metadata") or {}).get("name")
            if name:
                found.setdefault(str(name), {})[kind] = item
    return {name: Hardware(**kinds) for name, kinds in found.items()}


@dataclass(frozen=True)
class Part:
    """One component of a node: a child resource of its own resource type."""

    identity: str  # unique within the node and stable: part of the resource id (capacity key, "nic/<pci>", …)
    kind: str  # the resource type within the node type: "numa-node", "sriov-nic", "hugepages-1Gi", …
    category: str
    resource_class: ResourceClass
    title: str  # for descriptions: "SR-IOV NIC 0000:51:00 (Intel E810-XXV)"
    fields: dict[str, Any]  # extensions
    parent: str | None = None  # identity of the enclosing part (a port's NIC); None: the node
    vendor: str | None = None  # None: the node type's vendor
    model: str | None = None
    elements: tuple[str, ...] = field(default=())

    @property
    def type_title(self) -> str:
        """What every part of this kind is, for its resource type's description."""
        return _KIND_TITLES.get(self.kind, self.title)


def quantity_fields(key: str, capacity: Mapping[str, Any], allocatable: Mapping[str, Any]) -> dict[str, Any]:
    """Kubernetes strings as the cluster reports them, plus numbers (cores, bytes, devices) filters can compare."""
    fields: dict[str, Any] = {}
    for kind, quantities in (("capacity", capacity), ("allocatable", allocatable)):
        if (text := quantities.get(key)) is not None:
            fields[kind] = str(text)
            if (value := parse_quantity(str(text))) is not None:
                fields[f"{kind}Value"] = json_number(value)
    return fields


def _items(doc: Doc | None, *path: str) -> list[Mapping[str, Any]]:
    value: Any = doc
    for step in path:
        value = value.get(step) if isinstance(value, dict) else None
    return [item for item in value or [] if isinstance(item, dict)] if isinstance(value, list) else []


def _pci(vendor: Any, device: Any) -> tuple[str, str, str]:
    """(vendor id, device id, "Intel E810-XXV") from PCI ids as the operators report them (hex strings)."""
    vendor_id, device_id = str(vendor or "").lower(), str(device or "").lower()
    model = _PCI_MODELS.get((vendor_id, device_id), f"{vendor_id}:{device_id}")
    return vendor_id, device_id, model


def _numa_parts(topology: Doc | None) -> list[Part]:
    parts = []
    for zone in sorted(_items(topology, "zones"), key=lambda z: str(z.get("name"))):
        if zone.get("type") != "Node" or not zone.get("name"):
            continue
        name = str(zone["name"])
        resources: dict[str, dict[str, Any]] = {}
        for entry in _items(zone, "resources"):
            values = {k: str(entry[k]) for k in ("capacity", "allocatable", "available") if entry.get(k) is not None}
            numbers = {f"{k}Value": json_number(q) for k, v in values.items() if (q := parse_quantity(v)) is not None}
            resources[str(entry.get("name"))] = {**values, **numbers}
        index = name.rpartition("-")[2]
        fields = {"category": "cpu", "numaNode": int(index) if index.isdigit() else name, "zone": name,
                  "resources": dict(sorted(resources.items())),
                  "costs": {str(c.get("name")): c.get("value") for c in _items(zone, "costs")}}
        parts.append(Part(f"numa/{name}", "numa-node", "cpu", ResourceClass.COMPUTE, f"NUMA node {name}", fields))
    return parts


def _resource_name(name: str, capacity: Mapping[str, Any]) -> str:
    """The extended resource a device plugin advertises for an operator's bare resource name (the operator adds
    its configured prefix, `openshift.io` by default): the capacity key that ends in it, else the bare name."""
    return next((key for key in sorted(capacity) if key.endswith(f"/{name}")), name)


def _nic_parts(sriov: Doc | None, capacity: Mapping[str, Any]) -> list[Part]:
    groups = {str(i.get("pciAddress")): _items(i, "vfGroups") for i in _items(sriov, "spec", "interfaces")}
    ports: dict[str, list[Part]] = {}
    cards: dict[str, tuple[str, str, str, str]] = {}
    for port in sorted(_items(sriov, "status", "interfaces"), key=lambda p: str(p.get("pciAddress"))):
        pci = str(port.get("pciAddress") or "")
        if not pci:
            continue
        bus = pci.rpartition(".")[0] or pci  # functions of one device are the ports of one card
        vendor_id, device_id, model = _pci(port.get("vendor"), port.get("deviceID"))
        cards.setdefault(bus, (vendor_id, device_id, model, str(port.get("driver") or "")))
        names = sorted({_resource_name(str(g["resourceName"]), capacity) for g in groups.get(pci, [])
                        if g.get("resourceName")})
        fields = {"category": "network", "interface": port.get("name"), "pciAddress": pci, "nic": bus,
                  "mac": port.get("mac"), "linkSpeed": port.get("linkSpeed"), "linkType": port.get("linkType"),
                  "mtu": port.get("mtu"), "driver": port.get("driver"), "vfCount": int(port.get("numVfs") or 0),
                  "maxVfs": int(port.get("totalvfs") or 0), "resourceNames": names,
                  **({"resourceName": names[0]} if len(names) == 1 else {})}
        title = f"port {port.get('name') or pci} ({pci})"
        ports.setdefault(bus, []).append(Part(
            f"port/{pci}", "sriov-nic-port", "network", ResourceClass.NETWORKING, title,
            {k: v for k, v in fields.items() if v is not None}, parent=f"nic/{bus}",
            vendor=_PCI_VENDORS.get(vendor_id, vendor_id), model=f"{model} port"))
    parts: list[Part] = []
    for bus, (vendor_id, device_id, model, driver) in sorted(cards.items()):
        vendor = _PCI_VENDORS.get(vendor_id, vendor_id)
        fields = {"category": "network", "pciAddress": bus, "vendorId": vendor_id, "deviceId": device_id,
                  "vendor": vendor, "model": model, "driver": driver, "portCount": len(ports[bus]),
                  "vfCount": sum(int(p.fields["vfCount"]) for p in ports[bus])}
        parts.append(Part(f"nic/{bus}", "sriov-nic", "network", ResourceClass.NETWORKING,
                          f"SR-IOV NIC {bus} ({vendor} {model})", fields, vendor=vendor, model=model,
                          elements=tuple(p.identity for p in ports[bus])))
        parts += ports[bus]
    return parts


def _fec_parts(fec: Doc | None, capacity: Mapping[str, Any]) -> list[Part]:
    parts = []
    fec_keys = sorted(key for key in capacity if "fec" in key.lower())
    for card in sorted(_items(fec, "status", "inventory", "sriovAccelerators"), key=lambda c: str(c.get("pciAddress"))):
        if not card.get("pciAddress"):
            continue
        vendor_id, device_id, model = _pci(card.get("vendorID"), card.get("deviceID"))
        vendor = _PCI_VENDORS.get(vendor_id, vendor_id)
        # The FEC operator's device plugin names its pools after the card (intel_fec_acc100, intel_fec_acc200).
        only = fec_keys[0] if len(fec_keys) == 1 else None
        resource = next((k for k in fec_keys if model.lower() in k.lower()), only)
        fields = {"category": "accelerator", "pciAddress": card["pciAddress"], "vendorId": vendor_id,
                  "deviceId": device_id, "vendor": vendor, "model": model, "driver": card.get("driver"),
                  "maxVfs": int(card.get("maxVirtualFunctions") or 0),
                  "vfCount": len(_items(card, "virtualFunctions")), "resourceName": resource}
        parts.append(Part(f"accelerator/{card['pciAddress']}", "fec-accelerator", "accelerator",
                          ResourceClass.COMPUTE, f"FEC accelerator {card['pciAddress']} ({vendor} {model})",
                          {k: v for k, v in fields.items() if v is not None}, vendor=vendor, model=model))
    return parts


def _disk_parts(disks: Doc | None) -> list[Part]:
    parts = []
    for disk in _items(disks, "status", "discoveredDevices"):
        identity = str(disk.get("serial") or disk.get("deviceID") or disk.get("path") or "")
        if disk.get("type") != "disk" or not identity:
            continue
        size = disk.get("size")
        fields = {"category": "storage", "path": disk.get("path"), "deviceId": disk.get("deviceID"),
                  "model": disk.get("model"), "vendor": disk.get("vendor"), "serial": disk.get("serial"),
                  "sizeBytes": size if isinstance(size, int) else None, "property": disk.get("property"),
                  "state": (disk.get("status") or {}).get("state")}
        parts.append(Part(f"disk/{identity}", "disk", "storage", ResourceClass.STORAGE,
                          f"disk {disk.get('path') or identity} ({disk.get('model') or 'unknown model'})",
                          {k: v for k, v in fields.items() if v is not None},
                          vendor=str(disk.get("vendor") or "") or None, model=str(disk.get("model") or "") or None))
    return sorted(parts, key=lambda p: p.identity)


def node_parts(capacity: Mapping[str, Any], allocatable: Mapping[str, Any], components: Iterable[Component],
               hardware: Hardware | None) -> tuple[Part, ...]:
    """Every component of one node: NUMA nodes, NICs and their ports, FEC cards and disks from the operators'
    objects, then the capacity entries they do not already describe (docs/kubernetes-backend.md)."""
    hardware = hardware or Hardware()
    numa = _numa_parts(hardware.topology)
    devices = [*_nic_parts(hardware.sriov, capacity), *_fec_parts(hardware.fec, capacity)]
    explained = {name for p in devices for name in (p.fields.get("resourceNames") or [p.fields.get("resourceName")])}
    from_capacity = [
        Part(c.key, c.key, c.category, c.resource_class, c.title,
             {"component": c.key, "category": c.category, "unit": c.unit, **quantity_fields(c.key, capacity,
                                                                                           allocatable)},
             vendor=c.key.rpartition("/")[0] or None, model=c.key.rpartition("/")[2] if "/" in c.key else None)
        for c in components if not (c.key == "cpu" and numa) and c.key not in explained
    ]
    return (*numa, *from_capacity, *devices, *_disk_parts(hardware.disks))
