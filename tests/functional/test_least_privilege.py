"""netweave under deploy/kubernetes/netweave-rbac.yaml: the manifest is applied to kubesim (over https, with RBAC
enforced) with the real kubectl and the admin's kubeconfig, then every backend runs with the `netweave`
ServiceAccount's token. What netweave needs works; what the manifest withholds is refused by the cluster itself
(docs/security.md, "Blast radius in the cluster")."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms.argocd import ArgoCDDeploymentAdapter
from chalicelib.adapters.dms.flux import FluxDeploymentAdapter
from chalicelib.adapters.dms.helm import HelmDeploymentAdapter
from chalicelib.adapters.dms.port import ChartSource, DeploymentFailed, ReleaseSpec
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.adapters.ims.kubernetes import KubernetesInventoryAdapter
from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.domain.errors import NetweaveError
from chalicelib.settings import AdapterConfig
from devtools.kubesim import KubeSim, start_kubesim
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import quick_gitops
from tests.functional.kubesim.kubesim_helpers import binary

pytestmark = pytest.mark.xdist_group("least-privilege")
MANIFEST = PROJECT_DIR / "deploy" / "kubernetes" / "netweave-rbac.yaml"
SA_NAMESPACE, SA_NAME = "netweave", "netweave"
SA_USER = f"system:serviceaccount:{SA_NAMESPACE}:{SA_NAME}"
TIMEOUT = 30
CONTEXT = InventoryContext(o_cloud_id="5a1c1c1e-0000-4000-8000-000000000001")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    with quick_gitops(), start_kubesim(port=0, tls=True,
                                       kubeconfig_path=tmp_path_factory.mktemp("admin") / "kubeconfig") as running:
        yield running


def kubectl(kubeconfig: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary("kubectl")), "--kubeconfig", str(kubeconfig), *args], capture_output=True,
                          text=True, timeout=60, check=False, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def netweave_kubeconfig(sim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest applied by the cluster admin; a kubeconfig with the netweave ServiceAccount's token."""
    assert sim.kubeconfig_path is not None
    home = tmp_path_factory.mktemp("kubectl-home")
    applied = kubectl(sim.kubeconfig_path, "apply", "-f", str(MANIFEST), home=home)
    assert applied.returncode == 0, applied.stderr
    assert "clusterrole.rbac.authorization.k8s.io/netweave-deployer created" in applied.stdout
    return sim.write_service_account_kubeconfig(tmp_path_factory.mktemp("netweave") / "kubeconfig", SA_NAMESPACE,
                                                SA_NAME)


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("charts")
    (work / "scaffold").mkdir()
    subprocess.run([str(PROJECT_HELM), "create", "vdu"], cwd=work / "scaffold", check=True, capture_output=True,
                   env={"HOME": str(work), "PATH": "/usr/bin:/bin"})
    return work


def package(chart_dir: Path, name: str, extra: dict[str, Any] | None = None) -> Path:
    """`helm create`'s chart, packaged as `name`, with `extra` templates (file name -> manifest) added."""
    source = chart_dir / name
    if not source.exists():
        subprocess.run(["cp", "-r", str(chart_dir / "scaffold" / "vdu"), str(source)], check=True)
        chart = yaml.safe_load((source / "Chart.yaml").read_text())
        (source / "Chart.yaml").write_text(yaml.safe_dump({**chart, "name": name}))
        for file_name, manifest in (extra or {}).items():
            (source / "templates" / file_name).write_text(yaml.safe_dump(manifest))
        subprocess.run([str(PROJECT_HELM), "package", name, "--version", "1.0.0"], cwd=chart_dir, check=True,
                       capture_output=True, env={"HOME": str(chart_dir), "PATH": "/usr/bin:/bin"})
    return chart_dir / f"{name}-1.0.0.tgz"


OWNER = "6c1e9d2a-0000-4000-8000-00000000b0b0"  # the deployment these releases belong to (ownership labels)


def helm_adapter(kubeconfig: Path, **options: Any) -> HelmDeploymentAdapter:
    return HelmDeploymentAdapter(AdapterConfig(id="helm-rbac", type="helm", options={
        "kubeconfig": str(kubeconfig), "createNamespace": False, **options}))


def release_spec(name: str, namespace: str, chart: Path | None = None, source: ChartSource | None = None
                 ) -> ReleaseSpec:
    return ReleaseSpec(name=name, namespace=namespace, chart_path=str(chart or ""), values={"replicaCount": 1},
                       timeout_seconds=TIMEOUT, source=source, owner=OWNER)


def count(sim: KubeSim, group: str, plural: str, namespace: str | None = None) -> int:
    return sim.call(lambda c: len(c.store.objects((group, plural), namespace)))


def test_the_manifest_grants_no_cluster_wide_write_and_no_wildcards(netweave_kubeconfig: Path, tmp_path: Path
                                                                    ) -> None:
    documents = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    bound_cluster_wide = {d["roleRef"]["name"] for d in documents if d["kind"] == "ClusterRoleBinding"}
    for role in (d for d in documents if d["kind"] == "ClusterRole" and d["metadata"]["name"] in bound_cluster_wide):
        assert {verb for rule in role["rules"] for verb in rule["verbs"]} <= {"get", "list", "watch"}
    for rule in (r for d in documents if d["kind"] in ("Role", "ClusterRole") for r in d["rules"]):
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        assert not {"roles", "rolebindings", "clusterroles", "clusterrolebindings", "namespaces"} & set(
            rule["resources"])
    checks = {("create", "namespaces", None): "no", ("create", "clusterrolebindings", None): "no",
              ("get", "secrets", "kube-system"): "no", ("create", "deployments.apps", "kube-system"): "no",
              ("create", "roles.rbac.authorization.k8s.io", "oran-du"): "no", ("list", "nodes", None): "yes",
              ("create", "deployments.apps", "oran-du"): "yes", ("get", "pods/log", "oran-cu"): "yes",
              ("create", "applications.argoproj.io", "argocd"): "yes",
              ("create", "helmrepositories.source.toolkit.fluxcd.io", "flux-system"): "yes",
              ("delete", "nodes", None): "no"}
    for (verb, resource, namespace), expected in checks.items():
        where = ["-n", namespace] if namespace else []
        answer = kubectl(netweave_kubeconfig, "auth", "can-i", verb, resource, *where, home=tmp_path).stdout.strip()
        assert answer == expected, (verb, resource, namespace)


def test_the_inventory_reads_everything_with_the_service_account(sim: KubeSim, netweave_kubeconfig: Path) -> None:
    assert sim.kubeconfig_path is not None
    as_netweave = KubernetesInventoryAdapter(AdapterConfig(id="k8s", type="kubernetes", options={
        "kubeconfig": str(netweave_kubeconfig)})).read_inventory(CONTEXT)
    as_admin = KubernetesInventoryAdapter(AdapterConfig(id="k8s", type="kubernetes", options={
        "kubeconfig": str(sim.kubeconfig_path)})).read_inventory(CONTEXT)
    assert sorted((o.object_type, o.object_id, o.content_hash) for o in as_netweave) == sorted(
        (o.object_type, o.object_id, o.content_hash) for o in as_admin)
    assert sum(1 for o in as_netweave if o.object_type.name == "RESOURCE") >= 26  # the demo site's nodes


def test_helm_installs_scales_and_uninstalls_in_a_granted_namespace(sim: KubeSim, netweave_kubeconfig: Path,
                                                                    chart_dir: Path) -> None:
    adapter = helm_adapter(netweave_kubeconfig)
    status = adapter.install(release_spec("vdu-lp", "oran-du", package(chart_dir, "vdu")))
    assert (status.status, status.revision, [(w.kind, w.ready) for w in status.workloads]) == (
        "deployed", 1, [("Deployment", 1)])
    scaled = adapter.scale("vdu-lp", "oran-du", 3, TIMEOUT, owner=OWNER)
    assert (scaled.revision, scaled.workloads[0].desired, scaled.workloads[0].ready) == (2, 3, 3)
    assert adapter.logs("vdu-lp", "oran-du", tail_lines=1)  # pods/log is granted
    adapter.uninstall("vdu-lp", "oran-du", TIMEOUT, owner=OWNER)
    assert count(sim, "apps", "deployments", "oran-du") == 0


def test_helm_with_create_namespace_fails_under_the_manifest(netweave_kubeconfig: Path, chart_dir: Path) -> None:
    """Why the helm backend has `createNamespace: false`: the API server refuses a namespace create from a user
    without that right even when the namespace exists."""
    adapter = helm_adapter(netweave_kubeconfig, createNamespace=True)
    with pytest.raises(DeploymentFailed) as refused:
        adapter.install(release_spec("vdu-ns", "oran-cu", package(chart_dir, "vdu")))
    assert (f'namespaces is forbidden: User "{SA_USER}" cannot create resource "namespaces" in API group "" at '
            f"the cluster scope") in refused.value.detail


def test_installing_into_kube_system_is_refused_and_creates_nothing(sim: KubeSim, netweave_kubeconfig: Path,
                                                                    chart_dir: Path) -> None:
    before = {plural: count(sim, group, plural, "kube-system") for group, plural in (
        ("", "secrets"), ("apps", "deployments"), ("", "services"), ("", "serviceaccounts"))}
    with pytest.raises(DeploymentFailed) as refused:  # a refusal, not an outage: the worker does not retry it
        helm_adapter(netweave_kubeconfig).install(release_spec("vdu-ks", "kube-system", package(chart_dir, "vdu")))
    assert refused.value.detail == (
        "backend 'helm-rbac': the cluster refused: secrets is forbidden: "
        f'User "{SA_USER}" cannot list resource "secrets" in API group "" in the namespace "kube-system"')
    assert {plural: count(sim, group, plural, "kube-system") for group, plural in (
        ("", "secrets"), ("apps", "deployments"), ("", "services"), ("", "serviceaccounts"))} == before


@pytest.mark.parametrize(("kind", "plural", "extra"), [
    ("ClusterRoleBinding", "clusterrolebindings", {"takeover.yaml": {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "vdu-takeover"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "oran-du"}]}}),
    ("RoleBinding", "rolebindings", {"takeover.yaml": {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "vdu-takeover"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "oran-du"}]}}),
])
def test_a_chart_carrying_rbac_objects_is_refused(sim: KubeSim, netweave_kubeconfig: Path, chart_dir: Path,
                                                  kind: str, plural: str, extra: dict[str, Any]) -> None:
    chart = package(chart_dir, f"vdu-{plural}", extra)
    before = count(sim, "rbac.authorization.k8s.io", plural)
    with pytest.raises(DeploymentFailed) as refused:
        helm_adapter(netweave_kubeconfig).install(release_spec(f"rb-{plural[:7]}", "oran-du", chart))
    assert f'User "{SA_USER}" cannot' in refused.value.detail
    assert f'resource "{plural}" in API group "rbac.authorization.k8s.io"' in refused.value.detail
    assert count(sim, "rbac.authorization.k8s.io", plural) == before
    assert sim.call(lambda c: c.store.get(("rbac.authorization.k8s.io", plural),
                                          "" if kind.startswith("Cluster") else "oran-du", "vdu-takeover")) is None


def test_reading_secrets_in_kube_system_is_refused(netweave_kubeconfig: Path) -> None:
    from kubernetes.client.exceptions import ApiException

    adapter = helm_adapter(netweave_kubeconfig)
    with pytest.raises(ApiException) as refused:
        adapter.cluster.core().list_namespaced_secret("kube-system")
    assert refused.value.status == 403
    with pytest.raises(NetweaveError, match="forbidden"):
        adapter.status("coredns", "kube-system")  # helm's release storage there is out of reach too


def test_argocd_applications_are_written_and_deleted(sim: KubeSim, netweave_kubeconfig: Path,
                                                     chart_repository: str) -> None:
    adapter = ArgoCDDeploymentAdapter(AdapterConfig(id="argocd-rbac", type="argocd", options={
        "kubeconfig": str(netweave_kubeconfig), "pollIntervalSeconds": 0.02}))
    source = ChartSource("helm-repo", chart_repository, "1.0.0", chart="du")
    status = adapter.install(release_spec("du-argo", "oran-du", source=source))
    assert status.ready and [w.kind for w in status.workloads] == ["Deployment"]
    assert sim.call(lambda c: c.store.get(("argoproj.io", "applications"), "argocd", "oran-du.du-argo")) is not None
    adapter.uninstall("du-argo", "oran-du", TIMEOUT, owner=OWNER)
    assert sim.call(lambda c: c.store.get(("argoproj.io", "applications"), "argocd", "oran-du.du-argo")) is None


def test_flux_helm_releases_and_sources_are_written_and_deleted(sim: KubeSim, netweave_kubeconfig: Path,
                                                                chart_repository: str) -> None:
    adapter = FluxDeploymentAdapter(AdapterConfig(id="flux-rbac", type="flux", options={
        "kubeconfig": str(netweave_kubeconfig), "pollIntervalSeconds": 0.05}))
    source = ChartSource("helm-repo", chart_repository, "2.0.0", chart="cu")
    status = adapter.install(release_spec("cu-flux", "oran-cu", source=source))
    assert (status.status, status.chart_name) == ("deployed", "cu")
    assert count(sim, "source.toolkit.fluxcd.io", "helmrepositories", "flux-system") >= 1
    adapter.uninstall("cu-flux", "oran-cu", TIMEOUT, owner=OWNER)
    assert sim.call(lambda c: c.store.get(("helm.toolkit.fluxcd.io", "helmreleases"), "oran-cu", "cu-flux")) is None
