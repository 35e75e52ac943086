"""Kubernetes nodes → O2ims objects (docs/o2-conventions.md §2), as pure functions over the API server's JSON
(plain dicts).

No client and no I/O here, so the whole mapping is unit-testable on hand-written node dicts. Every document is a
function of the cluster's state alone, independent of list order, so an unchanged cluster maps to identical documents
and the poller writes nothing: volatile fields (condition heartbeats) are dropped and every aggregate is sorted.
docs/kubernetes-backend.md explains the mapping for operators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from chalicelib.adapters.ims.kubernetes_alarms import alarm_dictionary
from chalicelib.domain.inventory import (
    AlarmDictionary,
    DeploymentManager,
    InventoryObject,
    Resource,
    ResourceClass,
    ResourceKind,
    ResourcePool,
    ResourceType,
    inventory_object,
    stable_id,
)

Node = Mapping[str, Any]
DEFAULT_POOL = "default"
UNKNOWN = "unknown"
VENDOR_LABEL = "netweave.io/vendor"  # operator override, for bare metal where the provider says nothing
_INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
_ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")
_REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
_ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_ROLE_PREFIX = "node-role.kubernetes.io/"
_PROVIDERS = {"aws": "Amazon Web Services", "gce": "Google Cloud", "azure": "Microsoft Azure",
              "openstack": "OpenStack", "vsphere": "VMware vSphere", "ibm": "IBM Cloud", "oci": "Oracle Cloud"}
_BARE_METAL_SCHEMES = frozenset({"metal3", "baremetalhost", "ironic", "baremetal", "equinixmetal"})
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {s: Decimal(10) ** p for s, p in zip("numkMGTPE", (-9, -6, -3, 3, 6, 9, 12, 15, 18), strict=True)}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


@dataclass(frozen=True)
class ClusterSettings:
    """What the mapping needs besides the nodes: identity of the adapter and cluster, and operator options."""

    adapter_id: str
    o_cloud_id: str
    server_url: str
    pool_label_keys: tuple[str, ...]
    name: str
    description: str
    location: str | Mapping[str, str] | None = None  # one for every pool, or per pool name
    global_location_id: str | Mapping[str, str] | None = None
    version: Mapping[str, Any] = field(default_factory=dict)  # the API server's /version answer
    cordon_alarm_seconds: int = 3600  # a node cordoned longer than this raises NodeCordoned


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


def without_none(value: Any) -> Any:
    """Conformance schemas reject null: drop None anywhere inside data copied from the cluster."""
    # Exact dict/list checks, not the Mapping ABC: this runs over every value of every node, and JSON is dicts.
    if isinstance(value, dict):
        return {k: without_none(v) if isinstance(v, dict | list) else v for k, v in value.items() if v is not None}
    return [without_none(v) if isinstance(v, dict | list) else v for v in value if v is not None]


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


def _part(value: Mapping[str, Any], name: str) -> dict[str, Any]:
    part = value.get(name)
    return part if isinstance(part, dict) else {}


@dataclass(frozen=True)
class NodeFacts:
    """What the mapping reads from one node, worked out once per node."""

    raw: Node
    name: str
    identity: str  # the uid: a node deleted and re-registered under its old name is a new resource
    instance_type: str
    architecture: str
    pool: str
    pool_label: str | None  # the label that put the node in its pool; None for the default pool
    labels: Mapping[str, str]
    info: Mapping[str, Any]  # status.nodeInfo
    capacity: Mapping[str, str]
    allocatable: Mapping[str, str]
    components: tuple[Component, ...]  # non-zero capacity only, sorted by key

    @property
    def type_key(self) -> tuple[str, str]:
        return self.instance_type, self.architecture

    @property
    def provider_id(self) -> str:
        return str(_part(self.raw, "spec").get("providerID") or "")

    @property
    def global_asset_id(self) -> str:
        return self.provider_id or str(self.info.get("systemUUID") or self.info.get("machineID") or self.name)

    @property
    def provider(self) -> str:
        """The providerID's scheme ("aws" in aws:///us-east-1a/i-0abc), "" without one."""
        return self.provider_id.partition("://")[0].lower() if "://" in self.provider_id else ""

    @property
    def physical(self) -> bool:
        """Bare metal: a `*.metal*` instance type, a bare-metal provider, or neither a provider nor an instance type
        (kubeadm on servers, typical of far-edge sites). Anything else is taken to be a virtual machine."""
        unidentified = not self.provider and self.instance_type == UNKNOWN
        return "metal" in self.instance_type or self.provider in _BARE_METAL_SCHEMES or unidentified

    @property
    def vendor(self) -> str:
        return self.labels.get(VENDOR_LABEL) or _PROVIDERS.get(self.provider, self.provider) or UNKNOWN

    @property
    def conditions(self) -> list[Mapping[str, Any]]:
        return [c for c in _part(self.raw, "status").get("conditions") or [] if isinstance(c, dict)]

    @property
    def ready(self) -> bool:
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in self.conditions)

    def label(self, keys: Iterable[str]) -> str | None:
        return next((self.labels[key] for key in keys if self.labels.get(key)), None)


def node_facts(node: Node, pool_label_keys: Iterable[str]) -> NodeFacts:
    metadata, status = _part(node, "metadata"), _part(node, "status")
    labels: Mapping[str, str] = _part(metadata, "labels")
    info, capacity = _part(status, "nodeInfo"), _part(status, "capacity")
    pool_label = next((key for key in pool_label_keys if labels.get(key)), None)
    found = [(classify(key), parse_quantity(str(text))) for key, text in sorted(capacity.items())]
    return NodeFacts(
        raw=node, name=str(metadata.get("name") or ""), identity=str(metadata.get("uid") or metadata.get("name") or ""),
        instance_type=next((labels[k] for k in _INSTANCE_TYPE_LABELS if labels.get(k)), UNKNOWN),
        architecture=next((labels[k] for k in _ARCH_LABELS if labels.get(k)), str(info.get("architecture") or UNKNOWN)),
        pool=labels[pool_label] if pool_label else DEFAULT_POOL, pool_label=pool_label, labels=labels, info=info,
        capacity=capacity, allocatable=_part(status, "allocatable"),
        components=tuple(c for c, value in found if c is not None and value is not None and value > 0),
    )


def quantity_fields(node: NodeFacts, component: Component) -> dict[str, Any]:
    """Kubernetes strings as the cluster reports them, plus numbers (cores, bytes, devices) filters can compare."""
    fields: dict[str, Any] = {"component": component.key, "category": component.category, "unit": component.unit}
    for kind, quantities in (("capacity", node.capacity), ("allocatable", node.allocatable)):
        if (text := quantities.get(component.key)) is not None:
            fields[kind] = str(text)
            if (value := parse_quantity(str(text))) is not None:
                fields[f"{kind}Value"] = json_number(value)
    return fields


@lru_cache(maxsize=4096)  # the same few ids for thousands of nodes; uuid5 is not free
def node_type_id(adapter_id: str, itype: str, arch: str) -> str:
    return stable_id(adapter_id, "resourceType", "node", itype, arch)


@lru_cache(maxsize=4096)
def component_type_id(adapter_id: str, itype: str, arch: str, key: str) -> str:
    return stable_id(adapter_id, "resourceType", "component", itype, arch, key)


@lru_cache(maxsize=4096)
def pool_id(adapter_id: str, pool_name: str) -> str:
    return stable_id(adapter_id, "resourcePool", pool_name)


def resource_id(adapter_id: str, node_identity: str, component: str | None = None) -> str:
    return stable_id(adapter_id, "resource", node_identity, *((component,) if component else ()))


def deployment_manager_id(adapter_id: str, server_url: str) -> str:
    return stable_id(adapter_id, "deploymentManager", server_url)


def _joined(values: Iterable[str]) -> str:
    return ", ".join(sorted(set(values))) or UNKNOWN


def _group(nodes: Iterable[NodeFacts], key: Callable[[NodeFacts], Any]) -> dict[Any, list[NodeFacts]]:
    groups: dict[Any, list[NodeFacts]] = {}
    for node in nodes:
        groups.setdefault(key(node), []).append(node)
    return dict(sorted(groups.items()))


def resource_types(nodes: Iterable[NodeFacts], adapter_id: str,
                   cordon_alarm_seconds: int = 3600) -> tuple[list[ResourceType], list[AlarmDictionary]]:
    """One type per instance type and architecture, plus one per component kind found on nodes of that type.
    Every attribute aggregates over all nodes of the type in sorted order, so list order never changes a type."""
    types: list[ResourceType] = []
    dictionaries: list[AlarmDictionary] = []
    for (itype, arch), group in _group(nodes, lambda n: n.type_key).items():
        dictionary = alarm_dictionary(adapter_id, itype, arch, _joined(n.vendor for n in group), cordon_alarm_seconds)
        node_type = _node_type(adapter_id, group, dictionary)
        found = {c.key: c for n in group for c in n.components}
        types += [node_type, *(_component_type(adapter_id, node_type, found[key]) for key in sorted(found))]
        dictionaries.append(dictionary)
    return types, dictionaries


def _node_type(adapter_id: str, group: list[NodeFacts], dictionary: AlarmDictionary) -> ResourceType:
    itype, arch = group[0].type_key
    return ResourceType(
        resource_type_id=node_type_id(adapter_id, itype, arch), name=f"{itype} ({arch})",
        description=f"Kubernetes node of instance type {itype}, architecture {arch}", vendor=dictionary.vendor,
        model=itype, version=_joined(str(n.info["kubeletVersion"]) for n in group if n.info.get("kubeletVersion")),
        resource_kind=ResourceKind.PHYSICAL if all(n.physical for n in group) else ResourceKind.LOGICAL,
        resource_class=ResourceClass.COMPUTE, alarm_dictionary_id=dictionary.alarm_dictionary_id,
        alarm_dictionary=dictionary,
        extensions={"role": "node", "instanceType": itype, "architecture": arch,
                    "operatingSystems": sorted({str(n.info["osImage"]) for n in group if n.info.get("osImage")})},
    )


def _component_type(adapter_id: str, node_type: ResourceType, component: Component) -> ResourceType:
    itype, arch = node_type.extensions["instanceType"], node_type.extensions["architecture"]
    domain, _, device = component.key.rpartition("/")
    return ResourceType(
        resource_type_id=component_type_id(adapter_id, itype, arch, component.key),
        name=f"{itype} ({arch}) {component.key}", description=f"{component.title} of {itype} ({arch}) nodes",
        vendor=domain or node_type.vendor, model=device if domain else f"{itype} {component.key}",
        version=node_type.version, resource_kind=node_type.resource_kind, resource_class=component.resource_class,
        alarm_dictionary_id=node_type.alarm_dictionary_id, alarm_dictionary=node_type.alarm_dictionary,
        extensions={"role": "component", "component": component.key, "category": component.category,
                    "unit": component.unit, "nodeResourceTypeId": node_type.resource_type_id},
    )


def _configured(value: str | Mapping[str, str] | None, pool_name: str) -> str | None:
    return value.get(pool_name) if isinstance(value, Mapping) else value


def resource_pools(nodes: Iterable[NodeFacts], settings: ClusterSettings) -> list[ResourcePool]:
    """One pool per pool-label value. Location: configured, else the nodes' topology region and zones."""
    pools = []
    for name, group in _group(nodes, lambda n: n.pool).items():
        regions = sorted({r for n in group if (r := n.label(_REGION_LABELS))})
        zones = sorted({z for n in group if (z := n.label(_ZONE_LABELS))})
        label_keys = sorted({n.pool_label for n in group if n.pool_label})
        global_location = _configured(settings.global_location_id, name) or ", ".join(regions) or UNKNOWN
        location = _configured(settings.location, name) or (
            (", ".join(regions) or UNKNOWN) + (f" ({', '.join(zones)})" if zones else ""))
        labelled = f"labelled {' or '.join(label_keys)}={name}" if label_keys else "without a pool label"
        pools.append(ResourcePool(
            resource_pool_id=pool_id(settings.adapter_id, name), name=name,
            description=f"Nodes of cluster {settings.name} {labelled}", o_cloud_id=settings.o_cloud_id,
            o_cloud_site_id=stable_id(settings.o_cloud_id, "site", global_location),
            global_location_id=global_location, location=location,
            extensions={"nodeCount": len(group), "regions": regions, "zones": zones,
                        **({"labelKeys": label_keys} if label_keys else {})},
        ))
    return pools


def _node_extensions(node: NodeFacts) -> dict[str, Any]:
    metadata, spec, status = _part(node.raw, "metadata"), _part(node.raw, "spec"), _part(node.raw, "status")
    # Heartbeats change on every kubelet status report; keeping them would turn every poll into a modification.
    conditions = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in node.conditions]
    extensions = {
        "name": node.name, "uid": metadata.get("uid"), "pool": node.pool,
        "creationTimestamp": metadata.get("creationTimestamp"), "providerID": spec.get("providerID"),
        "labels": dict(node.labels), "capacity": dict(node.capacity), "allocatable": dict(node.allocatable),
        "conditions": conditions, "addresses": list(status.get("addresses") or []), "nodeInfo": dict(node.info),
        "taints": list(spec.get("taints") or []), "unschedulable": bool(spec.get("unschedulable")), "ready": node.ready,
    }
    cleaned: dict[str, Any] = without_none(extensions)
    return cleaned


def node_resources(node: NodeFacts, adapter_id: str) -> list[Resource]:
    """The node resource followed by its component resources; the components are also nested in `elements`."""
    (itype, arch), parent_id = node.type_key, resource_id(adapter_id, node.identity)
    pool = pool_id(adapter_id, node.pool)
    children = [
        Resource(resource_id=resource_id(adapter_id, node.identity, c.key), resource_pool_id=pool,
                 resource_type_id=component_type_id(adapter_id, itype, arch, c.key),
                 global_asset_id=f"{node.global_asset_id}/{c.key}", description=f"{c.title} of node {node.name}",
                 parent_id=parent_id, extensions={**quantity_fields(node, c), "node": node.name})
        for c in node.components
    ]
    roles = sorted(k.removeprefix(_ROLE_PREFIX) for k in node.labels if k.startswith(_ROLE_PREFIX))
    parent = Resource(
        resource_id=parent_id, resource_pool_id=pool, resource_type_id=node_type_id(adapter_id, itype, arch),
        global_asset_id=node.global_asset_id, description=f"Kubernetes node {node.name} ({itype}, {arch})",
        elements=children, tags=roles, groups=[node.pool], extensions=_node_extensions(node),
    )
    return [parent, *children]


def _totals(quantities: Iterable[Mapping[str, str]]) -> dict[str, int | float]:
    sums: dict[str, Decimal] = {}
    for mapping in quantities:
        for key, text in mapping.items():
            if (value := parse_quantity(str(text))) is not None:
                sums[key] = sums.get(key, Decimal(0)) + value
    return {key: json_number(value) for key, value in sorted(sums.items())}


def deployment_manager(nodes: list[NodeFacts], settings: ClusterSettings, pools: list[ResourcePool]
                       ) -> DeploymentManager:
    """The cluster: its API endpoint, what it offers (architectures, extended resources) and its capacity totals."""
    extended = sorted({c.key for n in nodes for c in n.components if "/" in c.key})
    answer = {"kubernetesVersion": settings.version.get("gitVersion"), "platform": settings.version.get("platform")}
    version = {key: str(value) for key, value in answer.items() if value}
    # The version is also a capability, where the `aws` backend reports it: one filter serves both backends.
    release = {"kubernetesVersion": version["kubernetesVersion"]} if "kubernetesVersion" in version else {}
    return DeploymentManager(
        deployment_manager_id=deployment_manager_id(settings.adapter_id, settings.server_url), name=settings.name,
        description=settings.description, o_cloud_id=settings.o_cloud_id, service_uri=settings.server_url,
        supported_locations=sorted({p.global_location_id for p in pools} - {UNKNOWN}),
        capabilities={"profiles": ["native_k8sapi"], "architectures": sorted({n.architecture for n in nodes}),
                      "extendedResources": extended, **release},
        capacity={"nodeCount": len(nodes), "readyNodeCount": sum(n.ready for n in nodes),
                  "capacity": _totals(n.capacity for n in nodes), "allocatable": _totals(n.allocatable for n in nodes)},
        extensions={"adapterId": settings.adapter_id, **version},
    )


def map_cluster(nodes: Iterable[Node], settings: ClusterSettings) -> list[InventoryObject]:
    """Every O2ims object of one cluster: alarm dictionaries, resource types, pools, the deployment manager, then
    each node resource followed by its component resources (flat, with `parentId`)."""
    facts = sorted((node_facts(node, settings.pool_label_keys) for node in nodes), key=lambda n: n.identity)
    types, dictionaries = resource_types(facts, settings.adapter_id, settings.cordon_alarm_seconds)
    pools = resource_pools(facts, settings)
    manager = deployment_manager(facts, settings, pools)
    resources = [resource for node in facts for resource in node_resources(node, settings.adapter_id)]
    return [inventory_object(model) for model in [*dictionaries, *types, *pools, manager, *resources]]
