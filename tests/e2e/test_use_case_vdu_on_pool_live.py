"""The seed's use case 1, whole, on the running local stack, as an SMO drives it over HTTP (with use cases 2 and 3 on
the same deployment): create a pool with the seed's body → subscribe (inventory on the pool and its nodes, DMS on
the deployment's namespace) → wait for "pool ready" → upload the vDU package by `packageURL` with its checksum →
deploy it with the seed's values onto the pool → hear it progress and become ready → every pod runs on a node of the
pool → scale to 5 → a failing upgrade, then a rollback → delete the deployment and the pool, whose nodes leave the
cluster while the SMO hears each deletion.

The pool has 3 nodes instead of the seed's 10, to keep CI time down: each node joins `KUBESIM_NODE_JOIN_SECONDS` (3)
after the previous one and turns Ready `KUBESIM_NODE_READY_SECONDS` (10) later; test_pool_ready_live.py runs the
seed's 10. The walk-through in README.md ("Use case 1: a vDU on a new pool") is this test with curl.

The charts are served by a plain HTTP server on 127.0.0.1, which the local stack's address policy admits
(`NETWEAVE_CALLBACK_ALLOWED_NETWORKS=127.0.0.0/8`, the policy `packageUrl` downloads share with callbacks).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from devtools.chart_repo import ChartRepository, build_repository
from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack
from tests.e2e.test_dms_live import (
    DMS,
    FAILING_UPGRADE_TIMEOUT,
    OPERATION_TIMEOUT,
    Flow,
    accepted_operation,
    cluster_pods,
    finished,
    healthy_pods,
    reaches,
    received,
    succeeded,
)
from tests.e2e.test_pool_ready_live import POOLS, SUBSCRIPTIONS, is_ready, last_node_ready, notes, pool_nodes
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
NODES = 3
POOL_TIMEOUT = 180  # seconds for the pool to fill or empty: 3 nodes one by one, plus the pump's polls, on a busy CI
SEED_VALUES: dict[str, Any] = {"cellId": "12345", "bandwidth": "100MHz", "replicaCount": 3}


@pytest.fixture(scope="module")
def chart_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The vDU's repository, as `https://repo.example.com` is to the seed's SMO: vdu 2.1.0, and vdu 2.2.0 whose
    pods crash (its image tag defaults to its appVersion, `fail`, which kubesim's containers crash-loop on). Yields
    the base URL and each version's sha256."""
    directory = build_repository(tmp_path_factory.mktemp("vdu-repo"), [("vdu", "2.1.0")])
    build_repository(directory, [("vdu", "2.2.0")], app_version="fail")
    digests = {v: hashlib.sha256((directory / f"vdu-{v}.tgz").read_bytes()).hexdigest() for v in ("2.1.0", "2.2.0")}
    with ChartRepository(directory) as repository:
        yield repository.url, digests


@pytest.fixture()
def smo() -> Iterator[tuple[Receiver, str]]:
    """One SMO endpoint for both subscriptions, so its record is the order the SMO heard everything in."""
    receiver = Receiver(secrets=[], echo=False)
    server = serve(receiver)
    yield receiver, f"http://127.0.0.1:{server.server_address[1]}/o2/notify"
    server.shutdown()


def subscribe(client: httpx.Client, receiver: Receiver, path: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = client.post(path, json=body)
    assert reply.status_code == 201, f"subscribe at {path}: {reply.text}"
    subscription: dict[str, Any] = reply.json()
    receiver.secrets.append(subscription["secret"])
    return subscription


def summary(note: dict[str, Any]) -> str:
    """One line per notification: what an SMO log would say."""
    if "eventType" in note:
        state = note.get("deployment") or note.get("priorDeployment") or {}
        return f"{note['eventType']} ({state.get('status')}, revision {state.get('extensions', {}).get('revision')})"
    state = note.get("postObjectState") or note.get("priorObjectState") or {}
    verb = ("create", "modify", "delete")[note["notificationEventType"]]
    ext = state.get("extensions", {})
    if "parentId" in state:
        return f"{verb} component {state.get('description') or state.get('resourceId')}"
    if "resourceId" in state:
        return f"{verb} node {ext.get('name')} (ready: {ext.get('ready')})"
    return f"{verb} pool {state.get('name')} ({ext.get('status')}, {ext.get('readyNodes')}/{ext.get('desiredNodes')})"


def inventory(heard: list[dict[str, Any]], event_type: int, kind: str) -> list[dict[str, Any]]:
    """The inventory notifications of one event type about nodes (`node`) or the pool (`pool`); a node's components
    (NUMA nodes, NICs, ...: `parentId` set) are neither."""
    found = []
    for note in heard:
        state = note.get("postObjectState") or note.get("priorObjectState") or {}
        what = "pool" if "resourceId" not in state else "component" if "parentId" in state else "node"
        if note.get("notificationEventType") == event_type and what == kind:
            found.append(note)
    return found


def pods_on(flow: Flow, nodes: set[str]) -> list[str]:
    """The release's live pods whose node is not one of `nodes` (by name: `pod -> node`); empty is what we want."""
    strays = []
    for pod in cluster_pods(flow):
        if not pod["metadata"].get("deletionTimestamp") and pod["spec"].get("nodeName") not in nodes:
            strays.append(f"{pod['metadata']['name']} -> {pod['spec'].get('nodeName')}")
    return strays


@pytest.mark.timeout(900)  # a hang guard: the stack's start counts too, and this walks a whole workflow
def test_a_vdu_on_a_new_pool_from_pool_post_to_pool_delete(stack: LocalStack, smo: tuple[Receiver, str],
                                                           chart_server: tuple[str, dict[str, str]]) -> None:
    receiver, callback = smo
    suffix = uuid.uuid4().hex[:6]
    pool_name, name, namespace = f"vDU-Pool-{suffix}", "vdu-edge-site-1", f"vdu-ns-{suffix}"
    with stack.client() as client:
        # The pool's id is known only once the POST answers: subscribe on the name it will have, to hear its creation
        # (docs/subscriptions.md, "Waiting for a pool to be ready"); the DMS subscription selects the namespace.
        ims = subscribe(client, receiver, SUBSCRIPTIONS, {
            "callback": callback, "consumerSubscriptionId": "smo-pool",
            "filter": f"(neq,name,{pool_name});(ncont,groups,{pool_name})"})
        dms = subscribe(client, receiver, f"{DMS}/subscriptions", {
            "callback": callback, "consumerSubscriptionId": "smo-vdu", "filter": f"(eq,namespace,{namespace})"})
    time.sleep(6)  # the pump's fan-out reads subscriptions through a 5 s cache (docs/architecture.md §4)
    flow = Flow("helm", stack, receiver, dms, {}, name, namespace)
    try:
        pool_id = create_the_pool_and_wait_until_ready(stack, receiver, pool_name)
        nodes = {n["metadata"]["name"] for n in pool_nodes(stack, pool_name)}
        flow.packages = upload_by_url(stack, *chart_server)
        deployment_id = deploy_onto_the_pool(flow, pool_id, pool_name, nodes)
        scale_to_five_on_the_pool(flow, deployment_id, nodes)
        failed_upgrade_then_rollback(flow, deployment_id, nodes)
        delete_the_deployment_then_the_pool(flow, deployment_id, pool_id, pool_name, nodes)
    finally:
        print(f"\nnotifications the SMO received, in order ({pool_name}; {name} in {namespace}):")
        for note in notes(receiver):
            print(f"  {summary(note)}")
        with stack.client() as client:  # later tests' events must not queue up for this receiver
            client.delete(f"{SUBSCRIPTIONS}/{ims['subscriptionId']}")
            client.delete(f"{DMS}/subscriptions/{dms['subscriptionId']}")


def create_the_pool_and_wait_until_ready(stack: LocalStack, receiver: Receiver, pool_name: str) -> str:
    """Use case 1, steps 2-3: the seed's body (3 nodes); the SMO learns "pool ready with 3 nodes"."""
    posted = datetime.now().astimezone()
    with stack.client() as client:
        reply = client.post(POOLS, json={"name": pool_name, "location": "edge-site-1", "extensions": {
            "instanceType": "c5.metal", "replicas": NODES, "cpuPinning": True}})
    assert reply.status_code == 201, f"pool POST: {reply.text}"
    pool = reply.json()
    pool_id: str = pool["resourcePoolId"]
    assert (pool["name"], pool["location"]) == (pool_name, "edge-site-1"), f"pool POST: {pool}"
    ext = pool["extensions"]
    assert (ext["status"], ext["readyNodes"], ext["desiredNodes"], ext["instanceType"]) == (
        "provisioning", 0, NODES, "c5.metal"), f"pool POST: {ext}"
    assert ext["nodeSelector"] == {"eks.amazonaws.com/nodegroup": pool_name}, f"pool POST: placeable? {ext}"

    wait_until(lambda: any(is_ready(n, pool_id, NODES) for n in notes(receiver)), timeout=POOL_TIMEOUT, interval=1,
               what=f"the SMO hearing the pool ready with {NODES} nodes")
    heard = notes(receiver)
    ready_at = next(i for i, n in enumerate(heard) if is_ready(n, pool_id, NODES))
    assert summary(heard[0]).startswith(f"create pool {pool_name} (provisioning"), "pool's creation comes first"
    joined = inventory(heard[:ready_at], 0, "node")
    assert len(joined) == NODES, f"each node's creation before ready: {[summary(n) for n in heard]}"
    assert {n["postObjectState"]["resourcePoolId"] for n in joined} == {pool_id}
    seconds = (last_node_ready(stack, pool_name, NODES) - posted).total_seconds()
    print(f"\npool POST -> last node Ready: {seconds:.1f} s ({NODES} x c5.metal, default delays)")
    with stack.client() as client:
        ready = client.get(f"/o2ims-infrastructureInventory/v1/resourcePools/{pool_id}").json()["extensions"]
    assert (ready["status"], ready["readyNodes"], ready.get("cpuPinning")) == ("ready", NODES, True), ready
    nodes = pool_nodes(stack, pool_name)
    assert all(n["metadata"]["labels"].get("netweave.io/cpu-manager-policy") == "static" for n in nodes), (
        "cpuPinning: every node of the pool runs the static CPU manager")
    return pool_id


def upload_by_url(stack: LocalStack, base: str, digests: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Use case 1, step 4, with the seed's body (`packageURL`, `packageType`, `checksum`); and the failing 2.2.0."""
    packages = {}
    with stack.client() as client:
        wrong = client.post(f"{DMS}/deploymentPackages", json={
            "packageURL": f"{base}/vdu-2.1.0.tgz", "packageType": "helm", "checksum": f"sha256:{'0' * 64}"})
        assert wrong.status_code == 422, f"a checksum mismatch must be refused: {wrong.text}"
        for version, digest in digests.items():
            url = f"{base}/vdu-{version}.tgz"
            reply = client.post(f"{DMS}/deploymentPackages", json={
                "packageURL": url, "packageType": "helm", "checksum": f"sha256:{digest}"})
            assert reply.status_code == 201, f"package {version} by URL: {reply.text}"
            package = reply.json()
            assert (package["name"], package["version"], package["source"], package["checksum"]) == (
                "vdu", version, url, f"sha256:{digest}"), f"package {version}: {package}"
            packages[version] = package
    return packages


def deploy_onto_the_pool(flow: Flow, pool_id: str, pool_name: str, nodes: set[str]) -> str:
    """Use case 1, steps 5-6: the seed's deployment body; progressing, then ready; every pod on a pool node."""
    with flow.stack.client() as client:
        reply = client.post(f"{DMS}/deployments", json={
            "name": flow.name, "packageId": flow.packages["2.1.0"]["packageId"], "resourcePoolId": pool_id,
            "namespace": flow.namespace, "values": SEED_VALUES})
        assert reply.status_code == 202, f"deploy: {reply.text}"
        created = reply.json()
        deployment_id: str = created["deploymentId"]
        assert (created["resourcePoolId"], created["status"]) == (pool_id, "pending"), f"deploy: {created}"
        assert created["extensions"]["nodeSelector"] == {"eks.amazonaws.com/nodegroup": pool_name}, created
        succeeded("deploy operation", client, created["extensions"]["activeOperationId"])
        ready = reaches("deploy", client, deployment_id, "deployed")
        assert ready["extensions"]["replicas"] == {"desired": 3, "ready": 3}, f"deploy: {ready}"
    created_note = received("deploy events", flow, deployment_id, "DeploymentCreated")
    ready_note = received("deploy events", flow, deployment_id, "DeploymentReady")
    assert created_note["deployment"]["status"] in ("pending", "deploying"), f"progressing: {created_note}"
    assert ready_note["deployment"]["status"] == "deployed", f"ready: {ready_note}"
    assert len(healthy_pods(flow)) == 3, f"after deploy: {cluster_pods(flow)}"
    assert not pods_on(flow, nodes), f"pods off the pool {sorted(nodes)}: {pods_on(flow, nodes)}"
    return deployment_id


def scale_to_five_on_the_pool(flow: Flow, deployment_id: str, nodes: set[str]) -> None:
    """Use case 2: scale to 5; the new pods are placed on the pool too."""
    with flow.stack.client() as client:
        operation = accepted_operation("scale", client.post(f"{DMS}/deployments/{deployment_id}/scale",
                                                            json={"replicas": 5}), "scale")
        succeeded("scale operation", client, operation["operationId"])
        scaled = reaches("scale", client, deployment_id, "deployed")
        assert scaled["extensions"]["replicas"] == {"desired": 5, "ready": 5}, f"scale: {scaled}"
    received("scale events", flow, deployment_id, "DeploymentScaled")
    assert len(healthy_pods(flow)) == 5, f"after scale: {cluster_pods(flow)}"
    assert not pods_on(flow, nodes), f"pods off the pool after scale: {pods_on(flow, nodes)}"


def failed_upgrade_then_rollback(flow: Flow, deployment_id: str, nodes: set[str]) -> None:
    """Use case 3: the upgrade to 2.2.0 fails its health checks (pods crash-loop); the SMO rolls back to the last
    good revision (no `revision`: the newest that did not fail, here the scaled one), which is ready again."""
    with flow.stack.client() as client:
        upgrade = accepted_operation("upgrade", client.post(f"{DMS}/deployments/{deployment_id}/upgrade", json={
            "packageId": flow.packages["2.2.0"]["packageId"], "timeoutSeconds": FAILING_UPGRADE_TIMEOUT}), "upgrade")
        failed = finished("failing upgrade", client, upgrade["operationId"])
        assert failed["status"] == "failed", f"failing upgrade: {failed}"
        assert "CrashLoopBackOff" in failed["error"]["detail"], f"failing upgrade: the reason: {failed}"
        reaches("failing upgrade", client, deployment_id, "failed")
        rollback = accepted_operation("rollback", client.post(f"{DMS}/deployments/{deployment_id}/rollback",
                                                              json={}), "rollback")
        succeeded("rollback operation", client, rollback["operationId"])
        healthy = reaches("rollback", client, deployment_id, "deployed", timeout=OPERATION_TIMEOUT)
        assert (healthy["packageVersion"], healthy["values"]) == ("2.1.0", {**SEED_VALUES, "replicaCount": 5}), (
            f"rollback: back on 2.1.0 with 5 replicas: {healthy}")
    received("failing upgrade events", flow, deployment_id, "DeploymentFailed")
    received("rollback events", flow, deployment_id, "DeploymentRolledBack")
    wait_until(lambda: len(healthy_pods(flow)) == 5 and not pods_on(flow, nodes), timeout=60, interval=1,
               what="5 healthy pods on the pool after the rollback")


def delete_the_deployment_then_the_pool(flow: Flow, deployment_id: str, pool_id: str, pool_name: str,
                                        nodes: set[str]) -> None:
    """The end: the deployment and its packages go, then the pool; its nodes leave the cluster, and the SMO hears
    each node's deletion and the pool's."""
    with flow.stack.client() as client:
        operation = accepted_operation("delete", client.delete(f"{DMS}/deployments/{deployment_id}"), "delete")
        succeeded("delete operation", client, operation["operationId"])
        for version, package in flow.packages.items():
            reply = client.delete(f"{DMS}/deploymentPackages/{package['packageId']}")
            assert reply.status_code == 204, f"package {version} delete: {reply.text}"
        reply = client.delete(f"/o2ims/v1/resourcePools/{pool_id}")
        assert reply.status_code == 204, f"pool DELETE: {reply.text}"
    received("delete events", flow, deployment_id, "DeploymentDeleted")
    wait_until(lambda: not pool_nodes(flow.stack, pool_name), timeout=POOL_TIMEOUT, interval=1,
               what="the pool's nodes leaving the cluster")

    def deletions_heard() -> bool:
        heard = notes(flow.smo)
        return len(inventory(heard, 2, "node")) == NODES and len(inventory(heard, 2, "pool")) == 1

    wait_until(deletions_heard, timeout=POOL_TIMEOUT, interval=1, what="the SMO hearing each node's and the pool's "
               "deletion")
    heard = notes(flow.smo)
    gone = {n["priorObjectState"]["extensions"]["name"] for n in inventory(heard, 2, "node")}
    assert gone == nodes, f"node deletions: {gone} != {nodes}"
    assert heard.index(inventory(heard, 2, "pool")[0]) > max(heard.index(n) for n in inventory(heard, 2, "node")), (
        "the pool's deletion comes after its nodes'")
