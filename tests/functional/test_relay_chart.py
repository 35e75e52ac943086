"""The relay's chart and RBAC: helm lints and renders it; what it grants is list and watch on exactly the kinds the
kubernetes backend reads, the same as the plain manifest; applied to kubesim (RBAC enforced), the relay's
ServiceAccount can list and watch every one of them and is refused a Secret and a write."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devtools.kubesim import KubeSim, start_kubesim
from relay.kinds import WATCHED
from relay.kube import KubernetesApi
from tests.conftest import PROJECT_DIR
from tests.functional.kubesim.kubesim_helpers import binary

CHART = PROJECT_DIR / "deploy" / "relay-chart"
MANIFEST = PROJECT_DIR / "deploy" / "kubernetes" / "netweave-relay-rbac.yaml"
VALUES = ["--set", "adapterIds={demo-cluster}", "--set", "aws.roleArn=arn:aws:iam::111122223333:role/relay"]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary("helm")), *args], capture_output=True, text=True, timeout=60, check=False)


def rendered(*values: str) -> list[dict[str, Any]]:
    done = helm("template", "relay", str(CHART), "--namespace", "netweave", *values)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [d for d in documents if d["kind"] == kind]
    return found


def granted(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
            for v in rule["verbs"]}


def test_helm_lints_the_chart() -> None:
    done = helm("lint", str(CHART), *VALUES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_chart_grants_list_and_watch_on_the_watched_kinds_only() -> None:
    documents = rendered(*VALUES)
    expected = {(k.group, k.plural, verb) for k in WATCHED for verb in ("list", "watch")}
    assert granted(of_kind(documents, "ClusterRole")) == expected
    manifest = of_kind([d for d in yaml.safe_load_all(MANIFEST.read_text()) if d], "ClusterRole")
    assert granted(manifest) == expected
    assert {d["kind"] for d in documents} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment"}


def test_the_service_account_carries_the_irsa_role_and_the_relay_its_backend() -> None:
    documents = rendered(*VALUES)
    account = of_kind(documents, "ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/relay"}
    [container] = of_kind(documents, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]}["RELAY_ADAPTER_IDS"] == "demo-cluster"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_chart_refuses_to_render_without_a_backend() -> None:
    done = helm("template", "relay", str(CHART))
    assert done.returncode != 0
    assert "set adapterIds" in done.stderr


def test_the_iam_policy_allows_netweave_poll_requests_only() -> None:
    policy = json.loads((PROJECT_DIR / "deploy" / "relay-iam-policy.json").read_text())
    [statement] = policy["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert statement["Condition"]["StringEquals"]["events:source"] == "netweave"


@pytest.fixture(scope="module")
def relay_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KubeSim, Path]]:
    """The plain manifest applied by the admin (kubesim over https enforces RBAC); the relay account's kubeconfig."""
    home = tmp_path_factory.mktemp("kubectl-home")
    with start_kubesim(port=0, tls=True, kubeconfig_path=tmp_path_factory.mktemp("admin") / "kubeconfig") as sim:
        assert sim.kubeconfig_path is not None
        applied = subprocess.run([str(binary("kubectl")), "--kubeconfig", str(sim.kubeconfig_path), "apply", "-f",
                                  str(MANIFEST)], capture_output=True, text=True, timeout=60, check=False,
                                 env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
        assert applied.returncode == 0, applied.stderr
        yield sim, sim.write_service_account_kubeconfig(tmp_path_factory.mktemp("relay") / "kubeconfig", "netweave",
                                                        "netweave-relay")


def test_the_relay_account_lists_and_watches_every_kind_and_nothing_more(
        relay_kubeconfig: tuple[KubeSim, Path]) -> None:
    _, kubeconfig = relay_kubeconfig
    api = KubernetesApi(str(kubeconfig), watch_seconds=1)
    for kind in WATCHED:
        _, version = api.list(kind)
        assert version, kind
        list(api.watch(kind, version))  # allowed: the stream ends after its second
    assert api.list(WATCHED[0])[0], "kubesim's demo site has nodes"
    core = client.CoreV1Api(config.new_client_from_config(str(kubeconfig)))
    name = api.list(WATCHED[0])[0][0]["metadata"]["name"]
    refusals: list[Callable[[], object]] = [
        lambda: core.list_namespaced_secret("kube-system"),
        lambda: core.read_node(name),  # list and watch only: not even get
        lambda: core.patch_node(name, {"metadata": {"labels": {"x": "y"}}}),
    ]
    for refused in refusals:
        with pytest.raises(ApiException) as error:
            refused()
        assert error.value.status == 403
