"""Kubernetes nodes → O2ims objects (docs/o2-conventions.md §2), as pure functions over the API server's JSON
(plain dicts).

No client and no I/O here, so the whole mapping is unit-testable on hand-written node dicts. Every document is a
function of the cluster's state alone, independent of list order, so an unchanged cluster maps to identical documents
and the poller writes nothing: volatile fields (condition heartbeats) are dropped and every aggregate is sorted.
docs/kubernetes-backend.md explains the mapping for operators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from chalicelib.adapters.ims.kubernetes_alarms import alarm_dictionary
from chalicelib.adapters.ims.kubernetes_components import (
    Component,
    Hardware,
    Part,
    classify,
    json_number,
    node_parts,
    parse_quantity,
    wire_name,
)
from chalicelib.domain.inventory import (
    AlarmDictionary,
    DeploymentManager,
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
from chalicelib.domain.ownership import IMS_ADAPTER_LABEL as CLAIM_LABEL
from chalicelib.domain.placement import NODE_SELECTOR
from chalicelib.domain.server_identity import asset_keys

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


def without_none(value: Any) -> Any:
    """Conformance schemas reject null: drop None anywhere inside data copied from the cluster."""
    # Exact dict/list checks, not the Mapping ABC: this runs over every value of every node, and JSON is dicts.
    if isinstance(value, dict):
        return {k: without_none(v) if isinstance(v, dict | list) else v for k, v in value.items() if v is not None}
    return [without_none(v) if isinstance(v, dict | list) else v for v in value if v is not None]


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
    parts: tuple[Part, ...]  # the child resources (kubernetes_components.node_parts)

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


def node_facts(node: Node, pool_label_keys: Iterable[str], hardware: Hardware | None = None) -> NodeFacts:
    metadata, status = _part(node, "metadata"), _part(node, "status")
    labels: Mapping[str, str] = _part(metadata, "labels")
    info, capacity = _part(status, "nodeInfo"), _part(status, "capacity")
    pool_label = next((key for key in pool_label_keys if labels.get(key)), None)
    found = [(classify(key), parse_quantity(str(text))) for key, text in sorted(capacity.items())]
    components = tuple(c for c, value in found if c is not None and value is not None and value > 0)
    allocatable = _part(status, "allocatable")
    return NodeFacts(
        raw=node, name=str(metadata.get("name") or ""), identity=str(metadata.get("uid") or metadata.get("name") or ""),
        instance_type=next((labels[k] for k in _INSTANCE_TYPE_LABELS if labels.get(k)), UNKNOWN),
        architecture=next((labels[k] for k in _ARCH_LABELS if labels.get(k)), str(info.get("architecture") or UNKNOWN)),
        pool=labels[pool_label] if pool_label else DEFAULT_POOL, pool_label=pool_label, labels=labels, info=info,
        capacity=capacity, allocatable=allocatable, components=components,
        parts=node_parts(capacity, allocatable, components, hardware),
    )


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
        found: dict[str, list[Part]] = {}
        for part in (p for n in group for p in n.parts):
            found.setdefault(part.kind, []).append(part)
        types += [node_type, *(_component_type(adapter_id, node_type, found[kind]) for kind in sorted(found))]
        dictionaries.append(dictionary)
    return types, dictionaries


def _node_type(adapter_id: str, group: list[NodeFacts], dictionary: AlarmDictionary) -> ResourceType:
    itype, arch = group[0].type_key
    return ResourceType(
        resource_type_id=node_type_id(adapter_id, itype, arch), name=wire_name(itype, arch),
        description=f"Kubernetes node of instance type {itype}, architecture {arch}", vendor=dictionary.vendor,
        model=itype, version=_joined(str(n.info["kubeletVersion"]) for n in group if n.info.get("kubeletVersion")),
        resource_kind=ResourceKind.PHYSICAL if all(n.physical for n in group) else ResourceKind.LOGICAL,
        resource_class=ResourceClass.COMPUTE, alarm_dictionary_id=dictionary.alarm_dictionary_id,
        alarm_dictionary=dictionary,
        extensions={"role": "node", "instanceType": itype, "architecture": arch,
                    "operatingSystems": sorted({str(n.info["osImage"]) for n in group if n.info.get("osImage")})},
    )


def _component_type(adapter_id: str, node_type: ResourceType, parts: list[Part]) -> ResourceType:
    """One type per kind of part on nodes of one type; vendor and model aggregate over every such part."""
    itype, arch = node_type.extensions["instanceType"], node_type.extensions["architecture"]
    first = parts[0]
    vendor = _joined(p.vendor for p in parts if p.vendor) if any(p.vendor for p in parts) else node_type.vendor
    model = _joined(p.model for p in parts if p.model) if any(p.model for p in parts) else f"{itype} {first.kind}"
    unit = {"unit": first.fields["unit"]} if "unit" in first.fields else {}
    return ResourceType(
        resource_type_id=component_type_id(adapter_id, itype, arch, first.kind),
        name=wire_name(itype, arch, first.kind), description=f"{first.type_title} of {itype} ({arch}) nodes",
        vendor=vendor, model=model, version=node_type.version, resource_kind=node_type.resource_kind,
        resource_class=first.resource_class, alarm_dictionary_id=node_type.alarm_dictionary_id,
        alarm_dictionary=node_type.alarm_dictionary,
        extensions={"role": "component", "component": first.kind, "category": first.category, **unit,
                    "nodeResourceTypeId": node_type.resource_type_id},
    )


def _configured(value: str | Mapping[str, str] | None, pool_name: str) -> str | None:
    return value.get(pool_name) if isinstance(value, Mapping) else value


def resource_pools(nodes: Iterable[NodeFacts], settings: ClusterSettings) -> list[ResourcePool]:
    """One pool per pool-label value. Location: configured, else the nodes' topology region and zones."""
    pools = []
    every = list(nodes)
    for name, group in _group(every, lambda n: n.pool).items():
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
                        **({"labelKeys": label_keys} if label_keys else {}),
                        **_node_selector(name, label_keys, group, every)},
        ))
    return pools


def _node_selector(name: str, label_keys: list[str], group: list[NodeFacts],
                   nodes: list[NodeFacts]) -> dict[str, Any]:
    """`nodeSelector` (docs/o2-conventions.md): the pool's label, when it selects exactly the pool's nodes. None
    for the default pool (its nodes have no pool label), for a pool named under two label keys, and for a label
    that nodes of another pool carry too (one with a label of higher precedence)."""
    if len(label_keys) != 1:
        return {}
    key = label_keys[0]
    members = {id(node) for node in group}
    if any(node.labels.get(key) == name and id(node) not in members for node in nodes):
        return {}
    return {NODE_SELECTOR: {key: name}}


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


def node_resources(node: NodeFacts, adapter_id: str) -> list[InventoryObject]:
    """The node resource followed by its components, flat with `parentId`; each is also nested in its parent's
    `elements` (a NIC's ports in the NIC's, the NIC in the node's). Components are built as wire documents directly
    (the `Resource` model's shape, checked by the unit tests) and each serialised once: a DU server has 14 of them,
    and the pydantic round trip of every nested copy doubled the time to map a 5,000-node cluster."""
    (itype, arch), parent_id = node.type_key, resource_id(adapter_id, node.identity)
    pool = pool_id(adapter_id, node.pool)
    built: dict[str, dict[str, Any]] = {}
    # Children before parents, so a part's elements exist when it is built; then back to the node's order.
    for part in sorted(node.parts, key=lambda p: not p.parent):
        built[part.identity] = {
            "resourceId": resource_id(adapter_id, node.identity, part.identity), "resourcePoolId": pool,
            "resourceTypeId": component_type_id(adapter_id, itype, arch, part.kind),
            "globalAssetId": f"{node.global_asset_id}/{part.identity}",
            "description": f"{part.title} of node {node.name}",
            "parentId": resource_id(adapter_id, node.identity, part.parent) if part.parent else parent_id,
            "elements": [built[e] for e in part.elements], "tags": [], "groups": [],
            "extensions": {**part.fields, "node": node.name}}
    children = [built[p.identity] for p in node.parts]
    roles = sorted(k.removeprefix(_ROLE_PREFIX) for k in node.labels if k.startswith(_ROLE_PREFIX))
    parent = Resource(
        resource_id=parent_id, resource_pool_id=pool, resource_type_id=node_type_id(adapter_id, itype, arch),
        global_asset_id=node.global_asset_id, description=f"Kubernetes node {node.name} ({itype}, {arch})",
        tags=roles, groups=[node.pool], extensions=_node_extensions(node),
    ).to_wire()
    parent["elements"] = [c for c, p in zip(children, node.parts, strict=True) if not p.parent]
    # A bare-metal node is a server other backends may see too (docs/o2-conventions.md §10); a VM is not.
    keys = asset_keys(system_uuid=node.info.get("systemUUID")) if node.physical else frozenset()
    return [InventoryObject(ObjectType.RESOURCE, parent_id, parent, pool, asset_keys=keys),
            *(InventoryObject(ObjectType.RESOURCE, document["resourceId"], document, pool) for document in children)]


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


def claimed_by(node: Node) -> str | None:
    """The IMS backend a node's `netweave.io/ims-adapter` label gives it to (docs/aws-backend.md, "Nodes of node
    groups"): every other backend leaves the node out, so the node is one resource, not two."""
    value = (_part(node, "metadata").get("labels") or {}).get(CLAIM_LABEL)
    return str(value) if value else None


def map_cluster(nodes: Iterable[Node], settings: ClusterSettings,
                hardware: Mapping[str, Hardware] | None = None) -> list[InventoryObject]:
    """Every O2ims object of one cluster: alarm dictionaries, resource types, pools, the deployment manager, then
    each node resource followed by its component resources (flat, with `parentId`). `hardware`: the operators'
    objects per node name (kubernetes_components.index_hardware)."""
    hardware = hardware or {}
    facts = sorted((node_facts(node, settings.pool_label_keys, hardware.get(str(_part(node, "metadata").get("name"))))
                    for node in nodes if claimed_by(node) in (None, settings.adapter_id)), key=lambda n: n.identity)
    types, dictionaries = resource_types(facts, settings.adapter_id, settings.cordon_alarm_seconds)
    pools = resource_pools(facts, settings)
    manager = deployment_manager(facts, settings, pools)
    resources = [resource for node in facts for resource in node_resources(node, settings.adapter_id)]
    return [*(inventory_object(model) for model in [*dictionaries, *types, *pools, manager]), *resources]
