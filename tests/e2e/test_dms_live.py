"""O2-DMS on the running local stack, as an SMO drives it: the three seed use cases over real HTTP, with helm
installing into the simulated cluster and a live SMO receiving the signed deployment events.

1. deploy a vDU (values cellId, bandwidth, replicaCount) and see it become ready;
2. scale it out, and be refused a second change while the first one runs;
3. upgrade it to a version whose pods crash, see the operation fail, roll back to the previous revision;
and finally delete it, after which its package can be deleted too.

Parametrised over the backends an SMO never has to know about: `helm` (chart archives uploaded to netweave, the helm
binary installs) and `gitops` (`extensions.deploymentType: gitops`, routed to ArgoCD: `helm-repo` packages that
kubesim's ArgoCD fetches from the local stack's chart repository, renders and applies). Where the backends differ, the
test says so: ArgoCD history records the failed upgrade's sync (it applied; its pods crashed) as an ordinary entry, and
its release state for crash-looping pods is still progressing.

One test walks one deployment through them, in order: tests of a module may run on different xdist workers (each
with its own stack), so separate tests could not share the deployment. Each use case is a function of its own, and
each assertion names the step it checks.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.chart_repo import build_repository
from devtools.smo_receiver import Receiver, serve
from tests.e2e.conftest import LocalStack, binary, eventually
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
DMS = "/o2dms/v1"
VDU_VALUES: dict[str, Any] = {"cellId": "12345", "bandwidth": "100MHz", "replicaCount": 3}
OPERATION_TIMEOUT = 90  # seconds to wait for an operation: helm --wait plus the pump's polling
FAILING_UPGRADE_TIMEOUT = 15  # helm --wait gives up after this on the crash-looping upgrade
PROGRESS_DEADLINE = 5  # the failing rollout's progressDeadlineSeconds: ArgoCD calls it Degraded after this


@dataclass
class Flow:
    """What the use cases share: the backend, the stack, the SMO and its subscription, the packages (by chart
    version) and the deployment's name and namespace."""

    backend: str
    stack: LocalStack
    smo: Receiver
    subscription: dict[str, Any]
    packages: dict[str, dict[str, Any]]
    name: str
    namespace: str

    @property
    def gitops(self) -> bool:
        return self.backend == "gitops"


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A vDU-like chart (`helm create`: a Deployment whose replicas, image tag and progress deadline come from
    values), packaged as 1.0.0 and, with the same content, 1.1.0: the failing image of use case 3 comes through values.
    The same chart the local stack's repository serves to ArgoCD (devtools/chart_repo.py)."""
    directory = build_repository(tmp_path_factory.mktemp("vdu-chart"), [("vdu", "1.0.0"), ("vdu", "1.1.0")])
    return {version: directory / f"vdu-{version}.tgz" for version in ("1.0.0", "1.1.0")}


def register_packages(backend: str, stack: LocalStack, client: httpx.Client, charts: dict[str, Path]
                      ) -> dict[str, dict[str, Any]]:
    """helm: upload the archives; gitops: register the same chart versions by reference to the chart repository."""
    packages = {}
    for version, archive in charts.items():
        if backend == "gitops":
            reply = client.post(f"{DMS}/deploymentPackages", json={
                "packageType": "helm-repo", "repositoryUrl": stack.chart_repository, "chart": "vdu",
                "version": version})
        else:
            reply = client.post(f"{DMS}/deploymentPackages", content=archive.read_bytes(),
                                headers={"Content-Type": "application/gzip"})
        assert reply.status_code == 201, f"package vdu {version}: {reply.text}"
        packages[version] = reply.json()
        assert (packages[version]["name"], packages[version]["version"]) == ("vdu", version)
    return packages


@pytest.fixture(scope="module", params=["helm", "gitops"])
def flow(request: pytest.FixtureRequest, stack: LocalStack, charts: dict[str, Path]) -> Iterator[Flow]:
    backend: str = request.param
    name, namespace = f"vdu-{backend}", f"du-{backend}"
    smo = Receiver(secrets=[], echo=False)
    server = serve(smo)
    callback = f"http://127.0.0.1:{server.server_address[1]}/o2dms/notify/{uuid.uuid4().hex[:8]}"
    with stack.client() as client:
        packages = register_packages(backend, stack, client, charts)
        reply = client.post(f"{DMS}/subscriptions", json={
            "callback": callback, "consumerSubscriptionId": f"smo-du-rollout-{backend}",
            "filter": f"(eq,namespace,{namespace})"})
        assert reply.status_code == 201, f"DMS subscription: {reply.text}"
        subscription = reply.json()
        smo.secrets.append(subscription["secret"])
        reaches_the_subscription(backend, client, smo, packages["1.0.0"], namespace)
    yield Flow(backend, stack, smo, subscription, packages, name, namespace)
    with stack.client() as client:
        client.delete(f"{DMS}/subscriptions/{subscription['subscriptionId']}")
    server.shutdown()


# --- helpers ---------------------------------------------------------------------------------------------------------


def reaches_the_subscription(backend: str, client: httpx.Client, smo: Receiver, package: dict[str, Any],
                             namespace: str) -> None:
    """Fan-out reads subscriptions through a short cache (docs/architecture.md §4), in the pump's process: deploy a
    probe release (no pods) into the subscription's namespace, and scale it again while none of its events has arrived;
    then delete it. From then on every deployment event reaches the new subscription (the cache is per kind, see
    SubscriptionStore.active)."""
    request: dict[str, Any] = {"name": "probe", "namespace": namespace, "packageId": package["packageId"],
                               "values": {"replicaCount": 0}}
    if backend == "gitops":
        request["extensions"] = {"deploymentType": "gitops"}
    reply = client.post(f"{DMS}/deployments", json=request)
    assert reply.status_code == 202, f"probe deployment: {reply.status_code} {reply.text}"
    probe: str = reply.json()["deploymentId"]
    path = f"{DMS}/deployments/{probe}"

    def idle() -> bool:
        return "activeOperationId" not in deployment(client, probe)["extensions"]

    def arrived() -> bool:
        if any(r.body.get("deploymentId") == probe for r in smo.notifications()):
            return True
        if idle():  # its last change is over, and announced too early: another one
            client.post(f"{path}/scale", json={"replicas": 0})
        return False

    try:
        wait_until(arrived, OPERATION_TIMEOUT, interval=1, what="a probe deployment event reaching the subscription")
    finally:
        wait_until(idle, OPERATION_TIMEOUT, interval=0.5, what="the probe deployment's last operation finishing")
        assert client.delete(path).status_code == 202, "probe deployment delete"
        wait_until(lambda: client.get(path).status_code == 404, OPERATION_TIMEOUT, interval=0.5,
                   what="the probe deployment deleted")




def kubectl(stack: LocalStack, *args: str) -> Any:
    out = subprocess.run([binary("kubectl"), "--kubeconfig", str(stack.kubeconfig), *args, "-o", "json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def cluster_deployments(flow: Flow) -> list[dict[str, Any]]:
    """The release's Kubernetes Deployments, as the cluster has them."""
    listed = kubectl(flow.stack, "get", "deployments", "-n", flow.namespace, "-l",
                     f"app.kubernetes.io/instance={flow.name}")
    items: list[dict[str, Any]] = listed["items"]
    return items


def cluster_pods(flow: Flow) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kubectl(flow.stack, "get", "pods", "-n", flow.namespace, "-l",
                                          f"app.kubernetes.io/instance={flow.name}")["items"]
    return items


def ready_replicas(flow: Flow) -> list[tuple[int | None, int]]:
    """(spec.replicas, status.readyReplicas) of each Deployment of the release."""
    return [(d["spec"].get("replicas"), int(d.get("status", {}).get("readyReplicas") or 0))
            for d in cluster_deployments(flow)]


def healthy_pods(flow: Flow) -> list[str]:
    """Names of the release's pods that are Running and ready (terminating ones are not counted)."""
    healthy = []
    for pod in cluster_pods(flow):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        conditions = {c["type"]: c["status"] for c in pod.get("status", {}).get("conditions", [])}
        if pod.get("status", {}).get("phase") == "Running" and conditions.get("Ready") == "True":
            healthy.append(pod["metadata"]["name"])
    return healthy


def deployed_values(flow: Flow) -> dict[str, Any]:
    """The values the cluster runs: helm's release values, or those of ArgoCD's last sync of the Application."""
    if flow.gitops:
        app = kubectl(flow.stack, "get", "applications.argoproj.io", f"{flow.namespace}.{flow.name}", "-n", "argocd")
        synced: dict[str, Any] = app["status"]["history"][-1]["source"]["helm"]["valuesObject"]
        return synced
    out = subprocess.run([binary("helm"), "--kubeconfig", str(flow.stack.kubeconfig), "get", "values", flow.name,
                          "--namespace", flow.namespace, "--output", "json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    values: dict[str, Any] = json.loads(out) or {}
    return values


def when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def accepted_operation(step: str, reply: httpx.Response, operation_type: str) -> dict[str, Any]:
    """A 202 whose body is the operation just queued; returns it."""
    assert reply.status_code == 202, f"{step}: expected 202, got {reply.status_code}: {reply.text}"
    operation: dict[str, Any] = reply.json()
    assert operation["operationType"] == operation_type, f"{step}: {operation}"
    assert operation["status"] in ("queued", "running"), f"{step}: {operation}"
    assert operation["href"] == f"{DMS}/operations/{operation['operationId']}", f"{step}: {operation}"
    return operation


def finished(step: str, client: httpx.Client, operation_id: str, timeout: float = OPERATION_TIMEOUT
             ) -> dict[str, Any]:
    """Poll the operation as an SMO does until it has finished; fail naming the step if it does not."""
    path = f"{DMS}/operations/{operation_id}"

    def done() -> dict[str, Any] | None:
        reply = client.get(path)
        assert reply.status_code == 200, f"{step}: GET {path}: {reply.status_code} {reply.text}"
        body: dict[str, Any] = reply.json()
        return body if body["status"] in ("succeeded", "failed") else None

    operation = eventually(done, timeout=timeout)
    assert operation, f"{step}: operation not finished after {timeout} s: {client.get(path).text}"
    result: dict[str, Any] = operation
    return result


def succeeded(step: str, client: httpx.Client, operation_id: str) -> dict[str, Any]:
    operation = finished(step, client, operation_id)
    assert operation["status"] == "succeeded", f"{step}: operation did not succeed: {operation}"
    assert operation["progress"], f"{step}: no progress messages: {operation}"
    assert "error" not in operation or operation["error"] is None, f"{step}: {operation}"
    created, started, ended = (when(operation[k]) for k in ("createdAt", "startedAt", "finishedAt"))
    assert created <= started <= ended, f"{step}: timestamps out of order: {operation}"
    return operation


def deployment(client: httpx.Client, deployment_id: str) -> dict[str, Any]:
    reply = client.get(f"{DMS}/deployments/{deployment_id}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def reaches(step: str, client: httpx.Client, deployment_id: str, status: str, timeout: float = 30
            ) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        body = deployment(client, deployment_id)
        return body if body["status"] == status else None

    body = eventually(check, timeout=timeout)
    assert body, f"{step}: deployment not {status} after {timeout} s: {deployment(client, deployment_id)}"
    result: dict[str, Any] = body
    return result


def problem(step: str, reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, f"{step}: expected {status}, got {reply.status_code}: {reply.text}"
    assert reply.headers["content-type"] == "application/problem+json", f"{step}: {reply.headers}"
    body: dict[str, Any] = reply.json()
    assert body["status"] == status and body.get("title") and body.get("detail"), f"{step}: {body}"
    return body


def events(flow: Flow, deployment_id: str) -> list[dict[str, Any]]:
    """The deployment's notifications the SMO received, oldest first by their own timestamp."""
    notes = [r.body for r in flow.smo.notifications() if r.body.get("deploymentId") == deployment_id]
    return sorted(notes, key=lambda n: when(n["timestamp"]))


def received(step: str, flow: Flow, deployment_id: str, event_type: str, timeout: float = 30) -> dict[str, Any]:
    """Wait for one notification of this type about the deployment; check what every SMO relies on in it."""
    notes = eventually(lambda: [n for n in events(flow, deployment_id) if n["eventType"] == event_type],
                       timeout=timeout)
    seen = [n["eventType"] for n in events(flow, deployment_id)]
    assert notes, f"{step}: no {event_type} notification within {timeout} s; received {seen}"
    note: dict[str, Any] = notes[-1]
    assert note["objectRef"] == f"{DMS}/deployments/{deployment_id}", f"{step}: {note}"
    assert note["consumerSubscriptionId"] == flow.subscription["consumerSubscriptionId"], f"{step}: {note}"
    # docs/dms.md: `deployment` is the state after the event, `priorDeployment` the one before; a deletion has no after.
    state = "priorDeployment" if event_type == "DeploymentDeleted" else "deployment"
    assert (note.get(state) or {}).get("deploymentId") == deployment_id, (
        f"{step}: {event_type} does not carry the deployment in {state}: {note}")
    unverified = [r.body for r in flow.smo.notifications() if not r.verified]
    assert not unverified, f"{step}: notifications whose signature did not verify: {unverified}"
    return note


# --- the use cases -------------------------------------------------------------------------------------------------


def test_a_vdu_deployed_scaled_upgraded_rolled_back_and_deleted(flow: Flow) -> None:
    deployment_id = deploy_a_vdu_and_see_it_ready(flow)
    scale_out_while_a_concurrent_change_is_refused(flow, deployment_id)
    failed_upgrade_then_rollback_to_the_previous_revision(flow, deployment_id)
    delete_the_deployment_then_its_package(flow, deployment_id)


def deploy_a_vdu_and_see_it_ready(flow: Flow) -> str:
    """Use case 1: an SMO deploys a vDU with its cell parameters and learns when it is ready."""
    stack, package = flow.stack, flow.packages["1.0.0"]
    with stack.client() as client:
        request: dict[str, Any] = {"name": flow.name, "namespace": flow.namespace, "packageId": package["packageId"],
                                   "values": VDU_VALUES}
        if flow.gitops:
            request["extensions"] = {"deploymentType": "gitops"}
        reply = client.post(f"{DMS}/deployments", json=request)
        assert reply.status_code == 202, f"create: {reply.status_code} {reply.text}"
        created = reply.json()
        backend = "argocd" if flow.gitops else "helm"
        assert created["extensions"]["dmsAdapter"] == backend, f"create: routed to {created['extensions']}"
        deployment_id: str = created["deploymentId"]
        assert reply.headers["location"] == f"{DMS}/deployments/{deployment_id}", f"create: {reply.headers}"
        assert created["status"] == "pending", f"create: {created}"
        assert (created["name"], created["namespace"], created["packageId"], created["packageVersion"]) == (
            flow.name, flow.namespace, package["packageId"], "1.0.0"), f"create: {created}"
        assert created["values"] == VDU_VALUES, f"create: {created}"
        operation_id = created["extensions"]["activeOperationId"]
        assert reply.headers["link"] == f'<{DMS}/operations/{operation_id}>; rel="monitor"', f"create: {reply.headers}"

        operation = succeeded("create operation", client, operation_id)
        assert operation["operationType"] == "create" and operation["deploymentId"] == deployment_id, operation
        assert operation["result"]["revision"] == 1, f"create operation: {operation}"
        ready = reaches("create", client, deployment_id, "deployed")
        assert ready["extensions"]["revision"] == 1, f"create: {ready}"
        assert "activeOperationId" not in ready["extensions"], f"create: lock not released: {ready}"
        assert ready["extensions"].get("lastOperationId") == operation_id, f"create: {ready}"
        listed = client.get(f"{DMS}/deployments", params={"filter": "(eq,status,deployed)"})
        assert deployment_id in {d["deploymentId"] for d in listed.json()}, f"list deployed: {listed.text}"

        status = client.get(f"{DMS}/deployments/{deployment_id}/status")
        assert status.status_code == 200, f"status: {status.text}"
        observed = status.json()
        assert observed["ready"] is True and observed["status"] == "deployed", f"status: {observed}"
        # helm reads the chart's appVersion from its release; ArgoCD's Application does not carry one.
        assert (observed["release"]["chartVersion"], observed["release"].get("appVersion")) == (
            "1.0.0", None if flow.gitops else "2.1.0"), f"status: {observed}"
        assert [(w["kind"], w["desired"], w["ready"]) for w in observed["workloads"]] == [("Deployment", 3, 3)], (
            f"status: {observed}")
        assert [(p["phase"], p["ready"]) for p in observed["pods"]] == [("Running", True)] * 3, f"status: {observed}"

    created_note = received("create events", flow, deployment_id, "DeploymentCreated")
    ready_note = received("create events", flow, deployment_id, "DeploymentReady")
    assert when(created_note["timestamp"]) <= when(ready_note["timestamp"]), "create events: Ready before Created"
    assert ready_note["deployment"]["status"] == "deployed", f"create events: {ready_note}"

    assert ready_replicas(flow) == [(3, 3)], f"cluster after create: {ready_replicas(flow)}"
    values = deployed_values(flow)
    assert (values.get("cellId"), values.get("bandwidth"), values.get("replicaCount")) == ("12345", "100MHz", 3), (
        f"helm values in the cluster: {values}")
    return deployment_id


def scale_out_while_a_concurrent_change_is_refused(flow: Flow, deployment_id: str) -> None:
    """Use case 2: scale out; a second change while the first is queued or running is refused."""
    stack = flow.stack
    path = f"{DMS}/deployments/{deployment_id}/scale"
    with stack.client() as client:
        first = client.post(path, json={"replicas": 5})
        second = client.post(path, json={"replicas": 6})  # back to back: the first is still queued or running
        operation = accepted_operation("scale", first, "scale")
        assert operation["deploymentId"] == deployment_id and operation["parameters"].get("replicas") == 5, (
            f"scale: {operation}")
        refused = problem("concurrent scale", second, 409)
        assert refused["type"].endswith("operation-in-progress"), f"concurrent scale: {refused}"
        assert operation["operationId"] in refused["detail"], f"concurrent scale must name the running one: {refused}"

        done = succeeded("scale operation", client, operation["operationId"])
        assert done["result"]["revision"] == 2, f"scale operation: {done}"
        scaled = reaches("scale", client, deployment_id, "deployed")
        assert scaled["extensions"]["revision"] == 2, f"scale: {scaled}"
        assert scaled["extensions"].get("replicas") == {"desired": 5, "ready": 5}, f"scale: {scaled}"
        assert scaled["values"] == {**VDU_VALUES, "replicaCount": 5}, f"scale: values must show 5: {scaled}"

    note = received("scale events", flow, deployment_id, "DeploymentScaled")
    assert note["deployment"]["extensions"]["revision"] == 2, f"scale events: {note}"
    assert ready_replicas(flow) == [(5, 5)], f"cluster after scale: {ready_replicas(flow)}"
    assert len(healthy_pods(flow)) == 5, f"cluster after scale: {cluster_pods(flow)}"
    assert deployed_values(flow).get("cellId") == "12345", "scale must keep the other values"


def failed_upgrade_then_rollback_to_the_previous_revision(flow: Flow, deployment_id: str) -> None:
    """Use case 3: an upgrade whose pods crash fails with the reason; rolling back restores the service."""
    stack, old, new = flow.stack, flow.packages["1.0.0"], flow.packages["1.1.0"]
    with stack.client() as client:
        reply = client.post(f"{DMS}/deployments/{deployment_id}/upgrade", json={
            "packageId": new["packageId"], "values": {**VDU_VALUES, "replicaCount": 5, "image": {"tag": "fail"},
                                                      "progressDeadlineSeconds": PROGRESS_DEADLINE},
            "timeoutSeconds": FAILING_UPGRADE_TIMEOUT})
        upgrade = accepted_operation("upgrade", reply, "upgrade")
        failed = finished("failing upgrade", client, upgrade["operationId"])
        assert failed["status"] == "failed", f"failing upgrade: should fail, got {failed}"
        error = failed.get("error") or {}
        assert error.get("title") and error.get("status"), f"failing upgrade: no ProblemDetails error: {failed}"
        assert "CrashLoopBackOff" in error.get("detail", "") and f"{flow.name}-" in error["detail"], (
            f"failing upgrade: the error must name the crashing pods: {error}")
        broken = reaches("failing upgrade", client, deployment_id, "failed")
        assert broken["extensions"].get("statusReason"), f"failing upgrade: no statusReason: {broken}"
        assert "activeOperationId" not in broken["extensions"], f"failing upgrade: lock not released: {broken}"
        observed = client.get(f"{DMS}/deployments/{deployment_id}/status").json()
        # helm gave up waiting; ArgoCD saw the rollout pass its progress deadline (Degraded): both call it failed.
        assert observed["ready"] is False and observed["release"]["status"] == "failed", f"status: {observed}"
        if flow.gitops:
            assert broken["extensions"]["argocd"]["healthStatus"] == "Degraded", f"failing upgrade: {broken}"
        assert "CrashLoopBackOff" in {p.get("reason") for p in observed["pods"]}, f"status: {observed}"
        note = received("failing upgrade events", flow, deployment_id, "DeploymentFailed")
        assert note["deployment"]["status"] == "failed", f"failing upgrade events: {note}"

        rollback = accepted_operation("rollback", client.post(f"{DMS}/deployments/{deployment_id}/rollback",
                                                              json={}), "rollback")
        rolled = succeeded("rollback operation", client, rollback["operationId"])
        assert rolled["result"]["revision"] == 4, f"rollback operation: {rolled}"
        healthy = reaches("rollback", client, deployment_id, "deployed")
        assert healthy["extensions"]["revision"] == 4, f"rollback: {healthy}"
        assert (healthy["packageId"], healthy["packageVersion"]) == (old["packageId"], "1.0.0"), (
            f"rollback: the deployment must show the package it runs again: {healthy}")
        assert healthy["values"] == {**VDU_VALUES, "replicaCount": 5}, (
            f"rollback: the values must be those of revision 2 again, without the failing image: {healthy}")

        reply = client.get(f"{DMS}/deployments/{deployment_id}/history")
        assert reply.status_code == 200, f"history: {reply.text}"
        history = reply.json()
        failed_revision = "superseded" if flow.gitops else "failed"  # ArgoCD's history has no failed state
        assert [(r["revision"], r["status"], r["packageVersion"]) for r in history] == [
            (1, "superseded", "1.0.0"), (2, "superseded", "1.0.0"), (3, failed_revision, "1.1.0"),
            (4, "deployed", "1.0.0")], f"history: {history}"
        assert history[3]["chart"] == "vdu-1.0.0", f"history: the last revision runs 1.0.0 again: {history}"
        if not flow.gitops:
            assert "2" in (history[3].get("description") or ""), f"history: helm's rollback to 2: {history}"

    received("rollback events", flow, deployment_id, "DeploymentRolledBack")
    assert eventually(lambda: ready_replicas(flow) == [(5, 5)] and len(healthy_pods(flow)) == 5, timeout=30), (
        f"cluster after rollback: {ready_replicas(flow)}, pods {[p['metadata']['name'] for p in cluster_pods(flow)]}")
    images = {c["image"] for p in cluster_pods(flow) if not p["metadata"].get("deletionTimestamp")
              for c in p["spec"]["containers"]}
    assert not any(image.endswith(":fail") for image in images), f"cluster after rollback: {images}"


def delete_the_deployment_then_its_package(flow: Flow, deployment_id: str) -> None:
    """Finally: a package cannot be deleted while deployed; the deployment can, and then the package."""
    stack, packages = flow.stack, flow.packages
    with stack.client() as client:
        in_use = client.delete(f"{DMS}/deploymentPackages/{packages['1.0.0']['packageId']}")
        problem("package delete while deployed", in_use, 409)

        operation = accepted_operation("delete", client.delete(f"{DMS}/deployments/{deployment_id}"), "delete")
        succeeded("delete operation", client, operation["operationId"])
        gone = eventually(lambda: client.get(f"{DMS}/deployments/{deployment_id}").status_code == 404, timeout=30)
        assert gone, f"delete: GET still answers {client.get(f'{DMS}/deployments/{deployment_id}').text}"
        problem("delete", client.get(f"{DMS}/deployments/{deployment_id}"), 404)
        listed = client.get(f"{DMS}/deployments").json()
        assert deployment_id not in {d["deploymentId"] for d in listed}, f"delete: still listed: {listed}"

        assert eventually(lambda: not cluster_deployments(flow), timeout=30), (
            f"delete: still in the cluster: {cluster_deployments(flow)}")

        for version, package in packages.items():
            reply = client.delete(f"{DMS}/deploymentPackages/{package['packageId']}")
            assert reply.status_code == 204, f"package {version} delete after the deployment: {reply.text}"
    note = received("delete events", flow, deployment_id, "DeploymentDeleted")
    assert "deployment" not in note and (note["priorDeployment"]["name"], note["priorDeployment"]["namespace"]) == (
        flow.name, flow.namespace), f"delete events: the SMO must learn which deployment went: {note}"
