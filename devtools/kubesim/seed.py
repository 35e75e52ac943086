"""Seeds: an O-RAN site on EKS-like infrastructure.

``demo``: a far-edge DU pool (two dual-port SR-IOV NICs, a FEC card, two disks, 1Gi hugepages, CPU-manager and AVX-512
labels), a regional CU pool of the same server model, and a general compute pool (amd64 and Graviton arm64); the DU
and CU servers' hardware as the operators publish it (devtools/kubesim/hardware.py); the usual namespaces plus
``oran-du``/``oran-cu``, the ArgoCD and Flux CRDs, and CoreDNS. ``empty``: the same namespaces and CRDs, no nodes.
``nodes=N`` replaces the pool sizes (half far-edge, half general) for benchmarks. Names and uids derive from the seed
name and the node index only, so ids stay stable across restarts.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from devtools.kubesim import hardware
from devtools.kubesim.cluster import Cluster
from devtools.kubesim.rbac import bootstrap_policy
from devtools.kubesim.resources import StoreKey

Obj = dict[str, Any]
NODES: StoreKey = ("", "nodes")
POOL_LABEL = "netweave.io/resource-pool"
FAR_EDGE, GENERAL, REGIONAL_CU = "far-edge-du", "general-compute", "regional-cu"
DEMO_POOL_SIZES = {FAR_EDGE: 12, GENERAL: 14, REGIONAL_CU: 4}
SERVER_POOLS = (FAR_EDGE, REGIONAL_CU)  # bare-metal RAN servers whose operators publish hardware objects
REGION = "us-east-1"
KUBELET = "v1.31.4-eks-aeac579"
GI = 1024 * 1024  # Ki per Gi
NAMESPACES = {
    "default": {}, "kube-system": {}, "kube-public": {}, "kube-node-lease": {},
    "oran-du": {"netweave.io/oran-function": "du"}, "oran-cu": {"netweave.io/oran-function": "cu"},
    "argocd": {}, "flux-system": {},
}
# (instance type, arch, cpus, memory Gi, max pods, zone list)
DU_TYPES = [("c6in.metal", "amd64", 128, 256), ("m5n.metal", "amd64", 96, 384), ("c6i.metal", "amd64", 128, 256)]
GENERAL_TYPES = [("m6i.2xlarge", "amd64", 8, 32), ("m7g.2xlarge", "arm64", 8, 32),
                 ("c7g.4xlarge", "arm64", 16, 32), ("r6i.xlarge", "amd64", 4, 32)]
CU_TYPES = [("c6i.metal", "amd64", 128, 256)]  # operators standardise: the DU pool's model serves the CUs too
DU_ZONES = ["us-east-1-nyc-1a"]  # the far-edge site: an AWS Local Zone in New York
GENERAL_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def stable_uid(seed: str, kind: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kubesim://{seed}/{kind}/{name}"))


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _ip(pool: str, index: int) -> str:
    second = {FAR_EDGE: 20, REGIONAL_CU: 30}.get(pool, 10)
    return f"10.{second + index // 62500}.{(index // 250) % 250}.{index % 250 + 4}"


def fec_model(variant: int) -> str:
    return "acc100" if variant % 3 else "acc200"


def hugepages_gi(pool: str) -> int:
    return {FAR_EDGE: 32, REGIONAL_CU: 16}.get(pool, 0)


def _resources(pool: str, cpus: int, mem_gi: int, variant: int) -> tuple[Obj, Obj]:
    server = pool in SERVER_POOLS
    capacity = {
        "cpu": str(cpus), "memory": f"{mem_gi * GI}Ki", "ephemeral-storage": f"{500 * GI}Ki",
        "pods": "250" if server else "58", "hugepages-2Mi": "0",
        "hugepages-1Gi": f"{hugepages_gi(pool)}Gi" if hugepages_gi(pool) else "0",
    }
    if server:
        capacity.update(hardware.sriov_resources(fronthaul=pool == FAR_EDGE))
    if pool == FAR_EDGE:
        capacity[f"intel.com/intel_fec_{fec_model(variant)}"] = str(hardware.FEC_VFS)
    allocatable = dict(capacity)
    reserved_cpu = 2 if server else 0.08 * cpus
    allocatable["cpu"] = str(cpus - 2) if server else f"{int(cpus * 1000 - reserved_cpu * 1000)}m"
    allocatable["memory"] = f"{(mem_gi - hugepages_gi(pool)) * GI - 1 * GI}Ki"  # hugepages are not allocatable memory
    allocatable["ephemeral-storage"] = str(int(500 * GI * 1024 * 0.9))
    return capacity, allocatable


def _labels(pool: str, name: str, itype: str, arch: str, zone: str, variant: int) -> dict[str, str]:
    labels = {
        "kubernetes.io/arch": arch, "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
        "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/instance-type": itype,
        "node.kubernetes.io/instance-type": itype,
        "topology.kubernetes.io/region": REGION, "topology.kubernetes.io/zone": zone,
        "failure-domain.beta.kubernetes.io/region": REGION, "failure-domain.beta.kubernetes.io/zone": zone,
        "eks.amazonaws.com/nodegroup": pool, "eks.amazonaws.com/capacityType": "ON_DEMAND",
        POOL_LABEL: pool, "node-role.kubernetes.io/worker": "",
    }
    if pool == FAR_EDGE:
        labels.update({
            "node-role.kubernetes.io/du": "", "cpumanager": "true",
            "feature.node.kubernetes.io/cpu-cpuid.AVX512F": "true",
            "feature.node.kubernetes.io/cpu-cpuid.AVX512BW": "true",
            "feature.node.kubernetes.io/network-sriov.capable": "true",
            "feature.node.kubernetes.io/kernel-config.PREEMPT_RT": "true",
            "feature.node.kubernetes.io/fec-accelerator": fec_model(variant),
            "ptp/grandmaster-capable": "true" if variant % 4 == 0 else "false",
        })
    if pool == REGIONAL_CU:
        labels.update({"node-role.kubernetes.io/cu": "",
                       "feature.node.kubernetes.io/network-sriov.capable": "true"})
    return labels


def _conditions(created: str, heartbeat: str) -> list[Obj]:
    specs = [("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
             ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
             ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
             ("Ready", "True", "KubeletReady", "kubelet is posting ready status")]
    conditions = [{"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated",
                   "message": "RouteController created a route", "lastHeartbeatTime": created,
                   "lastTransitionTime": created}]
    conditions += [{"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": heartbeat,
                    "lastTransitionTime": created} for t, s, r, m in specs]
    return conditions


def make_node(seed: str, pool: str, index: int, epoch: float) -> Obj:
    """One node of a pool; everything except timestamps is a pure function of (seed, pool, index)."""
    types, zones = {FAR_EDGE: (DU_TYPES, DU_ZONES), REGIONAL_CU: (CU_TYPES, GENERAL_ZONES[:2])}.get(
        pool, (GENERAL_TYPES, GENERAL_ZONES))
    itype, arch, cpus, mem_gi = types[index % len(types)]
    zone = zones[index % len(zones)]
    ip = _ip(pool, index)
    name = f"ip-{ip.replace('.', '-')}.ec2.internal"
    capacity, allocatable = _resources(pool, cpus, mem_gi, index)
    created, heartbeat = _stamp(epoch - 30 * 86400 + index), _stamp(epoch)
    machine = _hex(f"{seed}/machine/{name}", 32)
    kernel, os_image = (("5.15.0-1061-realtime", "Ubuntu 22.04.4 LTS") if pool in SERVER_POOLS else
                        (f"6.1.112-122.189.amzn2023.{'aarch64' if arch == 'arm64' else 'x86_64'}",
                         "Amazon Linux 2023.6.20241031"))
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": stable_uid(seed, "node", name), "creationTimestamp": created,
                     "labels": _labels(pool, name, itype, arch, zone, index),
                     "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                     "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"providerID": f"aws:///{zone}/i-0{_hex(f'{seed}/instance/{name}', 16)}"},
        "status": {
            "capacity": capacity, "allocatable": allocatable,
            "conditions": _conditions(created, heartbeat),
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name},
                          {"type": "InternalDNS", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": machine,
                         "systemUUID": f"ec2{machine[3:8]}-{machine[8:12]}-{machine[12:16]}-{machine[16:20]}-"
                                       f"{machine[20:32]}",
                         "bootID": stable_uid(seed, "boot", name), "kernelVersion": kernel, "osImage": os_image,
                         "containerRuntimeVersion": "containerd://1.7.23", "kubeletVersion": KUBELET,
                         "kubeProxyVersion": KUBELET, "operatingSystem": "linux", "architecture": arch},
        },
    }


def node_hardware(seed: str, pool: str, index: int, node: Obj) -> list[tuple[StoreKey, Obj]]:
    """The operators' objects describing a RAN server (devtools/kubesim/hardware.py); none for cloud VMs."""
    if pool not in SERVER_POOLS:
        return []
    name, status = node["metadata"]["name"], node["status"]
    cpus, memory_gi = int(status["capacity"]["cpu"]), int(status["capacity"]["memory"][:-2]) // GI
    devices = {k: v for k, v in status["capacity"].items() if "/" in k}
    objects = [(hardware.TOPOLOGY, hardware.topology(name, stable_uid(seed, "topology", name), cpus, 2, memory_gi,
                                                     hugepages_gi(pool), devices)),
               (hardware.SRIOV, hardware.sriov_state(seed, name, stable_uid(seed, "sriov", name), pool == FAR_EDGE)),
               (hardware.DISKS, hardware.disks(seed, name, stable_uid(seed, "disks", name)))]
    if pool == FAR_EDGE:
        objects.append((hardware.FEC, hardware.fec_config(name, stable_uid(seed, "fec", name), fec_model(index))))
    return [((kind[0], kind[2]), obj) for kind, obj in objects]


def seed_nodes(cluster: Cluster, seed: str, sizes: dict[str, int]) -> None:
    epoch = time.time()
    for pool, count in sizes.items():
        for index in range(count):
            # Direct store writes: seeding thousands of nodes must take seconds, not run every API check.
            node = make_node(seed, pool, index, epoch)
            cluster.store.write(NODES, node)
            for key, obj in node_hardware(seed, pool, index, node):
                cluster.store.write(key, obj)


def _crd(group: str, plural: str, kind: str, versions: list[str], short: list[str], status: bool) -> Obj:
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List",
                           "shortNames": short},
                 "versions": [{"name": v, "served": True, "storage": i == 0, "schema": schema,
                               **({"subresources": {"status": {}}} if status else {})}
                              for i, v in enumerate(versions)]},
    }


CRDS = [
    _crd("argoproj.io", "applications", "Application", ["v1alpha1"], ["app", "apps"], True),
    _crd("argoproj.io", "appprojects", "AppProject", ["v1alpha1"], ["appproj", "appprojs"], False),
    _crd("helm.toolkit.fluxcd.io", "helmreleases", "HelmRelease", ["v2", "v2beta2"], ["hr"], True),
    _crd("source.toolkit.fluxcd.io", "helmrepositories", "HelmRepository", ["v1", "v1beta2"], ["helmrepo"], True),
    _crd("source.toolkit.fluxcd.io", "ocirepositories", "OCIRepository", ["v1beta2", "v1"], ["ocirepo"], True),
    _crd("source.toolkit.fluxcd.io", "gitrepositories", "GitRepository", ["v1", "v1beta2"], ["gitrepo"], True),
]


def _create(cluster: Cluster, group: str, plural: str, namespace: str | None, body: Obj) -> None:
    cluster.create(cluster.resource(group, plural), namespace, body)


def seed_base(cluster: Cluster, seed: str) -> None:
    for key, obj in bootstrap_policy():  # the API server's default roles: cluster-admin, discovery, basic-user
        _create(cluster, *key, None, obj)
    for name, labels in NAMESPACES.items():
        _create(cluster, "", "namespaces", None, {"metadata": {"name": name, "labels": dict(labels)}})
    for name in hardware.NAMESPACES:
        _create(cluster, "", "namespaces", None, {"metadata": {"name": name}})
    for crd in [*CRDS, *hardware.crds()]:
        _create(cluster, "apiextensions.k8s.io", "customresourcedefinitions", None, crd)
    _create(cluster, "", "services", "default", {
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.100.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 443}]}})


def seed_coredns(cluster: Cluster) -> None:
    labels = {"k8s-app": "kube-dns"}
    container = {"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3", "args": ["-conf",
                 "/etc/coredns/Corefile"], "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}
    _create(cluster, "apps", "deployments", "kube-system", {
        "metadata": {"name": "coredns", "labels": {**labels, "eks.amazonaws.com/component": "coredns"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [container],
                                       "nodeSelector": {POOL_LABEL: GENERAL}}}}})
    _create(cluster, "", "services", "kube-system", {
        "metadata": {"name": "kube-dns", "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}})


def seed_cluster(cluster: Cluster, seed: str = "demo", nodes: int | None = None) -> None:
    if seed not in ("demo", "empty"):
        raise ValueError(f"unknown seed {seed!r} (known: demo, empty)")
    seed_base(cluster, seed)
    if seed == "empty" and not nodes:
        return
    sizes = dict(DEMO_POOL_SIZES) if not nodes else {FAR_EDGE: nodes // 2, GENERAL: nodes - nodes // 2}
    seed_nodes(cluster, seed, sizes)
    seed_coredns(cluster)
