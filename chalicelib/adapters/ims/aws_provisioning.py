"""Pool management of the `aws` backend: EKS managed node groups as resource pools, created, resized and deleted
synchronously (`PoolManager`, the seed's `/o2ims/v1/resourcePools`) or started and then followed
(`PoolProvisioner`, provisioning requests; docs/aws-backend.md "Provisioning requests").

A mixin of `AwsInventoryAdapter` (aws.py), which supplies the AWS access and the reads; both forms share one path
per operation, so the synchronous form is the asynchronous start plus the answer the seed's API gives.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.ims import aws_mapping as mapping
from chalicelib.adapters.ims import aws_pools as pools
from chalicelib.adapters.ims.port import BackendProgress, InventoryContext, PoolRequest, ProvisioningStart
from chalicelib.domain.errors import BadRequest, Conflict, NotFound
from chalicelib.domain.inventory import ResourcePool
from chalicelib.domain.ownership import IMS_ADAPTER_LABEL, MANAGED_BY, MANAGED_BY_TAG, require_pool_owned

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from chalicelib.adapters.ims.aws_options import AwsOptions, Clients
    from chalicelib.domain.errors import NetweaveError

TOKEN_TAG = "netweave.io/provisioning-token"  # the provisioning request a node group was created for
GONE = "gone"
_PROGRESSING = {"CREATING", "UPDATING"}
_FAILED = {"CREATE_FAILED", "DELETE_FAILED", "DEGRADED"}


def nodegroup_progress(group: dict[str, Any], deleting: bool) -> BackendProgress:
    """A node group's EKS status as provisioning progress (the table in docs/aws-backend.md)."""
    raw = str(group.get("status") or "")
    desired = (group.get("scalingConfig") or {}).get("desiredSize")
    if raw in _PROGRESSING:
        return BackendProgress("progressing", raw, desired_nodes=desired)
    if raw == "ACTIVE":
        return BackendProgress("ready", raw, desired_nodes=desired)
    if raw == "DELETING":
        if deleting:
            return BackendProgress("progressing", raw)
        return BackendProgress("failed", raw, "node group is being deleted by someone else")
    issues = (group.get("health") or {}).get("issues") or []
    message = "; ".join(f"{issue.get('code')}: {issue.get('message')}" if issue.get("code") else
                        str(issue.get("message")) for issue in issues) or f"node group {raw or 'has no status'}"
    return BackendProgress("failed", raw, message, desired_nodes=desired)


class AwsPoolManagement:
    """`PoolManager` and `PoolProvisioner` on EKS managed node groups."""

    if TYPE_CHECKING:  # supplied by AwsInventoryAdapter
        adapter_id: str
        options: AwsOptions
        region: str
        site: mapping.Site
        _located: dict[str, tuple[str, str]]  # pool id -> (cluster, node group), so progress is one EKS call

        def _aws(self, action: str, **expected: type[NetweaveError]) -> AbstractContextManager[None]: ...
        def _clients(self) -> Clients: ...
        def _cluster_names(self) -> list[str]: ...
        def _cluster(self, name: str) -> dict[str, Any] | None: ...
        def _nodegroups(self, cluster_name: str) -> list[dict[str, Any]]: ...
        def _describe_types(self, names: list[str]) -> dict[str, dict[str, Any]]: ...

    # ---- finding node groups -------------------------------------------------------------------------------------

    def _remember(self, group: dict[str, Any]) -> str:
        pool_id = mapping.pool_id(self.adapter_id, group["nodegroupArn"])
        self._located[pool_id] = (str(group["clusterName"]), str(group["nodegroupName"]))
        return pool_id

    def _find_nodegroup(self, resource_pool_id: str) -> dict[str, Any]:
        for cluster_name in self._cluster_names():
            for group in self._nodegroups(cluster_name):
                if self._remember(group) == resource_pool_id:
                    return group
        raise NotFound(f"no resource pool '{resource_pool_id}' in backend '{self.adapter_id}'")

    def _describe_nodegroup(self, cluster_name: str, name: str) -> dict[str, Any]:
        with self._aws(f"describe node group {name}", ResourceNotFoundException=NotFound):
            group: dict[str, Any] = self._clients().eks.describe_nodegroup(
                clusterName=cluster_name, nodegroupName=name)["nodegroup"]
            return group

    def _nodegroup_of(self, resource_pool_id: str) -> dict[str, Any]:
        """One DescribeNodegroup where this adapter has seen the pool; the search through every cluster where not
        (a fresh adapter). NotFound when the node group is gone (or its name now belongs to another one)."""
        if resource_pool_id not in self._located:
            return self._find_nodegroup(resource_pool_id)
        group = self._describe_nodegroup(*self._located[resource_pool_id])
        if mapping.pool_id(self.adapter_id, group["nodegroupArn"]) != resource_pool_id:
            raise NotFound(f"resource pool '{resource_pool_id}' is gone (its name names a newer node group)")
        return group

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

    # ---- creating ------------------------------------------------------------------------------------------------

    def _settings(self, request: PoolRequest, token: str | None) -> dict[str, Any]:
        """The CreateNodegroup arguments of a request, validated (the launch template is made by the caller)."""
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
        if token is not None:
            extra["clientRequestToken"] = token  # EKS's own idempotency: a retried call creates nothing new
        return {"clusterName": cluster["name"], "nodegroupName": name, "scalingConfig": scaling,
                "instanceTypes": [instance_type], "subnets": self._subnets(cluster),
                "nodeRole": self._node_role(cluster["name"]), "tags": self._tags(request, token),
                "cpuPinning": pinning, **extra}

    def _tokened(self, cluster_name: str, name: str, token: str | None) -> dict[str, Any] | None:
        """The node group an earlier call with this token created (a retry), or None when there is none yet;
        Conflict when the name belongs to another node group."""
        try:
            group = self._describe_nodegroup(cluster_name, name)
        except NotFound:
            return None
        if token is None or (group.get("tags") or {}).get(TOKEN_TAG) != token:
            raise Conflict(f"create node group {name}: node group {name} already exists in cluster {cluster_name}")
        return group

    def _create_nodegroup(self, request: PoolRequest, token: str | None) -> dict[str, Any]:
        """The node group created now, or the one an earlier call with `token` created."""
        settings = self._settings(request, token)
        cluster, name = settings["clusterName"], settings["nodegroupName"]
        if token is not None and (earlier := self._tokened(cluster, name, token)):
            return earlier
        if settings.pop("cpuPinning"):
            self._pin_cpus(cluster, name, settings)
        try:
            with self._aws(f"create node group {name}", ResourceInUseException=Conflict,
                           InvalidParameterException=BadRequest, InvalidRequestException=BadRequest):
                group: dict[str, Any] = self._clients().eks.create_nodegroup(**settings)["nodegroup"]
                return group
        except Conflict:
            if token is None:
                raise
            earlier = self._tokened(cluster, name, token)  # a concurrent retry created it meanwhile
            if earlier is None:
                raise
            return earlier

    def create_resource_pool(self, request: PoolRequest, context: InventoryContext) -> ResourcePool:
        group = self._create_nodegroup(request, None)
        self._remember(group)
        # A new node group has no node yet: where this backend counts nodes, the answer says 0, as the next read will
        ready = 0 if group["clusterName"] in self.options.kubeconfigs else None
        return mapping.to_resource_pool(self.adapter_id, group, self.site, context.o_cloud_id, ready)

    def begin_pool(self, request: PoolRequest, context: InventoryContext, token: str) -> ProvisioningStart:
        group = self._create_nodegroup(request, token)
        return ProvisioningStart(self._remember(group), None, str(group.get("status") or ""))

    @staticmethod
    def _tags(request: PoolRequest, token: str | None) -> dict[str, str]:
        # The requested O2 location lives on the node group, so every later read maps it back.
        tags = {MANAGED_BY_TAG: MANAGED_BY}  # the ownership marker: only tagged node groups are changed later
        if request.location:
            tags[mapping.LOCATION_TAG] = request.location
        if token is not None:
            tags[TOKEN_TAG] = token
        return tags

    # ---- resizing ------------------------------------------------------------------------------------------------

    def _resize(self, resource_pool_id: str, request: PoolRequest) -> tuple[dict[str, Any], str | None]:
        """(the node group as the next read will list it, the EKS update id, None when nothing changes)."""
        group = self._owned_nodegroup(resource_pool_id)
        self._check_unchangeable(group, request)
        scaling = pools.update_scaling(
            group.get("scalingConfig", {}), pools.requested_replicas(request), request.extensions
        )
        if scaling is None:
            return group, None
        with self._aws(
            f"resize node group {group['nodegroupName']}",
            ResourceNotFoundException=NotFound,
            ResourceInUseException=Conflict,  # EKS changes a node group only while it is ACTIVE
            InvalidParameterException=BadRequest,
            InvalidRequestException=BadRequest,
        ):
            update = self._clients().eks.update_nodegroup_config(
                clusterName=group["clusterName"], nodegroupName=group["nodegroupName"], scalingConfig=scaling
            ).get("update") or {}
        # EKS applies the update asynchronously: answer with the pool as the next poll will list it.
        return {**group, "scalingConfig": scaling}, update.get("id")

    def update_resource_pool(
        self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
    ) -> ResourcePool:
        return self._pool(self._resize(resource_pool_id, request)[0], context)

    def begin_resize(self, resource_pool_id: str, request: PoolRequest, context: InventoryContext
                     ) -> ProvisioningStart:
        group, update_id = self._resize(resource_pool_id, request)
        return ProvisioningStart(resource_pool_id, update_id, "UPDATING" if update_id else str(group.get("status")))

    def _check_unchangeable(self, group: dict[str, Any], request: PoolRequest) -> None:
        """EKS cannot rename a node group or change its instance types; the location tag is set at creation."""
        if request.name and request.name != group["nodegroupName"]:
            raise BadRequest("name: a resource pool cannot be renamed")
        instance_type = request.instance_type or request.extensions.get("instanceType")
        if instance_type and instance_type not in group.get("instanceTypes", []):
            raise BadRequest("extensions.instanceType: the instance type of a resource pool cannot be changed")
        if request.location and request.location != self.site.location_of(group.get("tags", {})):
            raise BadRequest("location: the location of a resource pool cannot be changed")

    # ---- progress ------------------------------------------------------------------------------------------------

    def pool_progress(self, resource_pool_id: str, job_id: str | None, deleting: bool) -> BackendProgress:
        # EKS has no job to follow (an update id only names a change): the node group's own status says it all.
        try:
            group = self._nodegroup_of(resource_pool_id)
        except NotFound:
            return BackendProgress("gone", GONE)  # the caller decides whether gone is the end or a failure
        return nodegroup_progress(group, deleting)

    # ---- deleting ------------------------------------------------------------------------------------------------

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

    def begin_pool_deletion(self, resource_pool_id: str) -> ProvisioningStart:
        try:
            self.delete_resource_pool(resource_pool_id)
        except NotFound:
            return ProvisioningStart(resource_pool_id, None, GONE)  # deleted already: a retry, or someone else
        return ProvisioningStart(resource_pool_id, None, "DELETING")


def _template_name(cluster_name: str, nodegroup_name: str) -> str:
    return f"netweave-{cluster_name}-{nodegroup_name}"[:128]
