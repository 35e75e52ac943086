"""Placement on a resource pool, end to end: a deployment with `resourcePoolId` runs only on that pool's nodes
whatever the chart's own values conventions — through the API, the worker, the real helm binary and its post-renderer,
and kubesim's scheduler (which honours node affinity and taints as Kubernetes documents them). Scale, upgrade and
rollback keep the pods there; a pool whose nodes all refuse the pods leaves them Pending and the deployment says why;
the GitOps backends refuse placement with 422 naming why.

Pods are read from kubesim itself, and every pod's node is checked against the pool's nodes as kubesim holds them.
"""

from __future__ import annotations

import copy
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.handlers import inventory as inventory_handlers
from devtools.kubesim.seed import POOL_LABEL
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, serving
from tests.functional.inventory_fixtures import Site, site_environment
from tests.functional.test_deployments_flow import call, run_worker, upload

pytestmark = pytest.mark.xdist_group("helm-adapter")

DEPLOYMENTS = "/o2dms/v1/deployments"
POOLS = "/o2ims-infrastructureInventory/v1/resourcePools"
POOL, TAINTED = "vdu-pool", "tainted-pool"
TIMEOUT = 30

# A chart with its own placement values (nodeSelector and a required node affinity that allows two pools), and one
# with no placement values at all but every kind of pod template.
OWN_PLACEMENT_VALUES = f"""\
replicaCount: 2
nodeSelector:
  kubernetes.io/os: linux
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions:
            - {{key: {POOL_LABEL}, operator: In, values: [general-compute, {POOL}]}}
"""
DEPLOYMENT_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}"}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app.kubernetes.io/instance: "{{ .Release.Name }}", role: du}}
  template:
    metadata: {labels: {app.kubernetes.io/instance: "{{ .Release.Name }}", role: du}}
    spec:
      containers: [{name: du, image: "nginx:1.27"}]
"""
OWN_PLACEMENT_TEMPLATE = DEPLOYMENT_TEMPLATE + """\
      nodeSelector: {{- toYaml .Values.nodeSelector | nindent 8 }}
      affinity: {{- toYaml .Values.affinity | nindent 8 }}
"""
EVERY_KIND_TEMPLATES = {
    "deployment.yaml": DEPLOYMENT_TEMPLATE,
    "daemonset.yaml": """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: "{{ .Release.Name }}-agent"}
spec:
  selector: {matchLabels: {app.kubernetes.io/instance: "{{ .Release.Name }}", agent: "yes"}}
  template:
    metadata: {labels: {app.kubernetes.io/instance: "{{ .Release.Name }}", agent: "yes"}}
    spec: {containers: [{name: agent, image: "nginx:1.27"}]}
""",
    "job.yaml": """\
apiVersion: batch/v1
kind: Job
metadata: {name: "{{ .Release.Name }}-init"}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}}
    spec: {restartPolicy: Never, containers: [{name: init, image: "busybox:1.36"}]}
""",
    "pod.yaml": """\
apiVersion: v1
kind: Pod
metadata: {name: "{{ .Release.Name }}-probe", labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}}
spec: {containers: [{name: probe, image: "nginx:1.27"}]}
""",
}


def _chart(work: Path, name: str, version: str, values: str, templates: dict[str, str]) -> bytes:
    directory = work / name
    (directory / "templates").mkdir(parents=True)
    (directory / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (directory / "values.yaml").write_text(values)
    for file, text in templates.items():
        (directory / "templates" / file).write_text(text)
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(PROJECT_HELM), "package", name], cwd=work, check=True, capture_output=True, env=env)
    return (work / f"{name}-{version}.tgz").read_bytes()


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("placement-site")
    kubeconfig = tmp / "kubeconfig"
    backends = ("dmsAdapters:\n"
                f"  - {{id: helm, type: helm, default: true, options: {{kubeconfig: {kubeconfig}}}}}\n"
                f"  - {{id: argocd, type: argocd, options: {{kubeconfig: {kubeconfig}}}}}\n"
                f"  - {{id: flux, type: flux, options: {{kubeconfig: {kubeconfig}}}}}\n")
    for site in site_environment(tmp, nodes=2, adapter_id="placement-site", more_adapters=backends):
        for _ in range(2):
            site.kubesim.add_node(POOL)
        for _ in range(2):
            node = site.kubesim.add_node(TAINTED)
            _taint(site, node["metadata"]["name"], {"key": "dedicated", "value": "cu", "effect": "NoSchedule"})
        yield site


def _taint(site: Site, name: str, taint: dict[str, str]) -> None:
    def apply(cluster: Any) -> None:
        resource = cluster.resource("", "nodes")
        node = copy.deepcopy(cluster.get(resource, "", name))
        node["spec"]["taints"] = [taint]
        cluster.update(resource, "", name, node)

    site.kubesim.call(apply)


@pytest.fixture(scope="module")
def api(site: Site) -> Iterator[Api]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


@pytest.fixture(scope="module")
def pools(api: Api, site: Site) -> dict[str, dict[str, Any]]:
    """The O2ims pools by name, once a poll stored them."""
    inventory_handlers.poll_inventory(site.components)
    return {p["name"]: p for p in call(api, "GET", POOLS).json()}


@pytest.fixture(scope="module")
def packages(api: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("placement-charts")
    suffix = uuid.uuid4().hex[:6]
    own = {"deployment.yaml": OWN_PLACEMENT_TEMPLATE}
    return {
        "own": upload(api, _chart(work, f"own-{suffix}", "1.0.0", OWN_PLACEMENT_VALUES, own)),
        "own-2": upload(api, _chart(work / "v2", f"own-{suffix}", "2.0.0", OWN_PLACEMENT_VALUES, own)),
        "every-kind": upload(api, _chart(work, f"kinds-{suffix}", "1.0.0", "replicaCount: 2\n",
                                         EVERY_KIND_TEMPLATES)),
    }


def pods(site: Site, namespace: str) -> list[dict[str, Any]]:
    return site.kubesim.call(lambda cluster: [copy.deepcopy(p) for p in cluster.store.objects(("", "pods"))
                                              if p["metadata"]["namespace"] == namespace
                                              and not p["metadata"].get("deletionTimestamp")])


def pool_nodes(site: Site, pool: str) -> set[str]:
    return site.kubesim.call(lambda cluster: {n["metadata"]["name"] for n in cluster.store.objects(("", "nodes"))
                                              if n["metadata"]["labels"].get(POOL_LABEL) == pool})


def deploy(api: Api, site: Site, package_id: str, namespace: str, pool_id: str,
           **more: Any) -> tuple[str, dict[str, Any]]:
    reply = call(api, "POST", DEPLOYMENTS, {"name": namespace, "namespace": namespace, "packageId": package_id,
                                             "resourcePoolId": pool_id, "timeoutSeconds": TIMEOUT, **more})
    assert reply.status == 202, reply.body
    run_worker(site.components)
    item = f"{DEPLOYMENTS}/{reply.json()['deploymentId']}"
    return item, call(api, "GET", item).json()


def assert_on_pool(site: Site, namespace: str, expected: int) -> list[dict[str, Any]]:
    placed = pods(site, namespace)
    assert len(placed) == expected, [p["metadata"]["name"] for p in placed]
    nodes = pool_nodes(site, POOL)
    assert {p["spec"].get("nodeName") for p in placed} <= nodes, "every pod runs on a node of the pool"
    return placed


def operate(api: Api, site: Site, item: str, verb: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = call(api, "POST", f"{item}/{verb}", {**body, "timeoutSeconds": TIMEOUT})
    assert reply.status == 202, reply.body
    run_worker(site.components)
    operation: dict[str, Any] = call(api, "GET", reply.header("Location")).json()
    return operation


def test_pools_say_which_nodes_are_theirs(pools: dict[str, dict[str, Any]]) -> None:
    assert pools[POOL]["extensions"]["nodeSelector"] == {POOL_LABEL: POOL}
    assert pools[TAINTED]["extensions"]["nodeSelector"] == {POOL_LABEL: TAINTED}


def test_a_chart_with_its_own_placement_runs_on_the_pool_through_scale_upgrade_and_rollback(
        api: Api, site: Site, pools: dict[str, dict[str, Any]], packages: dict[str, str]) -> None:
    item, shown = deploy(api, site, packages["own"], "placed-own", pools[POOL]["resourcePoolId"])
    assert shown["status"] == "deployed", shown
    assert shown["extensions"]["nodeSelector"] == {POOL_LABEL: POOL}
    placed = assert_on_pool(site, "placed-own", 2)
    # the chart's own constraints still apply, ANDed with the pool's
    assert all(p["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"} for p in placed)
    terms = placed[0]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [{"matchExpressions": [
        {"key": POOL_LABEL, "operator": "In", "values": ["general-compute", POOL]},
        {"key": POOL_LABEL, "operator": "In", "values": [POOL]}]}], "the chart's term, with the pool's added"

    assert operate(api, site, item, "scale", {"replicas": 4})["status"] == "succeeded"
    assert_on_pool(site, "placed-own", 4)
    upgraded = operate(api, site, item, "upgrade", {"packageId": packages["own-2"], "values": {"replicaCount": 3}})
    assert upgraded["status"] == "succeeded", upgraded
    assert_on_pool(site, "placed-own", 3)
    rolled = operate(api, site, item, "rollback", {"revision": 1})
    assert rolled["status"] == "succeeded", rolled
    assert_on_pool(site, "placed-own", 2)  # helm re-applied revision 1's stored, post-rendered manifests


def test_a_chart_without_placement_values_runs_every_kind_of_pod_on_the_pool(
        api: Api, site: Site, pools: dict[str, dict[str, Any]], packages: dict[str, str]) -> None:
    _, shown = deploy(api, site, packages["every-kind"], "placed-kinds", pools[POOL]["resourcePoolId"])
    assert shown["status"] == "deployed", shown
    placed = assert_on_pool(site, "placed-kinds", 2 + len(pool_nodes(site, POOL)) + 1 + 1)
    owners = {(p["metadata"].get("ownerReferences") or [{"kind": "Pod"}])[0]["kind"] for p in placed}
    assert owners == {"ReplicaSet", "DaemonSet", "Job", "Pod"}, "the DaemonSet too: one pod per pool node only"


def test_a_pool_whose_nodes_refuse_the_pods_leaves_them_pending_and_the_deployment_says_why(
        api: Api, site: Site, pools: dict[str, dict[str, Any]], packages: dict[str, str]) -> None:
    item, shown = deploy(api, site, packages["own"], "placed-tainted", pools[TAINTED]["resourcePoolId"],
                         timeoutSeconds=10)
    assert shown["status"] == "failed", shown
    total = len(site.kubesim.call(lambda cluster: list(cluster.store.objects(("", "nodes")))))
    reason = shown["extensions"]["statusReason"]
    assert "Unschedulable" in reason and f"0/{total} nodes are available: " in reason, reason
    assert "2 node(s) had untolerated taint {dedicated: cu}" in reason, reason
    status = call(api, "GET", f"{item}/status").json()
    assert not status["ready"] and status["pods"], status
    assert all(p["phase"] == "Pending" and p["reason"] == "Unschedulable" and
               p["message"].startswith(f"0/{total} nodes are available: ") for p in status["pods"]), status
    assert all(not p["spec"].get("nodeName") for p in pods(site, "placed-tainted"))


@pytest.mark.parametrize(("backend", "named"), [("flux", "spec.postRenderers"), ("argocd", "no post-renderer")])
def test_gitops_backends_refuse_placement_naming_why(api: Api, pools: dict[str, dict[str, Any]],
                                                     packages: dict[str, str], backend: str, named: str) -> None:
    reply = call(api, "POST", DEPLOYMENTS, {"name": f"gitops-{backend}", "namespace": f"gitops-{backend}",
                                             "packageId": packages["own"],
                                             "resourcePoolId": pools[POOL]["resourcePoolId"],
                                             "extensions": {"dmsAdapter": backend}})
    assert reply.status == 422, reply.body
    problem = reply.json()
    assert problem["type"].endswith("/placement-not-possible"), problem
    assert f"backend '{backend}'" in problem["detail"] and named in problem["detail"], problem
    assert call(api, "GET", f"{DEPLOYMENTS}?filter=(eq,name,gitops-{backend})").json() == []
