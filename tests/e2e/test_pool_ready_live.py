"""Use case 1, steps 2 and 3, on the running local stack with its default (realistic) node delays: the SMO creates a
pool with the seed's body, and a real webhook receiver hears the pool's creation, each node's creation as it joins,
and the pool's "ready" modification, in that order (docs/subscriptions.md, "Waiting for a pool to be ready")."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack, binary
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
SUBSCRIPTIONS = "/o2ims-infrastructureInventory/v1/subscriptions"
POOLS = "/o2ims/v1/resourcePools"
REPLICAS = 10


@pytest.fixture()
def smo() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(secrets=[])
    server = serve(receiver)
    yield receiver, f"http://127.0.0.1:{server.server_address[1]}/notify/{uuid.uuid4().hex[:8]}"
    server.shutdown()


def subscribe(stack: LocalStack, receiver: Receiver, callback: str, flt: str) -> None:
    with stack.client() as client:
        reply = client.post(SUBSCRIPTIONS, json={"callback": callback, "filter": flt,
                                                 "consumerSubscriptionId": f"smo-{uuid.uuid4().hex[:6]}"})
    assert reply.status_code == 201, reply.text
    receiver.secrets.append(reply.json()["secret"])


def notes(receiver: Receiver) -> list[dict[str, Any]]:
    """Verified notifications in arrival order, a redelivery (same notificationId) counted once."""
    seen: set[str] = set()
    bodies = []
    for record in receiver.notifications():
        if record.verified and record.body["notificationId"] not in seen:
            seen.add(record.body["notificationId"])
            bodies.append(record.body)
    return bodies


def is_ready(note: dict[str, Any], pool_id: str, replicas: int = REPLICAS) -> bool:
    """Whether `note` is the pool's "ready" modification: status ready with `replicas` nodes Ready."""
    post = note.get("postObjectState") or {}
    ext = post.get("extensions", {})
    return post.get("resourcePoolId") == pool_id and "parentId" not in post and "resourceId" not in post and \
        (ext.get("status"), ext.get("readyNodes")) == ("ready", replicas)


def pool_nodes(stack: LocalStack, pool_name: str) -> list[dict[str, Any]]:
    """The pool's Nodes as the cluster has them (EKS labels a node group's nodes with its name)."""
    nodes: list[dict[str, Any]] = json.loads(subprocess.run(
        [binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), "get", "nodes", "-l",
         f"eks.amazonaws.com/nodegroup={pool_name}", "-o", "json"],
        capture_output=True, text=True, timeout=60, check=True).stdout)["items"]
    return nodes


def last_node_ready(stack: LocalStack, pool_name: str, replicas: int = REPLICAS) -> datetime:
    nodes = pool_nodes(stack, pool_name)
    assert len(nodes) == replicas
    stamps = [c["lastTransitionTime"] for n in nodes for c in n["status"]["conditions"]
              if c["type"] == "Ready" and c["status"] == "True"]
    assert len(stamps) == replicas
    return max(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps)


@pytest.mark.timeout(900)  # a hang guard: the stack's start counts too, and this walks a whole workflow
def test_the_smo_hears_pool_creation_then_each_node_then_pool_ready(stack: LocalStack,
                                                                    smo: tuple[Receiver, str]) -> None:
    receiver, callback = smo
    name = f"vdu-{uuid.uuid4().hex[:6]}"
    # Before the POST the id is unknown: skip every object that is neither the pool of that name nor one of its nodes
    subscribe(stack, receiver, callback, f"(neq,name,{name});(ncont,groups,{name})")
    time.sleep(6)  # the pump's fan-out reads subscriptions through a 5 s cache (docs/architecture.md §4)
    posted = time.time()
    with stack.client() as client:
        reply = client.post(POOLS, json={"name": name, "location": "edge-site-1", "extensions": {
            "instanceType": "c5.metal", "replicas": REPLICAS, "cpuPinning": True}})
    assert reply.status_code == 201, reply.text
    pool = reply.json()
    pool_id = pool["resourcePoolId"]
    assert (pool["extensions"]["status"], pool["extensions"]["desiredNodes"]) == ("provisioning", REPLICAS)
    # As the seed's SMO does after the POST: subscribe on the pool's id, and wait for "ready"
    by_id = Receiver(secrets=[])
    server = serve(by_id)
    try:
        subscribe(stack, by_id, f"http://127.0.0.1:{server.server_address[1]}/notify/by-id",
                  f"(neq,resourcePoolId,{pool_id})")
        wait_until(lambda: any(is_ready(n, pool_id) for n in notes(receiver)), timeout=240, interval=1,
                   what=f"the pool ready with {REPLICAS} nodes")
        wait_until(lambda: any(is_ready(n, pool_id) for n in notes(by_id)), timeout=60, interval=1,
                   what="the id-filtered subscriber hearing ready")
    finally:
        server.shutdown()
    heard = notes(receiver)
    kinds = [(n["notificationEventType"], "pool" if "resourceId" not in n["postObjectState"] else "node")
             for n in heard if n.get("postObjectState")]
    assert kinds[0] == (0, "pool")  # the pool's creation comes first
    ready_at = next(i for i, n in enumerate(heard) if is_ready(n, pool_id))
    created_nodes = [n for n in heard[:ready_at] if n["notificationEventType"] == 0 and
                     "resourceId" in (n.get("postObjectState") or {})]
    assert len(created_nodes) == REPLICAS  # each node's creation, all before "ready"
    assert all(n["postObjectState"]["resourcePoolId"] == pool_id for n in created_nodes)
    seconds = (last_node_ready(stack, name) - datetime.fromtimestamp(posted).astimezone()).total_seconds()
    print(f"\npool POST -> last node Ready: {seconds:.1f} s ({REPLICAS} x c5.metal, default delays)")
    with stack.client() as client:
        assert client.delete(f"{POOLS}/{pool_id}").status_code == 204
