"""Running kubesim: in a background thread for tests (``start_kubesim``), or in the foreground for the CLI.

The server gets its own thread and event loop because synchronous clients (the official ``kubernetes`` package)
would deadlock if they blocked the loop that must answer them.
"""

from __future__ import annotations

import asyncio
import copy
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from devtools.kubesim import kubeconfig
from devtools.kubesim.cluster import Cluster
from devtools.kubesim.controllers import ControllerManager
from devtools.kubesim.controllers.nodegroups import NodeGroupSettings
from devtools.kubesim.seed import FAR_EDGE, GENERAL, NODES, POOL_LABEL, make_node, seed_cluster
from devtools.kubesim.server import Server

T = TypeVar("T")
Obj = dict[str, Any]


def build(seed: str = "demo", nodes: int | None = None, ready_delay: float = 0.0, host: str = "127.0.0.1",
          port: int = 0, access_log: bool = False, tls: bool = False,
          node_groups: NodeGroupSettings | None = None) -> Server:
    """Create a seeded cluster with its controllers and an (unstarted) server. Call on the loop's thread."""
    cluster = Cluster(seed)
    manager = ControllerManager(cluster, ready_delay, node_groups)
    seed_cluster(cluster, seed, nodes)
    manager.drain_now()  # seeded workloads (CoreDNS) are running before the first request
    return Server(cluster, manager, host, port, access_log, tls)


class KubeSim:
    """Handle on a kubesim running in a background thread."""

    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop, thread: threading.Thread, seed: str) -> None:
        self.server = server
        self.cluster = server.cluster  # only touch through call(): it lives on the server thread
        self._loop = loop
        self._thread = thread
        self._seed = seed
        self._extra_nodes = 0
        self.kubeconfig_path: Path | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def write_kubeconfig(self, path: str | os.PathLike[str]) -> Path:
        self.kubeconfig_path = kubeconfig.write(path, self.url, ca_pem=self.server.ca_pem)
        return self.kubeconfig_path

    def service_account_token(self, namespace: str, name: str) -> str:
        """A bearer token that authenticates as ServiceAccount `namespace/name` while it exists (README, "Access
        control"); RBAC objects in the cluster decide what it may do."""
        return self.call(lambda _: self.server.access.issue(namespace, name))

    def write_service_account_kubeconfig(self, path: str | os.PathLike[str], namespace: str, name: str) -> Path:
        """A kubeconfig for this cluster that authenticates as ServiceAccount `namespace/name`."""
        return kubeconfig.write(path, self.url, token=self.service_account_token(namespace, name),
                                user=f"{namespace}-{name}", namespace=namespace, ca_pem=self.server.ca_pem)

    def call(self, fn: Callable[[Cluster], T], timeout: float = 30.0) -> T:
        """Run ``fn(cluster)`` on the server thread and return its result (state access for tests)."""
        async def run() -> T:
            return fn(self.cluster)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def settle(self) -> None:
        """Block until the controllers have nothing left to reconcile."""
        self.call(lambda _: self.server.manager.drain_now())

    def add_node(self, pool: str = GENERAL, labels: dict[str, str] | None = None, name: str | None = None) -> Obj:
        """Add a node shaped like the seeded ones (pool ``far-edge-du`` or ``general-compute``)."""
        self._extra_nodes += 1
        index = 10_000 + self._extra_nodes

        def add(cluster: Cluster) -> Obj:
            node = make_node(self._seed, pool if pool in (FAR_EDGE, GENERAL) else GENERAL, index, time.time())
            node["metadata"]["labels"][POOL_LABEL] = pool
            node["metadata"]["labels"].update(labels or {})
            if name:
                node["metadata"]["name"] = name
                node["metadata"]["labels"]["kubernetes.io/hostname"] = name
            return copy.deepcopy(cluster.create(cluster.resource("", "nodes"), None, node))

        return self.call(add)

    def remove_node(self, name: str) -> None:
        self.call(lambda c: c.delete(c.resource("", "nodes"), "", name))

    def set_node_ready(self, name: str, ready: bool) -> Obj:
        def flip(cluster: Cluster) -> Obj:
            node = copy.deepcopy(cluster.get(cluster.resource("", "nodes"), "", name))
            for cond in node["status"]["conditions"]:
                if cond["type"] == "Ready":
                    cond.update(status="True" if ready else "False",
                                reason="KubeletReady" if ready else "NodeStatusUnknown",
                                message="kubelet is posting ready status" if ready else
                                "Kubelet stopped posting node status.",
                                lastTransitionTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            rt = cluster.resource(*NODES)
            return copy.deepcopy(cluster.write_status(rt, cluster.get(rt, "", name), node["status"]))

        return self.call(flip)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(15)

    def __enter__(self) -> KubeSim:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_kubesim(port: int = 0, host: str = "127.0.0.1", seed: str = "demo", nodes: int | None = None,
                  kubeconfig_path: str | os.PathLike[str] | None = None, ready_delay: float = 0.0,
                  timeout: float = 60.0, tls: bool = False, node_groups: NodeGroupSettings | None = None) -> KubeSim:
    """Start kubesim in a daemon thread; ``port=0`` picks a free port. Returns once it is serving."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            server = build(seed, nodes, ready_delay, host, port, tls=tls, node_groups=node_groups)
            loop.run_until_complete(server.start())
            box["server"] = server
        except BaseException as exc:  # surfaced to the caller below
            box["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name="kubesim", daemon=True)
    thread.start()
    if not started.wait(timeout):
        raise TimeoutError("kubesim did not start in time")
    if "error" in box:
        raise RuntimeError(f"kubesim failed to start: {box['error']!r}") from box["error"]
    sim = KubeSim(box["server"], loop, thread, seed)
    if kubeconfig_path is not None:
        sim.write_kubeconfig(kubeconfig_path)
    return sim
