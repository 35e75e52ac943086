"""The Node a managed EKS node group's instance registers, as its kubelet would: shaped by the EC2 instance type.

Pure functions of the node group, the instance type's `describe_instance_types` entry and the node's index, used by
the node-group controller (devtools/kubesim/controllers/nodegroups.py). The numbers follow what EKS's AMIs compute:
- `pods`: the VPC CNI's limit, ENIs x (IPv4 addresses per ENI - 1) + 2, capped at 110 below 30 vCPUs and 250 above
  (EKS's max-pods calculator);
- allocatable CPU and memory: capacity minus kube-reserved (CPU: 6% of the first core, 1% of the second, 0.5% of the
  next two, 0.25% of the rest; memory: 255 MiB + 11 MiB per pod) and the 100 MiB hard eviction threshold;
- bare-metal types (the RAN servers' shape) boot with 1 GiB hugepages, an eighth of their memory, as the seed's DU
  servers do, and publish their NUMA topology (devtools/kubesim/hardware.py);
- a launch template whose kubelet config sets `cpuManagerPolicy: static` (what netweave's `cpuPinning` creates,
  docs/aws-backend.md) makes the kubelet reserve CPUs for the static CPU manager: the node says so in its labels.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from devtools.kubesim import hardware

Obj = dict[str, Any]
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
LAUNCHED_BY = "kubesim.netweave.io/launched-by"  # annotation: this controller owns the node
CPU_MANAGER_LABEL = "cpumanager"  # the label the seed's pinned DU nodes carry (devtools/kubesim/seed.py)
MI = 1024 * 1024
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def max_pods(info: Obj) -> int:
    network = info.get("NetworkInfo", {})
    enis, addresses = int(network.get("MaximumNetworkInterfaces", 3)), int(network.get("Ipv4AddressesPerInterface", 10))
    cap = 250 if int(info.get("VCpuInfo", {}).get("DefaultVCpus", 2)) >= 30 else 110
    return min(enis * (addresses - 1) + 2, cap)


def reserved_millicores(cpus: int) -> int:
    steps = ((1, 60), (1, 10), (2, 5))  # (cores, millicores reserved per core)
    reserved, left = 0.0, cpus
    for cores, per in steps:
        used = min(left, cores)
        reserved, left = reserved + used * per, left - used
    return int(reserved + left * 2.5)


def is_metal(instance_type: str, info: Obj) -> bool:
    return bool(info.get("BareMetal")) or instance_type.partition(".")[2].startswith("metal")


def hugepages_gi(instance_type: str, info: Obj) -> int:
    memory_gi = int(info.get("MemoryInfo", {}).get("SizeInMiB", 0)) // 1024
    return memory_gi // 8 if is_metal(instance_type, info) else 0


def resources(instance_type: str, info: Obj) -> tuple[Obj, Obj]:
    cpus = int(info.get("VCpuInfo", {}).get("DefaultVCpus", 2))
    memory_mi = int(info.get("MemoryInfo", {}).get("SizeInMiB", 4096))
    pods = max_pods(info)
    huge = hugepages_gi(instance_type, info)
    capacity = {"cpu": str(cpus), "memory": f"{memory_mi * 1024}Ki", "pods": str(pods),
                "ephemeral-storage": f"{20 * 1024 * 1024}Ki", "hugepages-2Mi": "0",
                "hugepages-1Gi": f"{huge}Gi" if huge else "0"}
    reserved_mi = 255 + 11 * pods + 100 + huge * 1024  # hugepages are not allocatable memory
    allocatable = {**capacity, "cpu": f"{cpus * 1000 - reserved_millicores(cpus)}m",
                   "memory": f"{(memory_mi - reserved_mi) * 1024}Ki",
                   "ephemeral-storage": str(int(20 * 1024 * MI * 0.9))}
    return capacity, allocatable


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def ready_condition(ready: bool) -> Obj:
    stamp = _stamp()
    return {"type": "Ready", "status": "True" if ready else "False",
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status" if ready else
            "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
            "message:Network plugin returns error: cni plugin not initialized",
            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}


def node_name(cluster: str, group: str, index: int) -> tuple[str, str]:
    """(name, private IP) of the group's index-th instance: stable, so a restart finds the same names."""
    digest = hashlib.sha256(f"{cluster}/{group}/{index}".encode()).digest()
    ip = f"10.{64 + digest[0] % 64}.{digest[1]}.{digest[2] % 250 + 4}"
    return f"ip-{ip.replace('.', '-')}.ec2.internal", ip


def make_node(cluster: str, group: Obj, info: Obj, zone: str, index: int, cpu_pinning: bool) -> Obj:
    """A NotReady Node of `group` (describe_nodegroup's document); `zone` is its subnet's availability zone."""
    instance_type = group.get("instanceTypes", ["t3.medium"])[0]
    name, ip = node_name(cluster, group["nodegroupName"], index)
    arch = "arm64" if "arm64" in info.get("ProcessorInfo", {}).get("SupportedArchitectures", []) else "amd64"
    region = zone[:-1] if zone[-1:].isalpha() else zone
    labels = {
        "kubernetes.io/arch": arch, "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
        "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance_type, "beta.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/region": region, "topology.kubernetes.io/zone": zone,
        NODEGROUP_LABEL: group["nodegroupName"], "eks.amazonaws.com/capacityType": group.get("capacityType",
                                                                                              "ON_DEMAND"),
        "eks.amazonaws.com/nodegroup-image": f"ami-{hashlib.sha256(instance_type.encode()).hexdigest()[:17]}",
        **(group.get("labels") or {}),
    }
    if cpu_pinning:
        labels[CPU_MANAGER_LABEL] = "true"
    capacity, allocatable = resources(instance_type, info)
    instance = "i-0" + hashlib.sha256(f"{cluster}/{name}".encode()).hexdigest()[:16]
    taints = [{"key": t["key"], "value": t.get("value", ""), "effect": _EFFECTS.get(t.get("effect", ""), "NoSchedule")}
              for t in group.get("taints") or []]
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {LAUNCHED_BY: "nodegroups"}},
        "spec": {"providerID": f"aws:///{zone}/{instance}", **({"taints": taints} if taints else {})},
        "status": {"capacity": capacity, "allocatable": allocatable, "conditions": [ready_condition(False)],
                   "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name},
                                 {"type": "InternalDNS", "address": name}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "nodeInfo": {"architecture": arch, "operatingSystem": "linux", "kubeletVersion": "v1.31.4-eks",
                                "containerRuntimeVersion": "containerd://1.7.23",
                                "osImage": "Amazon Linux 2023", "kernelVersion": "6.1.112-122.189.amzn2023"}},
    }


def topology(node: Obj, instance_type: str, info: Obj) -> Obj | None:
    """The NodeResourceTopology a bare-metal node's topology updater publishes; None for virtual machines."""
    if not is_metal(instance_type, info):
        return None
    cpus = int(info.get("VCpuInfo", {}).get("DefaultVCpus", 2))
    memory_gi = int(info.get("MemoryInfo", {}).get("SizeInMiB", 0)) // 1024
    name = node["metadata"]["name"]
    return hardware.topology(name, node["metadata"].get("uid", name), cpus, 2, memory_gi,
                             hugepages_gi(instance_type, info), {})
