"""The real helm 3 binary against kubesim: the full release lifecycle, and a release that never becomes ready."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes import client

from tests.functional.kubesim.kubesim_helpers import Run


def releases(helm: Run, namespace: str) -> dict[str, dict[str, str]]:
    return {r["name"]: r for r in json.loads(helm("list", "-n", namespace, "-o", "json").stdout)}


def test_release_lifecycle(helm: Run, chart: Path, namespace: str, apps: client.AppsV1Api,
                           core: client.CoreV1Api) -> None:
    helm("install", "web", str(chart), "-n", namespace, "--wait", "--timeout", "30s")
    assert releases(helm, namespace)["web"]["status"] == "deployed"
    assert apps.read_namespaced_deployment("web-demo", namespace).status.ready_replicas == 1

    helm("upgrade", "web", str(chart), "-n", namespace, "--wait", "--timeout", "30s", "--set", "replicaCount=3")
    assert apps.read_namespaced_deployment("web-demo", namespace).status.ready_replicas == 3
    history = json.loads(helm("history", "web", "-n", namespace, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    assert "replicaCount: 3" in helm("get", "values", "web", "-n", namespace).stdout

    helm("rollback", "web", "1", "-n", namespace, "--wait", "--timeout", "30s")
    assert releases(helm, namespace)["web"]["revision"] == "3"
    assert apps.read_namespaced_deployment("web-demo", namespace).spec.replicas == 1
    pod = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=web").items[0]
    assert "nginx" in core.read_namespaced_pod_log(pod.metadata.name, namespace)

    helm("uninstall", "web", "-n", namespace, "--wait")
    assert releases(helm, namespace) == {}
    assert apps.list_namespaced_deployment(namespace).items == []
    assert core.list_namespaced_secret(namespace, label_selector="owner=helm").items == []


def test_release_storage_is_decoded_from_protobuf(helm: Run, chart: Path, namespace: str,
                                                  core: client.CoreV1Api) -> None:
    # helm writes its release Secrets as protobuf; they must read back as normal JSON Secrets.
    helm("install", "stored", str(chart), "-n", namespace)
    secret = core.read_namespaced_secret("sh.helm.release.v1.stored.v1", namespace)
    assert secret.type == "helm.sh/release.v1"
    labels = secret.metadata.labels
    assert {k: labels[k] for k in ("name", "owner", "status", "version")} == {
        "name": "stored", "owner": "helm", "status": "deployed", "version": "1"}
    assert secret.data["release"]
    assert "stored" in helm("status", "stored", "-n", namespace).stdout


def test_failing_release_times_out_with_crash_looping_pods(helm: Run, chart: Path, namespace: str,
                                                           core: client.CoreV1Api) -> None:
    result = helm("install", "bad", str(chart), "-n", namespace, "--wait", "--timeout", "5s",
                  "--set", "image.tag=fail", check=False)
    assert result.returncode != 0
    assert "context deadline exceeded" in result.stderr or "timed out" in result.stderr
    assert releases(helm, namespace)["bad"]["status"] == "failed"
    pod = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/instance=bad").items[0]
    waiting = pod.status.container_statuses[0].state.waiting
    assert waiting.reason == "CrashLoopBackOff"


def test_chart_with_ingress_and_autoscaler(helm: Run, chart: Path, namespace: str, api_client: client.ApiClient
                                           ) -> None:
    helm("install", "edge", str(chart), "-n", namespace, "--wait", "--timeout", "30s",
         "--set", "ingress.enabled=true", "--set", "autoscaling.enabled=true")
    ingress = client.NetworkingV1Api(api_client).read_namespaced_ingress("edge-demo", namespace)
    assert ingress.spec.rules[0].host == "chart-example.local"
    hpa = client.AutoscalingV2Api(api_client).read_namespaced_horizontal_pod_autoscaler("edge-demo", namespace)
    assert hpa.spec.max_replicas == 100
    assert client.AppsV1Api(api_client).read_namespaced_deployment("edge-demo", namespace).status.ready_replicas == 1


def test_install_creates_namespace(helm: Run, chart: Path, core: client.CoreV1Api) -> None:
    namespace = "helm-created-ns"
    helm("install", "fresh", str(chart), "-n", namespace, "--create-namespace", "--wait", "--timeout", "30s")
    try:
        assert core.read_namespace(namespace).status.phase == "Active"
    finally:
        helm("uninstall", "fresh", "-n", namespace)
        core.delete_namespace(namespace)


def test_helm_test_hook_pod_succeeds(helm: Run, chart: Path, namespace: str) -> None:
    helm("install", "tested", str(chart), "-n", namespace, "--wait", "--timeout", "30s")
    out = helm("test", "tested", "-n", namespace, "--timeout", "30s").stdout
    assert "Phase:          Succeeded" in out
