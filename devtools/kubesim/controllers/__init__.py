"""A minimal kube-controller-manager + scheduler + kubelet, driven by store events.

Every store write is mapped to reconcile keys (the object itself and its controlling owner); a single asyncio task
drains the de-duplicated queue right after the write that caused it, so a Deployment is Available within
milliseconds of being created. Reconcilers are synchronous and idempotent: they write only when something changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from devtools.kubesim.cluster import NAMESPACES, Cluster
from devtools.kubesim.controllers.argocd import ArgoCD
from devtools.kubesim.controllers.common import (
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NODES,
    PODS,
    REPLICASETS,
    STATEFULSETS,
    controller_of,
    delete_quietly,
)
from devtools.kubesim.controllers.flux import Flux
from devtools.kubesim.controllers.flux_sources import FluxSources
from devtools.kubesim.controllers.gitops import GitOps
from devtools.kubesim.controllers.jobs import reconcile_job
from devtools.kubesim.controllers.kubelet import Kubelet
from devtools.kubesim.controllers.nodegroups import NodeGroups, NodeGroupSettings
from devtools.kubesim.controllers.sets import reconcile_daemonset, reconcile_statefulset
from devtools.kubesim.controllers.workloads import reconcile_deployment, reconcile_replicaset
from devtools.kubesim.store import Event

log = logging.getLogger("kubesim.controllers")
T = TypeVar("T")
Key = tuple[str, str, str]  # (controller, namespace, name)
OWNER_KINDS = {"ReplicaSet": "replicasets", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
               "Job": "jobs", "Deployment": "deployments"}
WATCHED = {DEPLOYMENTS: "deployments", REPLICASETS: "replicasets", STATEFULSETS: "statefulsets",
           DAEMONSETS: "daemonsets", JOBS: "jobs"}
_YIELD_EVERY = 200  # reconciles between yields to the event loop, so big fan-outs do not stall API requests


class ControllerManager:
    def __init__(self, cluster: Cluster, ready_delay: float = 0.0,
                 node_groups: NodeGroupSettings | None = None) -> None:
        self.cluster = cluster
        # EKS's node-group controller, when kubesim stands for an EKS cluster (devtools/kubesim/controllers/nodegroups)
        self.node_groups = NodeGroups(cluster, node_groups) if node_groups else None
        self._node_group_task: asyncio.Task[None] | None = None
        self.queue: dict[Key, None] = {}  # insertion-ordered set
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deferred: list[tuple[float, Key]] = []
        # kubesim's own URL, set by the server once it listens: the Flux controller runs helm against it.
        self.api_url: str | None = None
        self.kubelet = Kubelet(cluster, self.enqueue, self._later, ready_delay)
        self.flux = Flux(cluster, self.enqueue, self._later, self._background, lambda: self.api_url)
        self.gitops: tuple[GitOps, ...] = (self.flux, FluxSources(cluster, self.enqueue, self._later),
                                           ArgoCD(cluster, self.enqueue, self._later, self._background))
        self.reconcilers: dict[str, Callable[[str, str], None]] = {
            "deployments": lambda ns, n: reconcile_deployment(cluster, ns, n, self._later),
            "replicasets": lambda ns, n: reconcile_replicaset(cluster, ns, n),
            "statefulsets": lambda ns, n: reconcile_statefulset(cluster, ns, n),
            "daemonsets": lambda ns, n: reconcile_daemonset(cluster, ns, n),
            "jobs": lambda ns, n: reconcile_job(cluster, ns, n),
            "pods": self.kubelet.reconcile,
            "node-gone": self._evict_node,
            "nodes-changed": lambda ns, n: self._nodes_changed(),
            "namespaces": self._default_service_account,
            **{kind: reconcile for controller in self.gitops for kind, reconcile in controller.reconcilers().items()},
        }
        cluster.store.listeners.append(self.on_event)

    def enqueue(self, key: Key) -> None:
        self.queue[key] = None
        if self._wake is not None:
            self._wake.set()

    def _later(self, delay: float, key: Key) -> None:
        if self._loop is None:
            self._deferred.append((delay, key))  # seeding happens before the loop runs; schedule on start
        else:
            self._loop.call_later(delay, self.enqueue, key)

    def _background(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        """Run slow `work` (a chart render, a helm install) in a thread; `done` gets its result on the loop's thread.
        Work that calls kubesim's API (helm) must come here: on the loop it would deadlock."""
        if self._loop is None:
            done(work())
            return
        future = self._loop.run_in_executor(None, work)
        future.add_done_callback(lambda f: done(f.result()))

    def close(self) -> None:
        """The server is stopping: end background work that would outlive it (Flux's helm runs)."""
        self.flux.close()
        if self._node_group_task is not None:
            self._node_group_task.cancel()

    def on_event(self, event: Event) -> None:
        obj = event.entry.obj
        ns, name = obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
        if event.key in WATCHED and event.type != "DELETED":
            self.enqueue((WATCHED[event.key], ns, name))
        if event.key == PODS and event.type != "DELETED":
            self.enqueue(("pods", ns, name))
        if event.key in (PODS, REPLICASETS):
            owner = controller_of(obj)
            if owner is not None and owner.get("kind") in OWNER_KINDS:
                self.enqueue((OWNER_KINDS[owner["kind"]], ns, owner["name"]))
        if event.key == NODES:
            self._on_node(event)
        if event.key == NAMESPACES and event.type == "ADDED":
            self.enqueue(("namespaces", "", name))
        for controller in self.gitops:
            controller.on_event(event)

    def _on_node(self, event: Event) -> None:
        if event.type == "DELETED":
            self.enqueue(("node-gone", "", event.entry.obj["metadata"]["name"]))
        old, new = event.old or {}, event.entry.obj
        # Heartbeat-style status writes do not change placement; only labels, taints, readiness and adds/removes do.
        if event.type != "MODIFIED" or _placement(old) != _placement(new):
            self.enqueue(("nodes-changed", "", ""))

    def _nodes_changed(self) -> None:
        for ds in self.cluster.store.objects(DAEMONSETS):
            self.enqueue(("daemonsets", ds["metadata"]["namespace"], ds["metadata"]["name"]))
        for pod in self.kubelet.pending_pods():
            self.enqueue(("pods", pod["metadata"]["namespace"], pod["metadata"]["name"]))

    def _default_service_account(self, _: str, namespace: str) -> None:
        # The service-account controller gives every namespace a "default" ServiceAccount.
        if self.cluster.find(NAMESPACES, "", namespace) is None or \
                self.cluster.find(("", "serviceaccounts"), namespace, "default") is not None:
            return
        rt = self.cluster.resource("", "serviceaccounts")
        self.cluster.create(rt, namespace, {"metadata": {"name": "default"}})

    def _evict_node(self, _: str, node: str) -> None:
        for pod in self.cluster.store.objects(PODS):
            if pod["spec"].get("nodeName") == node:
                delete_quietly(self.cluster, PODS, pod)

    def drain_now(self) -> int:
        """Reconcile until the queue is empty (synchronously); returns how many keys were processed."""
        steps = 0
        while self.queue:
            self._step()
            steps += 1
        return steps

    def _step(self) -> None:
        key = next(iter(self.queue))
        del self.queue[key]
        kind, ns, name = key
        try:
            self.reconcilers[kind](ns, name)
        except Exception:  # one broken object must not stop the control loop
            log.exception("reconcile %s failed", key)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for delay, key in self._deferred:
            self._loop.call_later(delay, self.enqueue, key)
        self._deferred.clear()
        if self.node_groups is not None:
            self._node_group_task = self._loop.create_task(self.node_groups.run())
        if self.queue:
            self._wake.set()
        while True:
            await self._wake.wait()
            self._wake.clear()
            steps = 0
            while self.queue:
                self._step()
                steps += 1
                if steps % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)


def _placement(node: dict[str, object]) -> object:
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    assert isinstance(meta, dict) and isinstance(spec, dict) and isinstance(status, dict)
    ready = [c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return meta.get("labels"), spec.get("taints"), spec.get("unschedulable"), ready
