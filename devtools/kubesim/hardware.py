"""The demo site's hardware as the operators of a real RAN cluster publish it, one object per node and operator.

- Node Resource Topology (`topology.node.k8s.io/v1alpha2` NodeResourceTopology, cluster scope, named after the node,
  written by NFD's topology updater or the RTE): the NUMA zones with their CPU, memory, hugepages and devices.
- SR-IOV network operator (`sriovnetwork.openshift.io/v1` SriovNetworkNodeState in `sriov-network-operator`, named
  after the node): every SR-IOV capable port in `status.interfaces`, the VF groups and resource names in `spec`.
- SR-IOV FEC operator (`sriovfec.intel.com/v2` SriovFecNodeConfig in `vran-acceleration-operators`, named after the
  node): the FEC cards in `status.inventory.sriovAccelerators`.
- Local storage operator (`local.storage.openshift.io/v1alpha1` LocalVolumeDiscoveryResult in
  `openshift-local-storage`, `spec.nodeName`): the node's disks in `status.discoveredDevices`.

Everything is a function of the seed, the node name and the node's shape, so objects are the same on every start.
"""

from __future__ import annotations

import hashlib
from typing import Any

Obj = dict[str, Any]
GI = 2**30
# (group, version, plural, kind, namespace or None for cluster scope)
TOPOLOGY = ("topology.node.k8s.io", "v1alpha2", "noderesourcetopologies", "NodeResourceTopology", None)
SRIOV = ("sriovnetwork.openshift.io", "v1", "sriovnetworknodestates", "SriovNetworkNodeState",
         "sriov-network-operator")
FEC = ("sriovfec.intel.com", "v2", "sriovfecnodeconfigs", "SriovFecNodeConfig", "vran-acceleration-operators")
DISKS = ("local.storage.openshift.io", "v1alpha1", "localvolumediscoveryresults", "LocalVolumeDiscoveryResult",
         "openshift-local-storage")
KINDS = (TOPOLOGY, SRIOV, FEC, DISKS)
NAMESPACES = sorted({kind[4] for kind in KINDS if kind[4]})
# Intel E810-XXV (ice): two dual-port cards. The first carries fronthaul, the second midhaul; each on its own socket.
NIC_CARDS = (("0000:51:00", 0, "sriov_fh_nic", 4, "ens1f"), ("0000:8a:00", 1, "sriov_mh_nic", 8, "ens2f"))
FEC_CARDS = {"acc100": ("0d5c", "0d5d"), "acc200": ("57c0", "57c1")}
RESOURCE_PREFIX = "openshift.io"  # the SR-IOV network operator's default resourcePrefix
FEC_VFS = 16


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _meta(kind: tuple[str, str, str, str, str | None], name: str, uid: str) -> Obj:
    group, version, _, kind_name, namespace = kind
    metadata: Obj = {"name": name, "uid": uid, "creationTimestamp": "2026-01-05T08:00:00Z", "generation": 1}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": f"{group}/{version}", "kind": kind_name, "metadata": metadata}


def sriov_resources(fronthaul: bool) -> dict[str, str]:
    """The device plugin's extended resources for the node's VFs (capacity = allocatable)."""
    cards = NIC_CARDS if fronthaul else NIC_CARDS[1:]
    return {f"{RESOURCE_PREFIX}/{resource}": str(2 * vfs) for _, _, resource, vfs, _ in cards}


def topology(name: str, uid: str, cpus: int, reserved_cpus: int, memory_gi: int, hugepages_gi: int,
             devices: dict[str, str]) -> Obj:
    """Two NUMA zones splitting CPUs, memory and hugepages evenly; each NIC's VFs on its card's zone, FEC on 0."""
    zones = []
    for numa in (0, 1):
        local = {key: value for key, value in devices.items()
                 if ("fec" in key and numa == 0) or any(key.endswith(res) and numa == card_numa
                                                         for _, card_numa, res, _, _ in NIC_CARDS)}
        cpu_free = (cpus - reserved_cpus) // 2
        resources = [{"name": "cpu", "capacity": str(cpus // 2), "allocatable": str(cpu_free),
                      "available": str(cpu_free)},
                     {"name": "memory", "capacity": str(memory_gi // 2 * GI),
                      "allocatable": str((memory_gi - hugepages_gi) // 2 * GI - GI // 2),
                      "available": str((memory_gi - hugepages_gi) // 2 * GI - GI // 2)}]
        if hugepages_gi:
            hugepages = str(hugepages_gi // 2 * GI)
            resources.append({"name": "hugepages-1Gi", "capacity": hugepages, "allocatable": hugepages,
                              "available": hugepages})
        resources += [{"name": key, "capacity": value, "allocatable": value, "available": value}
                      for key, value in sorted(local.items())]
        zones.append({"name": f"node-{numa}", "type": "Node", "resources": resources,
                      "costs": [{"name": "node-0", "value": 10 if numa == 0 else 21},
                                {"name": "node-1", "value": 21 if numa == 0 else 10}]})
    return {**_meta(TOPOLOGY, name, uid), "topologyPolicies": ["SingleNUMANodeContainerLevel"],
            "attributes": [{"name": "topologyManagerPolicy", "value": "single-numa-node"},
                           {"name": "topologyManagerScope", "value": "container"}],
            "zones": zones}


def sriov_state(seed: str, name: str, uid: str, fronthaul: bool) -> Obj:
    spec_interfaces, status_interfaces = [], []
    for bus, _, resource, vfs, prefix in NIC_CARDS if fronthaul else NIC_CARDS[1:]:
        for function in (0, 1):
            pci, port = f"{bus}.{function}", f"{prefix}{function}"
            mac = ":".join(["b4", "96", "91", *(_hex(f"{seed}/{name}/{pci}", 6)[i:i + 2] for i in (0, 2, 4))])
            spec_interfaces.append({"name": port, "pciAddress": pci, "numVfs": vfs, "mtu": 9000,
                                    "vfGroups": [{"resourceName": resource, "deviceType": "vfio-pci",
                                                  "vfRange": f"0-{vfs - 1}", "policyName": f"{resource}-policy"}]})
            status_interfaces.append({
                "name": port, "pciAddress": pci, "vendor": "8086", "deviceID": "159b", "driver": "ice", "mtu": 9000,
                "mac": mac, "linkSpeed": "25000 Mb/s", "linkType": "ETH", "linkAdminState": "up",
                "eSwitchMode": "legacy", "numVfs": vfs, "totalvfs": 64,
                "Vfs": [{"vfID": vf, "pciAddress": f"{bus[:-2]}{int(bus[-2:], 16) + 1:02x}.{vf}",
                         "vendor": "8086", "deviceID": "1889", "driver": "vfio-pci", "mtu": 9000}
                        for vf in range(vfs)]})
    return {**_meta(SRIOV, name, uid), "spec": {"interfaces": spec_interfaces},
            "status": {"syncStatus": "Succeeded", "interfaces": status_interfaces}}


def fec_config(name: str, uid: str, model: str) -> Obj:
    device, vf_device = FEC_CARDS[model]
    accelerator = {"vendorID": "8086", "deviceID": device, "pciAddress": "0000:f7:00.0", "driver": "vfio-pci",
                   "maxVirtualFunctions": FEC_VFS,
                   "virtualFunctions": [{"pciAddress": f"0000:f7:00.{vf + 1}" if vf < 7 else f"0000:f7:01.{vf - 7}",
                                         "driver": "vfio-pci", "deviceID": vf_device} for vf in range(FEC_VFS)]}
    return {**_meta(FEC, name, uid),
            "spec": {"physicalFunctions": [{"pciAddress": "0000:f7:00.0", "pfDriver": "vfio-pci",
                                            "vfDriver": "vfio-pci", "vfAmount": FEC_VFS}]},
            "status": {"syncStatus": "Succeeded", "inventory": {"sriovAccelerators": [accelerator]}}}


def disks(seed: str, name: str, uid: str) -> Obj:
    devices = []
    for index, (model, size_gb) in enumerate((("Dell Ent NVMe v2 AGN RI U.2 480GB", 480),
                                              ("Dell Ent NVMe v2 AGN RI U.2 3.84TB", 3840))):
        serial = f"S6C{_hex(f'{seed}/{name}/disk{index}', 9).upper()}"
        devices.append({"deviceID": f"/dev/disk/by-id/nvme-Dell_Ent_NVMe_{serial}", "path": f"/dev/nvme{index}n1",
                        "model": model, "vendor": "Samsung", "serial": serial, "size": size_gb * 10**9,
                        "type": "disk", "property": "NonRotational", "fstype": "xfs" if index == 0 else "",
                        "status": {"state": "NotAvailable" if index == 0 else "Available"}})
    body = {**_meta(DISKS, f"discovery-result-{name}", uid), "spec": {"nodeName": name}}
    return {**body, "status": {"discoveredTimeStamp": "2026-01-05T08:00:00Z", "discoveredDevices": devices}}


def crds() -> list[Obj]:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return [{
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced" if namespace else "Cluster",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
                 "versions": [{"name": version, "served": True, "storage": True, "schema": schema,
                               "subresources": {"status": {}}}]},
    } for group, version, plural, kind, namespace in KINDS]
