"""Blast radius of an `o2dms:write` token: a backend deploys only into the namespaces its policy allows, and never into
the cluster's, the GitOps controllers' or netweave's own (docs/security.md, "Blast radius in the cluster").

Each attack goes through the Chalice test client, moto and the real helm binary against kubesim; a refusal must be
422 naming the rule, with nothing stored, nothing queued and nothing installed.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import resources
from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.handlers import dms as dms_handlers
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, Reply, assert_problem, serving
from tests.functional.inventory_fixtures import Site, site_environment

pytestmark = pytest.mark.xdist_group("helm-adapter")

DEPLOYMENTS = "/o2dms/v1/deployments"
PACKAGES = "/o2dms/v1/deploymentPackages"
# what the operator configured for this site's helm backend: every SMO its own `<tenant>-*` namespaces and the
# shared `oran-*` ones, except `oran-core`; `kube-public` lifted out of the protection on purpose
HELM_BACKEND = """dmsAdapters:
  - id: helm
    type: helm
    default: true
    namespaces:
      allow: ["{{tenant}}-*", "oran-*", "kube-public"]
      deny: ["oran-core"]
      allowProtected: ["kube-public"]
    options:
      kubeconfig: {kubeconfig}
  - id: argocd
    type: argocd
    options:
      kubeconfig: {kubeconfig}
      namespace: gitops-control
"""


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("namespace-policy")
    yield from site_environment(tmp, nodes=1, adapter_id="ns-policy-site",
                                more_adapters=HELM_BACKEND.format(kubeconfig=tmp / "kubeconfig"))


@pytest.fixture(scope="module")
def client(site: Site) -> Iterator[Client]:
    import app

    with serving(site.components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


def as_tenant(client: Client, subject: str) -> Api:
    return Api(client, mint_token(SECRET, ALL_SCOPES, subject=subject))


@pytest.fixture(scope="module")
def package_id(client: Client, tmp_path_factory: pytest.TempPathFactory) -> str:
    work = tmp_path_factory.mktemp("policy-chart")
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(PROJECT_HELM), "create", "cnf"], cwd=work, check=True, capture_output=True, env=env)
    subprocess.run([str(PROJECT_HELM), "package", "cnf", "--version", "1.0.0"], cwd=work, check=True,
                   capture_output=True, env=env)
    reply = as_tenant(client, "smo-a").request("POST", PACKAGES, body=(work / "cnf-1.0.0.tgz").read_bytes(),
                                               headers={"Content-Type": "application/gzip"})
    assert reply.status == 201, reply.body
    return str(reply.json()["packageId"])


def deploy(api: Api, namespace: str, package_id: str, **extensions: str) -> Reply:
    body: dict[str, Any] = {"name": f"cnf-{uuid.uuid4().hex[:6]}", "namespace": namespace, "packageId": package_id,
                            "values": {"replicaCount": 1}, "timeoutSeconds": 30}
    if extensions:
        body["extensions"] = extensions
    return api.request("POST", DEPLOYMENTS, body=body)


def stored_deployments(parts: Components) -> list[str]:
    return [d.namespace for d in parts.deployment_store.all()]


def queued_operations(parts: Components) -> int:
    attributes = parts.clients.sqs.get_queue_attributes(
        QueueUrl=parts.queue_url(resources.DMS_OPERATIONS), AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def helm_releases(site: Site, namespace: str) -> list[str]:
    listed = subprocess.run([str(PROJECT_HELM), "list", "-n", namespace, "-o", "json", "--kubeconfig",
                             str(site.gateway_file.parent / "kubeconfig")], check=True, capture_output=True,
                            text=True, env={"HOME": str(site.gateway_file.parent), "PATH": "/usr/bin:/bin"})
    return [release["name"] for release in json.loads(listed.stdout)]


@pytest.mark.parametrize(("namespace", "rule"), [
    ("kube-system", "'kube-*' is protected"),
    ("kube-node-lease", "'kube-*' is protected"),
    ("argocd", "'argocd' is protected"),
    ("flux-system", "'flux-system' is protected"),
    ("netweave", "'netweave' is protected"),
    ("gitops-control", "'gitops-control' is protected"),  # the configured ArgoCD backend's own namespace
    ("oran-core", "denied by the pattern 'oran-core'"),
    ("default", "matches none of the allowed patterns ('smo-a-*', 'oran-*', 'kube-public')"),
    ("smo-b-du", "matches none of the allowed patterns"),  # another tenant's namespace
])
def test_a_namespace_outside_the_policy_is_422_naming_the_rule_and_nothing_happens(
        site: Site, client: Client, package_id: str, namespace: str, rule: str) -> None:
    before = stored_deployments(site.components)
    reply = deploy(as_tenant(client, "smo-a"), namespace, package_id)
    body = assert_problem(reply, 422, rule)
    assert body["type"].endswith("namespace-not-allowed"), body
    assert f"namespace '{namespace}' is not allowed for backend 'helm'" in body["detail"]
    assert stored_deployments(site.components) == before
    assert queued_operations(site.components) == 0
    assert helm_releases(site, namespace) == []


def test_the_policy_of_the_backend_the_request_names_applies(client: Client, package_id: str) -> None:
    # ArgoCD's backend has no namespace rules of its own: any namespace but the protected ones
    reply = deploy(as_tenant(client, "smo-a"), "kube-system", package_id, dmsAdapter="argocd")
    assert_problem(reply, 422, "namespace 'kube-system' is not allowed for backend 'argocd': 'kube-*' is protected")


def test_a_tenant_deploys_into_its_own_namespaces_and_lifted_protection(
        site: Site, client: Client, package_id: str) -> None:
    for namespace in ("smo-a-du", "kube-public"):
        reply = deploy(as_tenant(client, "smo-a"), namespace, package_id)
        assert reply.status == 202, reply.body
        _run_worker(site.components)
        shown = as_tenant(client, "smo-a").request("GET", f"{DEPLOYMENTS}/{reply.json()['deploymentId']}").json()
        assert shown["status"] == "deployed", shown
        assert helm_releases(site, namespace) == [shown["name"]]


def test_a_tenant_name_with_pattern_characters_widens_nothing(client: Client, package_id: str) -> None:
    assert_problem(deploy(as_tenant(client, "*"), "smo-a-du", package_id), 422, "matches none of the allowed")


def _run_worker(parts: Components) -> None:
    url = parts.queue_url(resources.DMS_OPERATIONS)
    while messages := parts.clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                                        MessageSystemAttributeNames=["All"]).get("Messages", []):
        message = messages[0]
        record = {"messageId": message["MessageId"], "body": message["Body"], "attributes": message["Attributes"]}
        assert dms_handlers.run_operations_batch({"Records": [record]}, parts) == {"batchItemFailures": []}
        parts.clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
