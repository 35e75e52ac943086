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
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from pydantic import ValidationError

from chalicelib.adapters.ims import aws_mapping as mapping
from chalicelib.adapters.ims import aws_nodes
from chalicelib.adapters.ims.aws_options import AwsOptions, Clients
from chalicelib.adapters.ims.aws_provisioning import AwsPoolManagement
from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import (
    BackendUnavailable,
    ConfigurationError,
    NetweaveError,
    NotFound,
)
from chalicelib.domain.inventory import InventoryObject
from chalicelib.observability import logger
from chalicelib.settings import AdapterConfig

_TYPES_PER_CALL = 100  # DescribeInstanceTypes accepts at most 100 names
_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]  # terminated ones linger for an hour


class AwsInventoryAdapter(AwsPoolManagement):
    """`InventoryAdapter`; pool management (`PoolManager`, `PoolProvisioner`) comes from aws_provisioning."""

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
        self._clients_cache: Clients | None = None
        self._node_readers: dict[str, aws_nodes.NodeReader] = {}
        self._located: dict[str, tuple[str, str]] = {}  # pool id -> (cluster, node group): aws_provisioning

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

    def _clients(self) -> Clients:
        if self._clients_cache is None or self._clients_cache.stale():
            with self._aws("connect"):
                self._clients_cache = self._connect()
        return self._clients_cache

    def _connect(self) -> Clients:
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
        return Clients(session.client("eks", config=config, endpoint_url=endpoint),
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
