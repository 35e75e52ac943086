"""Controller behaviour seen through the official client: pods appear, get ready, scale, crash, complete, log."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from devtools.kubesim.seed import FAR_EDGE, POOL_LABEL
from tests.functional.kubesim.kubesim_helpers import eventually


def deployment(name: str, image: str = "nginx:1.27", replicas: int = 2, **pod_spec: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image}], **pod_spec}}}}


def pods_of(core: client.CoreV1Api, namespace: str, app: str) -> list[client.V1Pod]:
    return list(core.list_namespaced_pod(namespace, label_selector=f"app={app}").items)


def test_deployment_becomes_available_with_owned_running_pods(
        core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("web"))
    dep = eventually(lambda: (d := apps.read_namespaced_deployment("web", namespace)).status.ready_replicas == 2
                     and d)
    assert dep, "deployment never became ready"
    assert dep.status.observed_generation == dep.metadata.generation == 1
    assert {c.type: c.status for c in dep.status.conditions} == {"Available": "True", "Progressing": "True"}
    pods = pods_of(core, namespace, "web")
    assert len(pods) == 2
    for pod in pods:
        assert pod.status.phase == "Running" and pod.spec.node_name and pod.status.pod_ip
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert pod.metadata.labels["pod-template-hash"]


def test_scaling_changes_pod_count(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("scaled", replicas=1))
    apps.patch_namespaced_deployment_scale("scaled", namespace, {"spec": {"replicas": 4}})
    assert eventually(lambda: len(pods_of(core, namespace, "scaled")) == 4)
    apps.patch_namespaced_deployment("scaled", namespace, {"spec": {"replicas": 1}})
    assert eventually(lambda: len(pods_of(core, namespace, "scaled")) == 1)
    assert eventually(lambda: apps.read_namespaced_deployment("scaled", namespace).status.available_replicas == 1)


def test_failing_image_tag_crash_loops_and_stays_unavailable(
        core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("broken", image="nginx:fail", replicas=1))
    pod = eventually(lambda: next((p for p in pods_of(core, namespace, "broken") if p.status.container_statuses),
                                  None))
    state = pod.status.container_statuses[0]
    assert state.state.waiting.reason == "CrashLoopBackOff" and state.restart_count > 0 and not state.ready
    dep = apps.read_namespaced_deployment("broken", namespace)
    available = next(c for c in dep.status.conditions if c.type == "Available")
    assert available.status == "False" and not dep.status.ready_replicas
    assert "simulated failure" in core.read_namespaced_pod_log(pod.metadata.name, namespace)


def test_a_rollout_without_progress_exceeds_its_deadline_and_a_good_one_does_not(
        apps: client.AppsV1Api, namespace: str) -> None:
    stuck = deployment("stuck", image="nginx:fail", replicas=1)
    stuck["spec"]["progressDeadlineSeconds"] = 2
    apps.create_namespaced_deployment(namespace, stuck)
    fine = deployment("fine", replicas=1)
    fine["spec"]["progressDeadlineSeconds"] = 2
    apps.create_namespaced_deployment(namespace, fine)

    def progressing(name: str) -> tuple[str, str]:
        conditions = apps.read_namespaced_deployment(name, namespace).status.conditions or []
        cond = next(c for c in conditions if c.type == "Progressing")
        return cond.status, cond.reason

    assert progressing("stuck") == ("True", "ReplicaSetUpdated")  # within its deadline
    assert eventually(lambda: progressing("stuck") == ("False", "ProgressDeadlineExceeded"), 10)
    assert progressing("fine") == ("True", "NewReplicaSetAvailable")  # complete: no deadline applies

    # A new rollout (a fixed image) starts its own deadline and completes.
    apps.patch_namespaced_deployment("stuck", namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "stuck", "image": "nginx:1.27"}]}}}})
    assert eventually(lambda: progressing("stuck") == ("True", "NewReplicaSetAvailable"), 10)


def test_pod_logs_are_readable(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("logs", replicas=1))
    pod = eventually(lambda: next(iter(pods_of(core, namespace, "logs")), None))
    log = core.read_namespaced_pod_log(pod.metadata.name, namespace)
    assert "nginx" in log and "logs" in log
    assert core.read_namespaced_pod_log(pod.metadata.name, namespace, tail_lines=1).count("\n") == 1


def test_node_selector_places_pods_in_the_du_pool(
        core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("du", replicas=3, nodeSelector={POOL_LABEL: FAR_EDGE}))
    assert eventually(lambda: len([p for p in pods_of(core, namespace, "du") if p.spec.node_name]) == 3)
    for pod in pods_of(core, namespace, "du"):
        assert core.read_node(pod.spec.node_name).metadata.labels[POOL_LABEL] == FAR_EDGE


def test_unschedulable_pod_stays_pending(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("nowhere", replicas=1, nodeSelector={"no": "such"}))
    pod = eventually(lambda: next((p for p in pods_of(core, namespace, "nowhere") if p.status.conditions), None))
    assert pod.status.phase == "Pending" and pod.status.conditions[0].reason == "Unschedulable"
    total = len(core.list_node().items)
    assert pod.status.conditions[0].message == (  # kube-scheduler's words: every node fails the selector
        f"0/{total} nodes are available: {total} node(s) didn't match Pod's node affinity/selector. preemption: "
        f"0/{total} nodes are available: {total} Preemption is not helpful for scheduling.")


def test_deleting_a_deployment_collects_replicasets_and_pods(
        core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("gc"))
    assert eventually(lambda: len(pods_of(core, namespace, "gc")) == 2)
    apps.delete_namespaced_deployment("gc", namespace)
    assert eventually(lambda: not pods_of(core, namespace, "gc"))
    assert apps.list_namespaced_replica_set(namespace).items == []


def test_statefulset_and_daemonset_roll_out(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    labels = {"app": "db"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}
    apps.create_namespaced_stateful_set(namespace, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": labels}, "template": template}})
    sts = eventually(lambda: (s := apps.read_namespaced_stateful_set("db", namespace)).status.ready_replicas == 2
                     and s)
    assert sts and sts.status.current_revision == sts.status.update_revision
    assert sorted(p.metadata.name for p in pods_of(core, namespace, "db")) == ["db-0", "db-1"]
    agent = {"app": "agent"}
    apps.create_namespaced_daemon_set(namespace, {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": agent},
                 "template": {"metadata": {"labels": agent},
                              "spec": {"nodeSelector": {POOL_LABEL: FAR_EDGE},
                                       "containers": [{"name": "agent", "image": "sriov-agent:1"}]}}}})
    du_nodes = len(core.list_node(label_selector=f"{POOL_LABEL}={FAR_EDGE}").items)
    ds = eventually(lambda: (d := apps.read_namespaced_daemon_set("agent", namespace)).status.number_ready == du_nodes
                    and d)
    assert ds and ds.status.desired_number_scheduled == du_nodes


@pytest.mark.parametrize(("image", "outcome"), [("busybox:1.36", "Complete"), ("busybox:fail", "Failed")])
def test_jobs_complete_or_fail(api_client: client.ApiClient, namespace: str, image: str, outcome: str) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job(namespace, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never",
                                                          "containers": [{"name": "c", "image": image}]}}}})

    def finished() -> str | None:
        conditions = batch.read_namespaced_job("once", namespace).status.conditions or []
        return next((c.type for c in conditions if c.type in ("Complete", "Failed") and c.status == "True"), None)

    assert eventually(finished) == outcome
