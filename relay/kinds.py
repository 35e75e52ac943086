"""The kinds the relay watches: exactly what chalicelib/adapters/ims/kubernetes.py lists (nodes and the hardware
operators' per-node reports). A unit test keeps the two in step."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    group: str  # "" for the core API group
    version: str
    plural: str

    @property
    def path(self) -> str:
        """The collection's URL path, as the API server serves it."""
        prefix = f"/apis/{self.group}" if self.group else "/api"
        return f"{prefix}/{self.version}/{self.plural}"

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


NODES = Kind("", "v1", "nodes")
WATCHED: tuple[Kind, ...] = (
    NODES,
    Kind("topology.node.k8s.io", "v1alpha2", "noderesourcetopologies"),
    Kind("sriovnetwork.openshift.io", "v1", "sriovnetworknodestates"),
    Kind("sriovfec.intel.com", "v2", "sriovfecnodeconfigs"),
    Kind("local.storage.openshift.io", "v1alpha1", "localvolumediscoveryresults"),
)
