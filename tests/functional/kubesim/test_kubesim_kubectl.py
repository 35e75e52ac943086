"""The real kubectl binary against kubesim: get, apply, rollout status (a watch), server-side apply, delete."""

from __future__ import annotations

import json
from pathlib import Path

from devtools.kubesim.seed import DEMO_POOL_SIZES, FAR_EDGE, POOL_LABEL
from tests.functional.kubesim.kubesim_helpers import Run
from tests.waiting import wait_until

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: IMAGE
        ports: [{containerPort: 80}]
"""


def write_manifest(tmp_path: Path, image: str = "nginx:1.27") -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(MANIFEST.replace("IMAGE", image))
    return path


def test_get_nodes_lists_demo_nodes_with_status(kubectl: Run) -> None:
    table = kubectl("get", "nodes").stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "STATUS", "ROLES"]
    assert len(table) - 1 == sum(DEMO_POOL_SIZES.values())
    assert all(" Ready " in row for row in table[1:])
    du = kubectl("get", "nodes", "-l", f"{POOL_LABEL}={FAR_EDGE}", "-o", "name").stdout.split()
    assert len(du) == DEMO_POOL_SIZES[FAR_EDGE] and all(n.startswith("node/") for n in du)


def test_apply_rollout_and_delete(kubectl: Run, namespace: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path)
    assert "deployment.apps/web created" in kubectl("apply", "-n", namespace, "-f", str(manifest)).stdout
    kubectl("rollout", "status", "deploy/web", "-n", namespace, "--timeout", "20s")
    row = kubectl("get", "deploy", "web", "-n", namespace, "--no-headers").stdout.split()
    assert row[:4] == ["web", "2/2", "2", "2"]
    manifest = write_manifest(tmp_path, "nginx:1.28")
    assert "configured" in kubectl("apply", "-n", namespace, "-f", str(manifest)).stdout
    kubectl("rollout", "status", "deploy/web", "-n", namespace, "--timeout", "20s")
    images = kubectl("get", "pods", "-n", namespace, "-l", "app=web", "-o",
                     "jsonpath={.items[*].spec.containers[0].image}").stdout.split()
    assert images == ["nginx:1.28", "nginx:1.28"]
    assert "deleted" in kubectl("delete", "-n", namespace, "-f", str(manifest)).stdout
    assert "No resources found" in kubectl("get", "all", "-n", namespace).stderr


def test_server_side_apply_creates_then_updates(kubectl: Run, namespace: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path)
    out = kubectl("apply", "--server-side", "-n", namespace, "-f", str(manifest)).stdout
    assert "serverside-applied" in out
    kubectl("scale", "deploy/web", "-n", namespace, "--replicas", "3")
    deploy = json.loads(kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert deploy["spec"]["replicas"] == 3 and deploy["metadata"]["generation"] == 2
    kubectl("rollout", "status", "deploy/web", "-n", namespace, "--timeout", "20s")


def test_get_pods_shows_crash_loop(kubectl: Run, namespace: str, tmp_path: Path) -> None:
    kubectl("apply", "-n", namespace, "-f", str(write_manifest(tmp_path, "nginx:fail")))
    status = kubectl("rollout", "status", "deploy/web", "-n", namespace, "--timeout", "2s", check=False)
    assert status.returncode != 0
    assert "CrashLoopBackOff" in kubectl("get", "pods", "-n", namespace).stdout


def test_get_applications_shows_sync_and_health_columns(
        kubectl: Run, namespace: str, tmp_path: Path, chart_repository: str) -> None:
    app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "du"},
           "spec": {"project": "default", "source": {"repoURL": chart_repository, "chart": "du",
                                                     "targetRevision": "1.0.0"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": f"{namespace}-du"},
                    "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}}
    path = tmp_path / "app.json"
    path.write_text(json.dumps(app))
    kubectl("apply", "-n", namespace, "-f", str(path))

    def line() -> list[str]:
        out = kubectl("get", "applications", "-n", namespace, "-o", "wide").stdout.splitlines()
        return out[1].split() if len(out) > 1 else []

    wait_until(lambda: line()[1:3] == ["Synced", "Healthy"], 20, what="Application du Synced and Healthy")
    header = kubectl("get", "applications", "-n", namespace, "-o", "wide").stdout.splitlines()[0].split()
    assert header == ["NAME", "SYNC", "STATUS", "HEALTH", "STATUS", "REVISION", "PROJECT"]
    assert line() == ["du", "Synced", "Healthy", "1.0.0", "default"]
