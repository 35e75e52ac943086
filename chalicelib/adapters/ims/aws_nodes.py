"""The Kubernetes nodes of the node groups the `aws` backend creates, as that backend's resources.

A node group netweave creates labels its nodes `netweave.io/ims-adapter=<backend id>` (EKS copies a node group's
labels onto its nodes). With the cluster's kubeconfig (option `kubeconfigs`), the `aws` backend reads exactly those
nodes through the `kubernetes` backend's own reader and mapping, under its own id, and lists each as a resource of
its node group's pool; every other backend leaves them out (`kubernetes_mapping.claimed_by`). So a node is one
resource, with the readiness, capacity and components the Kubernetes mapping gives it, in the pool the SMO created,
and the pool's `readyNodes` counts the same nodes (docs/aws-backend.md, "Nodes of node groups").
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from chalicelib.adapters.ims import kubernetes_mapping
from chalicelib.adapters.ims.aws_mapping import ClusterNodes
from chalicelib.adapters.ims.port import InventoryAdapter, InventoryContext
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.ownership import IMS_ADAPTER_LABEL
from chalicelib.settings import AdapterConfig

NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"  # EKS's label of a managed node group's nodes
_SUPPORT = (ObjectType.ALARM_DICTIONARY, ObjectType.RESOURCE_TYPE)


def cluster_nodes(adapter_id: str, objects: list[InventoryObject], pool_ids: Mapping[str, str]) -> ClusterNodes:
    """`objects`: the Kubernetes mapping of the claimed nodes, under this backend's id, pooled by
    NODEGROUP_LABEL; `pool_ids`: node group name -> this backend's pool id. Nodes of node groups not listed (one
    being created or just deleted) are left out until their group is."""
    by_kube_pool = {kubernetes_mapping.pool_id(adapter_id, name): name for name in pool_ids}
    resources: dict[str, list[InventoryObject]] = {name: [] for name in pool_ids}
    ready = dict.fromkeys(pool_ids, 0)
    support = [obj for obj in objects if obj.object_type in _SUPPORT]
    for obj in objects:
        name = by_kube_pool.get(obj.parent_key or "")
        if obj.object_type is not ObjectType.RESOURCE or name is None:
            continue
        pool = pool_ids[name]
        # Pool ids are uuids: replacing the text rewrites the resource and every nested element at once.
        kube_pool = kubernetes_mapping.pool_id(adapter_id, name)
        document = json.loads(json.dumps(obj.document).replace(kube_pool, pool))
        resources[name].append(InventoryObject(ObjectType.RESOURCE, obj.object_id, document, pool))
        if "parentId" not in document and document.get("extensions", {}).get("ready"):
            ready[name] += 1
    return ClusterNodes(resources, ready, support)


class NodeReader:
    """One cluster's claimed nodes, read with the `kubernetes` backend's reader under the `aws` backend's id."""

    def __init__(self, adapter_id: str, cluster_name: str, kubeconfig: str) -> None:
        self.adapter_id = adapter_id
        self.options = {"kubeconfig": kubeconfig, "name": cluster_name, "poolLabels": [NODEGROUP_LABEL],
                        "nodeLabelSelector": f"{IMS_ADAPTER_LABEL}={adapter_id}"}
        self._reader: InventoryAdapter | None = None

    def read(self, context: InventoryContext, pool_ids: Mapping[str, str]) -> ClusterNodes:
        if self._reader is None:
            from chalicelib.adapters.ims.kubernetes import KubernetesInventoryAdapter  # only where configured

            self._reader = KubernetesInventoryAdapter(AdapterConfig(id=self.adapter_id, type="kubernetes",
                                                                    options=self.options))
        objects = self._reader.read_inventory(InventoryContext(context.o_cloud_id, (NODEGROUP_LABEL,)))
        return cluster_nodes(self.adapter_id, objects, pool_ids)
