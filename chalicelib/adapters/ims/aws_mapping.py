"""Pure mapping between boto3 EKS/EC2 documents and O2ims objects (pool requests: `aws_pools`).

Nothing here calls AWS: `aws.py` fetches, these functions translate, so the translation is testable on hand-written
dicts. Every id is `stable_id(adapter id, kind, AWS identity)`, so a poll reproduces the ids of the previous one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.inventory import (
    AlarmDefinition,
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
from chalicelib.domain.ownership import IMS_ADAPTER_LABEL
from chalicelib.domain.placement import NODE_SELECTOR

CLUSTER_TAG = "eks:cluster-name"  # EKS puts these two tags on every instance of a managed node group
NODEGROUP_TAG = "eks:nodegroup-name"
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"  # EKS puts it on every node of a managed node group
LOCATION_TAG = "netweave.io/location"  # where netweave records the O2 location a pool was created with
CPU_PINNING_LABEL = "netweave.io/cpu-manager-policy"  # node label of a pinned pool's nodes (value: static)


@dataclass(frozen=True)
class Site:
    """Where this adapter's pools are: the configured O2 location, else the AWS region."""

    region: str
    location: str | None = None
    global_location_id: str | None = None

    def location_of(self, tags: Mapping[str, str]) -> str:
        return tags.get(LOCATION_TAG) or self.location or self.region

    def global_location(self, location: str) -> str:
        return self.global_location_id or location


def deployment_manager_id(adapter_id: str, cluster_arn: str) -> str:
    return stable_id(adapter_id, "deployment-manager", cluster_arn)


def pool_id(adapter_id: str, nodegroup_arn: str) -> str:
    return stable_id(adapter_id, "resource-pool", nodegroup_arn)


def resource_id(adapter_id: str, instance_id: str) -> str:
    return stable_id(adapter_id, "resource", instance_id)


def resource_type_id(adapter_id: str, instance_type: str) -> str:
    return stable_id(adapter_id, "resource-type", instance_type)


def instance_tags(instance: Mapping[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in instance.get("Tags", []) if "Key" in tag and "Value" in tag}


def partition_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop absent values: documents never carry null (docs/o2-conventions.md §2)."""
    return {key: value for key, value in values.items() if value is not None}


def is_bare_metal(instance_type: str, info: Mapping[str, Any] | None = None) -> bool:
    # `c5.metal`, `m7i.metal-24xl`: the size part starts with "metal"; describe_instance_types also says BareMetal.
    return bool((info or {}).get("BareMetal")) or instance_type.partition(".")[2].startswith("metal")


# EC2 states in which an instance is a lost node: raised while the instance is in one of them, cleared when it runs.
INSTANCE_ALARMS: dict[str, tuple[str, str, str, str]] = {
    "InstanceNotRunning": ("stopping|stopped|shutting-down|terminated", "MAJOR",
                           "The EC2 instance behind the node is not running; its node is lost to the cluster.",
                           "Start the instance, or let the node group replace it (check its health and events)."),
}


def alarm_dictionary(adapter_id: str, name: str) -> AlarmDictionary:
    dictionary_id = stable_id(adapter_id, "alarmDictionary", name)
    definitions = [
        AlarmDefinition(alarm_definition_id=stable_id(dictionary_id, "alarmDefinition", alarm), alarm_name=alarm,
                        alarm_last_change="1.0", alarm_change_type="ADDED", alarm_description=description,
                        proposed_repair_actions=repair, clearing_type="AUTOMATIC",
                        alarm_additional_fields={"extensionField": "state", "raisedWhenValue": states,
                                                 "perceivedSeverity": severity})
        for alarm, (states, severity, description, repair) in INSTANCE_ALARMS.items()
    ]
    return AlarmDictionary(alarm_dictionary_id=dictionary_id, alarm_dictionary_version="1.0",
                           alarm_dictionary_schema_version="1.0", entity_type=f"EC2 instance {name}", vendor="AWS",
                           alarm_definition=definitions)


def to_resource_type(adapter_id: str, name: str, info: Mapping[str, Any] | None = None) -> ResourceType:
    """`info` is the type's `describe_instance_types` entry. A type the region does not describe (retired, not
    offered there) still becomes a resource type, so every resource's `resourceTypeId` resolves."""
    info = info or {}
    metal = is_bare_metal(name, info)
    vcpus = info.get("VCpuInfo", {}).get("DefaultVCpus")
    memory = info.get("MemoryInfo", {}).get("SizeInMiB")
    architectures = list(info.get("ProcessorInfo", {}).get("SupportedArchitectures", []))
    generation = "current" if info.get("CurrentGeneration") else "previous"
    hypervisor = "bare-metal" if metal else info.get("Hypervisor", "unknown")
    extensions = {"vCpus": vcpus, "memoryMiB": memory, "architectures": architectures, "bareMetal": metal}
    summary = f"{vcpus} vCPU, {memory} MiB, {'/'.join(architectures)}" if info else "not described in this region"
    dictionary = alarm_dictionary(adapter_id, name)
    return ResourceType(
        resource_type_id=resource_type_id(adapter_id, name),
        name=name,
        description=f"EC2 instance type {name} ({summary})",
        vendor="AWS",
        model=name,
        version=f"{generation}/{hypervisor}" if info else "unknown",
        resource_kind=ResourceKind.PHYSICAL if metal else ResourceKind.LOGICAL,
        resource_class=ResourceClass.COMPUTE,
        alarm_dictionary_id=dictionary.alarm_dictionary_id,
        alarm_dictionary=dictionary,
        extensions={**_compact(extensions), "currentGeneration": bool(info.get("CurrentGeneration"))} if info else {},
    )


def cluster_arn_of(nodegroup_arn: str) -> str:
    """arn:aws:eks:<region>:<account>:nodegroup/<cluster>/<name>/<uuid> -> that cluster's ARN."""
    head, _, path = nodegroup_arn.partition(":nodegroup/")
    return f"{head}:cluster/{path.split('/')[0]}"


# EKS node group status -> the pool's progress (docs/aws-backend.md, "Pool progress")
_PROGRESS = {"CREATING": "provisioning", "UPDATING": "resizing", "DELETING": "deleting",
             "CREATE_FAILED": "failed", "DELETE_FAILED": "failed", "DEGRADED": "failed"}


def pool_progress(nodegroup: Mapping[str, Any], ready: int | None) -> dict[str, Any]:
    """`status` (provisioning, resizing, ready, degraded, deleting, failed), `desiredNodes`, and, where the
    backend sees the cluster's nodes, `readyNodes`. EKS says a node group is ACTIVE once its nodes joined; only
    with every desired node Ready is the pool ready."""
    raw = str(nodegroup.get("status") or "ACTIVE")
    desired = int(nodegroup.get("scalingConfig", {}).get("desiredSize", 0))
    issues = (nodegroup.get("health") or {}).get("issues") or []
    status = _PROGRESS.get(raw, "ready")
    reason = None
    if status == "failed":
        reason = "; ".join(str(issue.get("message") or issue.get("code")) for issue in issues) or f"node group {raw}"
    elif status == "ready" and ready is not None and ready != desired:
        status, reason = "degraded", f"{ready} of {desired} nodes Ready"
    return _compact({"status": status, "statusReason": reason, "desiredNodes": desired, "readyNodes": ready,
                     "nodegroupStatus": raw})


def to_resource_pool(adapter_id: str, nodegroup: Mapping[str, Any], site: Site, o_cloud_id: str,
                     ready: int | None = None) -> ResourcePool:
    location = site.location_of(nodegroup.get("tags", {}))
    instance_types = list(nodegroup.get("instanceTypes", []))
    scaling = dict(nodegroup.get("scalingConfig", {}))
    return ResourcePool(
        resource_pool_id=pool_id(adapter_id, nodegroup["nodegroupArn"]),
        name=nodegroup["nodegroupName"],
        description=f"EKS node group {nodegroup['nodegroupName']} of cluster {nodegroup['clusterName']}",
        o_cloud_id=o_cloud_id,
        global_location_id=site.global_location(location),
        location=location,
        extensions=_compact(
            {
                "clusterName": nodegroup["clusterName"],
                "deploymentManagerId": deployment_manager_id(adapter_id, cluster_arn_of(nodegroup["nodegroupArn"])),
                "nodegroupArn": nodegroup["nodegroupArn"],
                "instanceTypes": instance_types,
                "instanceType": instance_types[0] if instance_types else None,
                "replicas": scaling.get("desiredSize"),
                "scalingConfig": scaling,
                **pool_progress(nodegroup, ready),
                "cpuPinning": True if (nodegroup.get("labels") or {}).get(CPU_PINNING_LABEL) else None,
                "capacityType": nodegroup.get("capacityType"),
                "amiType": nodegroup.get("amiType"),
                "labels": nodegroup.get("labels") or None,
                "taints": nodegroup.get("taints") or None,
                # EKS `health.issues` ({code, message, resourceIds}): the NodeGroupDegraded alarm reads them here.
                "healthIssues": (nodegroup.get("health") or {}).get("issues") or None,
                # EKS labels every node of a managed node group with its name (docs/o2-conventions.md)
                NODE_SELECTOR: {NODEGROUP_LABEL: nodegroup["nodegroupName"]},
            }
        ),
    )


def instance_arn(instance: Mapping[str, Any], owner_id: str | None, region: str, partition: str) -> str:
    if not owner_id:
        return str(instance["InstanceId"])
    return f"arn:{partition}:ec2:{region}:{owner_id}:instance/{instance['InstanceId']}"


def to_resource(adapter_id: str, instance: Mapping[str, Any], resource_pool_id: str, global_asset_id: str) -> Resource:
    tags, launched = instance_tags(instance), instance.get("LaunchTime")
    instance_type = instance.get("InstanceType", "unknown")
    return Resource(
        resource_id=resource_id(adapter_id, instance["InstanceId"]),
        resource_pool_id=resource_pool_id,
        resource_type_id=resource_type_id(adapter_id, instance_type),
        global_asset_id=global_asset_id,
        description=f"EC2 instance {instance['InstanceId']} ({instance_type}) of node group {tags.get(NODEGROUP_TAG)}",
        tags=sorted(f"{key}={value}" for key, value in tags.items()),
        extensions=_compact(
            {
                "instanceId": instance["InstanceId"],
                "instanceType": instance_type,
                "state": instance.get("State", {}).get("Name"),
                "privateIp": instance.get("PrivateIpAddress"),
                "privateDnsName": instance.get("PrivateDnsName") or None,
                "az": instance.get("Placement", {}).get("AvailabilityZone"),
                "launchTime": launched.isoformat() if isinstance(launched, datetime) else launched,
                "architecture": instance.get("Architecture"),
                "clusterName": tags.get(CLUSTER_TAG),
                "nodegroupName": tags.get(NODEGROUP_TAG),
            }
        ),
    )


def capacity(instances: Iterable[Mapping[str, Any]], type_infos: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Node count and nominal vCPU/memory (bytes) of a cluster's instances, from their instance types (unknown types
    count as zero), in the shape the kubernetes backend reports, so one filter works on both."""
    members = list(instances)
    infos = [type_infos.get(instance.get("InstanceType", ""), {}) for instance in members]
    cpu = sum(int(info.get("VCpuInfo", {}).get("DefaultVCpus", 0)) for info in infos)
    memory = sum(int(info.get("MemoryInfo", {}).get("SizeInMiB", 0)) for info in infos) * 1024 * 1024
    return {"nodeCount": len(members), "capacity": {"cpu": cpu, "memory": memory}}


def to_deployment_manager(
    adapter_id: str,
    cluster: Mapping[str, Any],
    site: Site,
    o_cloud_id: str,
    locations: Iterable[str],
    totals: Mapping[str, Any],
) -> DeploymentManager:
    return DeploymentManager(
        deployment_manager_id=deployment_manager_id(adapter_id, cluster["arn"]),
        name=cluster["name"],
        description=f"EKS cluster {cluster['name']} in {site.region}",
        o_cloud_id=o_cloud_id,
        # A cluster still CREATING has no endpoint yet: point at the cluster in the EKS API instead.
        service_uri=cluster.get("endpoint") or f"https://eks.{site.region}.amazonaws.com/clusters/{cluster['name']}",
        supported_locations=sorted(set(locations)) or [site.global_location(site.location or site.region)],
        capabilities=_compact(
            {
                "kubernetesVersion": cluster.get("version"),
                "platformVersion": cluster.get("platformVersion"),
                "profiles": ["native_k8sapi"],
            }
        ),
        capacity=dict(totals),
        extensions=_compact(
            {
                "adapterId": adapter_id,
                "clusterName": cluster["name"],
                "clusterArn": cluster["arn"],
                "region": site.region,
                "status": cluster.get("status"),
            }
        ),
    )


def profile(cluster: Mapping[str, Any], region: str) -> dict[str, Any] | None:
    """The native_k8sapi profile (docs/o2-conventions.md §5) as the deployment manager's extensions carry it. EKS
    issues no client certificates: callers authenticate with an IAM token (`aws eks get-token`), so the data is the
    endpoint and CA plus what that command needs."""
    endpoint = cluster.get("endpoint")
    if not endpoint:
        return None
    data = {
        "cluster_api_endpoint": endpoint,
        "cluster_ca_cert": cluster.get("certificateAuthority", {}).get("data"),
        "cluster_name": cluster["name"],
        "region": region,
        "auth_method": "aws-iam",
    }
    return {"profileName": "native_k8sapi", "profileData": _compact(data)}


@dataclass(frozen=True)
class ClusterNodes:
    """The Kubernetes nodes of a cluster's claiming node groups, as the backend read them from the cluster."""

    resources: Mapping[str, list[InventoryObject]]  # node group name -> its node resources (and their components)
    ready: Mapping[str, int]  # node group name -> how many of its nodes are Ready
    support: list[InventoryObject]  # the resource types and alarm dictionaries those resources refer to


@dataclass(frozen=True)
class ClusterView:
    """One EKS cluster as `describe_cluster` gives it, with its node groups as `describe_nodegroup` gives them, and
    its nodes where the backend reads them (option `kubeconfigs`)."""

    cluster: Mapping[str, Any]
    nodegroups: Sequence[Mapping[str, Any]]
    nodes: ClusterNodes | None = None


Owned = dict[tuple[str, str], list[tuple[Mapping[str, Any], str | None]]]


def instances_by_nodegroup(reservations: Iterable[Mapping[str, Any]]) -> Owned:
    """(cluster, node group) -> [(instance, owner account)], from the tags EKS puts on managed nodes."""
    owned: Owned = {}
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            tags = instance_tags(instance)
            if CLUSTER_TAG in tags and NODEGROUP_TAG in tags:
                key = (tags[CLUSTER_TAG], tags[NODEGROUP_TAG])
                owned.setdefault(key, []).append((instance, reservation.get("OwnerId")))
    for members in owned.values():
        members.sort(key=lambda member: str(member[0]["InstanceId"]))
    return owned


def instance_types_in_use(clusters: Iterable[ClusterView], reservations: Iterable[Mapping[str, Any]]) -> set[str]:
    names = {name for view in clusters for group in view.nodegroups for name in group.get("instanceTypes", [])}
    members = instances_by_nodegroup(reservations).values()
    used = {instance.get("InstanceType") for group in members for instance, _ in group}
    return names | {name for name in used if name}


def claims_nodes(nodegroup: Mapping[str, Any], adapter_id: str) -> bool:
    """The node group puts `netweave.io/ims-adapter=<this backend>` on its nodes: the backend lists the group's
    Kubernetes nodes as its resources (ClusterView.nodes), not its EC2 instances."""
    return (nodegroup.get("labels") or {}).get(IMS_ADAPTER_LABEL) == adapter_id


def _node_counts(view: ClusterView, group: Mapping[str, Any]) -> int | None:
    if view.nodes is None:
        return None
    return view.nodes.ready.get(str(group["nodegroupName"]), 0)


def build_inventory(
    adapter_id: str,
    site: Site,
    o_cloud_id: str,
    clusters: list[ClusterView],
    reservations: Sequence[Mapping[str, Any]],
    type_infos: Mapping[str, Mapping[str, Any]],
) -> list[InventoryObject]:
    """Types, then per cluster its deployment manager, pools and resources. Instances whose node group is not
    listed (self-managed nodes, a node group being deleted) belong to no pool and are left out, as are the instances
    of node groups whose nodes the backend reads from the cluster (`claims_nodes`): those nodes are the resources."""
    owned = instances_by_nodegroup(reservations)
    types = [to_resource_type(adapter_id, name, type_infos.get(name))
             for name in sorted(instance_types_in_use(clusters, reservations))]
    objects = [inventory_object(t.alarm_dictionary) for t in types if t.alarm_dictionary is not None]
    objects += [inventory_object(t) for t in types]
    for view in clusters:
        cluster = view.cluster
        partition = partition_of(cluster["arn"])
        members: list[Mapping[str, Any]] = []
        locations: list[str] = []
        children: list[InventoryObject] = []
        for group in view.nodegroups:
            pool = to_resource_pool(adapter_id, group, site, o_cloud_id, _node_counts(view, group))
            locations.append(pool.global_location_id)
            children.append(inventory_object(pool))
            if view.nodes is not None and claims_nodes(group, adapter_id):
                children += view.nodes.resources.get(str(group["nodegroupName"]), [])
                continue
            for instance, owner in owned.get((cluster["name"], group["nodegroupName"]), []):
                members.append(instance)
                asset = instance_arn(instance, owner, site.region, partition)
                children.append(inventory_object(to_resource(adapter_id, instance, pool.resource_pool_id, asset)))
        manager = to_deployment_manager(adapter_id, cluster, site, o_cloud_id, locations, capacity(members, type_infos))
        objects += [inventory_object(manager), *children]
        if view.nodes is not None:
            objects += view.nodes.support
    return objects
