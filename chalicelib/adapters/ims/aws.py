"""AWS IMS backend: EKS clusters, node groups and EC2 instances as O2ims objects (docs/architecture.md §3, `aws`).

EKS cluster -> deployment manager, managed node group -> resource pool, EC2 instance (found by the `eks:*` tags EKS
puts on managed nodes) -> resource, instance type -> resource type. Creating, resizing and deleting a resource pool
creates, rescales and deletes a node group (a netweave extension, docs/o2-conventions.md §7).

Clients are built on first use, per adapter, so importing this module or constructing the adapter never touches
the network; botocore timeouts and retries are small so that a dead account or region fails fast with
`BackendUnavailable` instead of holding the poller.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.adapters.ims import aws_mapping as mapping
from chalicelib.adapters.ims import aws_nodes
from chalicelib.adapters.ims import aws_pools as pools
from chalicelib.adapters.ims.port import InventoryContext, PoolRequest
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import (
    BackendUnavailable,
    BadRequest,
    ConfigurationError,
    Conflict,
    NetweaveError,
    NotFound,
)
from chalicelib.domain.inventory import InventoryObject, ResourcePool
from chalicelib.domain.ownership import IMS_ADAPTER_LABEL, MANAGED_BY, MANAGED_BY_TAG, require_pool_owned
from chalicelib.observability import logger
from chalicelib.settings import AdapterConfig

_TYPES_PER_CALL = 100  # DescribeInstanceTypes accepts at most 100 names
_REFRESH_BEFORE = timedelta(minutes=5)  # rebuild assumed-role clients this long before the credentials expire
_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]  # terminated ones linger for an hour


class AwsOptions(BaseModel):
    """`options` of an `aws` IMS adapter in gateway.yaml (docs/aws-backend.md)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    region: str | None = None
    endpoint_url: str | None = Field(default=None, alias="endpointUrl")  # EKS/EC2/STS endpoint: moto, locally
    role_arn: str | None = Field(default=None, alias="roleArn")
    clusters: list[str] | None = None
    location: str | None = None
    global_location_id: str | None = Field(default=None, alias="globalLocationId")
    node_role_arn: str | None = Field(default=None, alias="nodeRoleArn")
    subnets: list[str] | dict[str, list[str]] | None = None
    default_instance_type: str | None = Field(default=None, alias="defaultInstanceType")
    # cluster name -> kubeconfig of that cluster: the backend then lists the nodes of the node groups it creates
    # (and counts their Ready ones) from the cluster itself (docs/aws-backend.md, "Nodes of node groups")
    kubeconfigs: dict[str, str] = Field(default_factory=dict)
    connect_timeout: float = Field(default=3.0, gt=0, alias="connectTimeout")
    read_timeout: float = Field(default=10.0, gt=0, alias="readTimeout")
    max_attempts: int = Field(default=3, ge=1, alias="maxAttempts")


@dataclass(frozen=True)
class _Clients:
    eks: Any
    ec2: Any
    expires: datetime | None = None  # of assumed-role credentials; None for the ambient ones

    def stale(self) -> bool:
        return self.expires is not None and self.expires - datetime.now(UTC) < _REFRESH_BEFORE


class AwsInventoryAdapter:
    def __init__(self, config: AdapterConfig) -> None:
        self.adapter_id = config.id
        try:
            self.options = AwsOptions.model_validate(config.options)
        except ValidationError as error:
            raise ConfigurationError(f"ims adapter '{config.id}' (aws): {error}") from error
        self.region = (
            self.options.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        )
        self.site = mapping.Site(self.region, self.options.location, self.options.global_location_id)
        self._clients_cache: _Clients | None = None
        self._node_readers: dict[str, aws_nodes.NodeReader] = {}

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.INVENTORY, Capability.POOL_MANAGEMENT})

    # ---- AWS access --------------------------------------------------------------------------------------------

    @contextmanager
    def _aws(self, action: str, **expected: type[NetweaveError]) -> Iterator[None]:
        """Turn AWS failures into domain errors: the codes in `expected` into the given error, anything else (no
        route, timeouts, throttling, denied credentials, server faults) into BackendUnavailable."""
        try:
            yield
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            if code in expected:
                message = str(error.response.get("Error", {}).get("Message", code))
                raise expected[code](f"{action}: {message}") from error
            raise self._unavailable(action, code) from error
        except ParamValidationError:
            raise  # a request this module built wrongly is a bug, not an outage
        except BotoCoreError as error:
            raise self._unavailable(action, type(error).__name__) from error

    def _unavailable(self, action: str, reason: str) -> BackendUnavailable:
        return BackendUnavailable(f"AWS backend '{self.adapter_id}' ({self.region}): {action} failed ({reason})")

    def _clients(self) -> _Clients:
        if self._clients_cache is None or self._clients_cache.stale():
            with self._aws("connect"):
                self._clients_cache = self._connect()
        return self._clients_cache

    def _connect(self) -> _Clients:
        import boto3  # first use only: constructing the adapter must stay free of AWS work
        from botocore.config import Config

        config = Config(
            region_name=self.region,
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            # total_max_attempts counts the first try; botocore's max_attempts would count retries only (one more)
            retries={"total_max_attempts": self.options.max_attempts, "mode": "standard"},
        )
        session = boto3.session.Session(region_name=self.region)
        expires = None
        if self.options.role_arn:
            sts: Any = session.client("sts", config=config, endpoint_url=self.options.endpoint_url or None)
            credentials = sts.assume_role(
                RoleArn=self.options.role_arn, RoleSessionName=f"netweave-{self.adapter_id}"[:64]
            )["Credentials"]
            session = boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=self.region,
            )
            expires = credentials["Expiration"]
        endpoint = self.options.endpoint_url or None
        return _Clients(session.client("eks", config=config, endpoint_url=endpoint),
                        session.client("ec2", config=config, endpoint_url=endpoint), expires)

    # ---- reading -----------------------------------------------------------------------------------------------

    def _cluster_names(self) -> list[str]:
        if self.options.clusters is not None:
            return list(self.options.clusters)
        with self._aws("list EKS clusters"):
            pages = self._clients().eks.get_paginator("list_clusters").paginate()
            return [name for page in pages for name in page.get("clusters", [])]

    def _cluster(self, name: str) -> dict[str, Any] | None:
        try:
            with self._aws(f"describe EKS cluster {name}", ResourceNotFoundException=NotFound):
                cluster: dict[str, Any] = self._clients().eks.describe_cluster(name=name)["cluster"]
                return cluster
        except NotFound:
            logger.warning("configured EKS cluster not found", extra={"adapter": self.adapter_id, "cluster": name})
            return None

    def _nodegroups(self, cluster_name: str) -> list[dict[str, Any]]:
        eks = self._clients().eks
        with self._aws(f"list node groups of {cluster_name}"):
            pages = eks.get_paginator("list_nodegroups").paginate(clusterName=cluster_name)
            names = [name for page in pages for name in page.get("nodegroups", [])]
        groups = []
        for name in names:
            with suppress(NotFound), self._aws(f"describe node group {name}", ResourceNotFoundException=NotFound):
                # suppressed NotFound: the group was deleted between the list and this call
                groups.append(eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=name)["nodegroup"])
        return groups

    def _reservations(self, cluster_names: list[str]) -> list[dict[str, Any]]:
        if not cluster_names:
            return []
        filters = [
            {"Name": f"tag:{mapping.CLUSTER_TAG}", "Values": cluster_names},
            {"Name": "instance-state-name", "Values": _LIVE_STATES},
        ]
        with self._aws("describe EC2 instances"):
            pages = self._clients().ec2.get_paginator("describe_instances").paginate(Filters=filters)
            return [reservation for page in pages for reservation in page.get("Reservations", [])]

    def _describe_types(self, names: list[str]) -> dict[str, dict[str, Any]]:
        with self._aws("describe instance types", InvalidInstanceType=NotFound):
            pages = self._clients().ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=names)
            return {info["InstanceType"]: info for page in pages for info in page.get("InstanceTypes", [])}

    def _type_infos(self, names: set[str]) -> dict[str, dict[str, Any]]:
        ordered = sorted(names)
        infos: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ordered), _TYPES_PER_CALL):
            batch = ordered[start : start + _TYPES_PER_CALL]
            try:
                infos.update(self._describe_types(batch))
            except NotFound:
                for name in batch:  # one type the region does not know fails the batch: keep the others
                    with suppress(NotFound):
                        infos.update(self._describe_types([name]))
        return infos

    def _views(self, context: InventoryContext) -> list[mapping.ClusterView]:
        clusters = [cluster for name in self._cluster_names() if (cluster := self._cluster(name)) is not None]
        views = []
        for cluster in clusters:
            groups = self._nodegroups(cluster["name"])
            views.append(mapping.ClusterView(cluster, groups, self._cluster_nodes(cluster["name"], groups, context)))
        return views

    def _cluster_nodes(self, cluster_name: str, groups: list[dict[str, Any]],
                       context: InventoryContext) -> mapping.ClusterNodes | None:
        path = self.options.kubeconfigs.get(cluster_name)
        if path is None:
            return None
        reader = self._node_readers.setdefault(cluster_name, aws_nodes.NodeReader(self.adapter_id, cluster_name, path))
        pool_ids = {str(group["nodegroupName"]): mapping.pool_id(self.adapter_id, group["nodegroupArn"])
                    for group in groups}
        return reader.read(context, pool_ids)

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        views = self._views(context)
        reservations = self._reservations([view.cluster["name"] for view in views])
        infos = self._type_infos(mapping.instance_types_in_use(views, reservations))
        return mapping.build_inventory(self.adapter_id, self.site, context.o_cloud_id, views, reservations, infos)

    def cluster_profile(self, deployment_manager_id: str) -> dict[str, Any] | None:
        for name in self._cluster_names():
            cluster = self._cluster(name)
            if cluster and mapping.deployment_manager_id(self.adapter_id, cluster["arn"]) == deployment_manager_id:
                return mapping.profile(cluster, self.region)
        return None

    # ---- pool management ---------------------------------------------------------------------------------------

    def _find_nodegroup(self, resource_pool_id: str) -> dict[str, Any]:
        for cluster_name in self._cluster_names():
            for group in self._nodegroups(cluster_name):
                if mapping.pool_id(self.adapter_id, group["nodegroupArn"]) == resource_pool_id:
                    return group
        raise NotFound(f"no resource pool '{resource_pool_id}' in backend '{self.adapter_id}'")

    def _pool(self, group: dict[str, Any], context: InventoryContext) -> ResourcePool:
        return mapping.to_resource_pool(self.adapter_id, group, self.site, context.o_cloud_id)

    def _target_cluster(self, request: PoolRequest) -> dict[str, Any]:
        requested = request.extensions.get("clusterName")
        names = self._cluster_names()
        if not names:
            raise BadRequest(f"backend '{self.adapter_id}' has no EKS cluster to create a node group in")
        if requested is not None:
            if not isinstance(requested, str) or requested not in names:
                raise BadRequest(f"extensions.clusterName: no EKS cluster '{requested}' in backend '{self.adapter_id}'")
            name = requested
        elif self.options.clusters or len(names) == 1:
            name = names[0]  # the first configured cluster, or the only one the account has
        else:
            raise BadRequest(
                "extensions.clusterName is required: the backend serves "
                f"{len(names)} EKS clusters and none is configured as the default"
            )
        cluster = self._cluster(name)
        if cluster is None:
            raise BadRequest(f"extensions.clusterName: EKS cluster '{name}' does not exist")
        return cluster

    def _subnets(self, cluster: dict[str, Any]) -> list[str]:
        configured = self.options.subnets
        if isinstance(configured, dict):
            configured = configured.get(cluster["name"])
        subnets = configured or cluster.get("resourcesVpcConfig", {}).get("subnetIds", [])
        if not subnets:
            raise BadRequest(f"no subnets for a node group of cluster '{cluster['name']}': set option 'subnets'")
        return list(subnets)

    def _node_role(self, cluster_name: str) -> str:
        if self.options.node_role_arn:
            return self.options.node_role_arn
        # Without a configured role, reuse the one the cluster's existing node groups run with.
        role = next((group["nodeRole"] for group in self._nodegroups(cluster_name) if group.get("nodeRole")), None)
        if role is None:
            raise BadRequest(f"no node role for cluster '{cluster_name}': set option 'nodeRoleArn'")
        return str(role)

    def _instance_type_info(self, instance_type: str) -> dict[str, Any]:
        try:
            return self._describe_types([instance_type]).get(instance_type, {})
        except NotFound as error:
            raise pools.PoolNotHonoured(
                f"extensions.instanceType: unknown EC2 instance type '{instance_type}' in {self.region}"
            ) from error

    def _pin_cpus(self, cluster_name: str, name: str, extra: dict[str, Any]) -> None:
        """cpuPinning: EKS configures a managed node group's kubelet through a launch template's user data, so
        netweave creates one (`cpuManagerPolicy: static`) and the node group boots from it; a disk size then
        belongs to the template too (EKS refuses both). The nodes also carry CPU_PINNING_LABEL for placement."""
        template = pools.cpu_pinning_template(extra.pop("diskSize", None))
        tags = [{"ResourceType": "launch-template", "Tags": [{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY}]}]
        exists = {"InvalidLaunchTemplateName.AlreadyExistsException": Conflict}
        with self._aws(f"create launch template for node group {name}", **exists):
            created = self._clients().ec2.create_launch_template(
                LaunchTemplateName=_template_name(cluster_name, name), LaunchTemplateData=template,
                TagSpecifications=tags)["LaunchTemplate"]
        extra["launchTemplate"] = {"id": created["LaunchTemplateId"], "version": str(created["LatestVersionNumber"])}
        extra["labels"] = {**extra.get("labels", {}), mapping.CPU_PINNING_LABEL: "static"}

    def create_resource_pool(self, request: PoolRequest, context: InventoryContext) -> ResourcePool:
        name = pools.validate_name(request.name)
        scaling = pools.create_scaling(pools.requested_replicas(request), request.extensions)
        instance_type = pools.requested_instance_type(request, self.options.default_instance_type)
        extra = pools.optional_create_fields(request.extensions)
        pinning = pools.requested_cpu_pinning(request.extensions)
        if request.location is not None and not isinstance(request.location, str):
            raise BadRequest("location must be a string")
        cluster = self._target_cluster(request)
        vcpus = self._instance_type_info(instance_type).get("VCpuInfo", {}).get("DefaultVCpus")
        pools.check_cpu_pinning(pinning, instance_type, vcpus, extra.get("amiType"))
        # The node group's nodes name this backend, which then lists them (docs/aws-backend.md).
        extra["labels"] = {**extra.get("labels", {}), IMS_ADAPTER_LABEL: self.adapter_id}
        if pinning:
            self._pin_cpus(cluster["name"], name, extra)
        settings = {
            "clusterName": cluster["name"],
            "nodegroupName": name,
            "scalingConfig": scaling,
            "instanceTypes": [instance_type],
            "subnets": self._subnets(cluster),
            "nodeRole": self._node_role(cluster["name"]),
            "tags": self._tags(request),
            **extra,
        }
        with self._aws(
            f"create node group {name}",
            ResourceInUseException=Conflict,
            InvalidParameterException=BadRequest,
            InvalidRequestException=BadRequest,
        ):
            group = self._clients().eks.create_nodegroup(**settings)["nodegroup"]
        # A new node group has no node yet: where this backend counts nodes, the answer says 0, as the next read will
        ready = 0 if cluster["name"] in self.options.kubeconfigs else None
        return mapping.to_resource_pool(self.adapter_id, group, self.site, context.o_cloud_id, ready)

    @staticmethod
    def _tags(request: PoolRequest) -> dict[str, str]:
        # The requested O2 location lives on the node group, so every later read maps it back.
        tags = {MANAGED_BY_TAG: MANAGED_BY}  # the ownership marker: only tagged node groups are changed later
        if request.location:
            tags[mapping.LOCATION_TAG] = request.location
        return tags

    def update_resource_pool(
        self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
    ) -> ResourcePool:
        group = self._owned_nodegroup(resource_pool_id)
        self._check_unchangeable(group, request)
        scaling = pools.update_scaling(
            group.get("scalingConfig", {}), pools.requested_replicas(request), request.extensions
        )
        if scaling is None:
            return self._pool(group, context)
        with self._aws(
            f"resize node group {group['nodegroupName']}",
            ResourceNotFoundException=NotFound,
            ResourceInUseException=Conflict,  # EKS changes a node group only while it is ACTIVE
            InvalidParameterException=BadRequest,
            InvalidRequestException=BadRequest,
        ):
            self._clients().eks.update_nodegroup_config(
                clusterName=group["clusterName"], nodegroupName=group["nodegroupName"], scalingConfig=scaling
            )
        # EKS applies the update asynchronously: answer with the pool as the next poll will list it.
        return self._pool({**group, "scalingConfig": scaling}, context)

    def _check_unchangeable(self, group: dict[str, Any], request: PoolRequest) -> None:
        """EKS cannot rename a node group or change its instance types; the location tag is set at creation."""
        if request.name and request.name != group["nodegroupName"]:
            raise BadRequest("name: a resource pool cannot be renamed")
        instance_type = request.instance_type or request.extensions.get("instanceType")
        if instance_type and instance_type not in group.get("instanceTypes", []):
            raise BadRequest("extensions.instanceType: the instance type of a resource pool cannot be changed")
        if request.location and request.location != self.site.location_of(group.get("tags", {})):
            raise BadRequest("location: the location of a resource pool cannot be changed")

    def _owned_nodegroup(self, resource_pool_id: str) -> dict[str, Any]:
        """The pool's node group, provided netweave created it (its tag, docs/aws-backend.md): the operator's own
        node groups are listed as pools but never resized or deleted through O2 (409 before any EKS change)."""
        group = self._find_nodegroup(resource_pool_id)
        require_pool_owned(f"EKS node group '{group['nodegroupName']}' of cluster '{group['clusterName']}'",
                           group.get("tags"))
        return group

    def delete_resource_pool(self, resource_pool_id: str) -> None:
        group = self._owned_nodegroup(resource_pool_id)
        with self._aws(
            f"delete node group {group['nodegroupName']}",
            ResourceNotFoundException=NotFound,
            ResourceInUseException=Conflict,
        ):
            self._clients().eks.delete_nodegroup(clusterName=group["clusterName"], nodegroupName=group["nodegroupName"])
        if (group.get("launchTemplate") or {}).get("name") == _template_name(group["clusterName"],
                                                                            group["nodegroupName"]):
            # The cpuPinning template netweave made for this group; EC2 keeps it for the instances still draining.
            gone = {"InvalidLaunchTemplateId.NotFound": NotFound}
            with suppress(NotFound), self._aws("delete launch template", **gone):
                self._clients().ec2.delete_launch_template(LaunchTemplateId=group["launchTemplate"]["id"])


def _template_name(cluster_name: str, nodegroup_name: str) -> str:
    return f"netweave-{cluster_name}-{nodegroup_name}"[:128]
